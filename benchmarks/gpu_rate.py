"""Trials per minute on one accelerator: tunecli's search beside Keras Tuner RandomSearch and plain Optuna.

    KERAS_BACKEND=jax python -m benchmarks.gpu_rate [--seconds 60] [--data mnist]

Same data, split, space, epoch cap and patience as ``winner_bench.py``; each tool searches for ``--seconds``
(tunecli: ``search.timeout``, re-ranking off, cold compile cache). Keras runs on whatever device its backend
picks (JAX: the GPU when one is there), tunecli's fast trainer on JAX's default device. Prints one JSON line
per tool and the rates as ratios to tunecli's. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from benchmarks import peers
from benchmarks import winner_bench as wb


def tunecli_rate(name: str, seconds: float, seed: int, folder: str) -> dict:
    from tunecli.config.space import validate_space
    from tunecli.search.run import run_search

    raw = {"study": f"rate-{name}", "data": peers.data_spec(name, seed), "objective": "auto",
           "search": {"trials": 100_000, "timeout": seconds, "seed": seed, "rerank": {"top": 0}},
           "training": {"max_epochs": wb.MAX_EPOCHS[name], "early_stopping": {"patience": wb.PATIENCE}},
           "space": wb.SPACE}
    os.environ["TUNECLI_CACHE_DIR"] = tempfile.mkdtemp(dir=folder)
    os.chdir(folder)
    outcome = run_search(validate_space(raw), quiet=True, best_out=Path(folder) / "best.yaml")
    rows = [r for r in outcome.rows if r.get("state") in ("COMPLETE", "PRUNED", "FAIL")]
    return {"trials": len(rows), "epochs": sum(r.get("epochs") or 0 for r in rows), "val": outcome.best["value"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--data", default="mnist", choices=list(wb.BUDGETS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from tunecli.config.space import DataSpec
    from tunecli.data import load_data
    from tunecli.runtime import init_backend

    init_backend(None)
    import jax
    import keras

    data = load_data(DataSpec(**peers.data_spec(args.data, args.seed)))
    rows = []
    for tool in ("tunecli", "kt-random", "optuna"):
        keras.utils.set_random_seed(args.seed)
        with tempfile.TemporaryDirectory() as folder:
            here = os.getcwd()
            start = time.perf_counter()
            try:
                if tool == "tunecli":
                    out = tunecli_rate(args.data, args.seconds, args.seed, folder)
                else:
                    out = wb.run_peer(tool, data, args.seconds, wb.MAX_EPOCHS[args.data], args.seed, folder)
            except Exception as exc:  # noqa: BLE001 - one failing tool is a row
                out = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            finally:
                os.chdir(here)
            wall = time.perf_counter() - start
        row = {"tool": tool, "data": args.data, "device": str(jax.devices()[0]), "backend": keras.backend.backend(),
               "wall": round(wall, 2), **out}
        if "trials" in out:
            row["trials_per_minute"] = round(60 * out["trials"] / wall, 2)
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)
    base = rows[0].get("trials_per_minute")
    for row in rows:
        if base and row.get("trials_per_minute"):
            print(f"{row['tool']}: {row['trials_per_minute']} trials/min, tunecli = {base / row['trials_per_minute']:.2f}x")


if __name__ == "__main__":
    main()
