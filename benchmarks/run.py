"""Side-by-side benchmark: tunecli vs Keras Tuner, plain Optuna and scikit-learn.

    python -m benchmarks.run                                # digits, all tools, 3 seeds
    python -m benchmarks.run --data digits housing mnist --seeds 3
    python -m benchmarks.run --tools tunecli kt-random --seeds 1

Every (tool, data set, seed) runs in its own process (a fresh Keras runtime); the clock starts
after the data is loaded and stops when the search returns. Every tool searches ``peers.SMALL_SPACE`` for the same
number of trials (the peers: ``benchmarks.peers``, a ``Budget`` of trials). Writes raw JSON lines to
benchmarks/results/runs.jsonl and a markdown table (medians over seeds, ratios to tunecli)
to benchmarks/results/table.md. Data: digits (built in), ../shared/data/housing.csv,
../shared/data/mnist_20k (skipped when absent). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import RESULTS, ROOT, SHARED, module_command, peers

TOOLS = ["tunecli", "tunecli-warm", "tunecli-keras", "tunecli-lrfinder", "optuna", "kt-random", "kt-hyperband",
         "kt-bayesian", "sklearn"]
BUDGETS = {"digits": {"trials": 15, "max_epochs": 20}, "housing": {"trials": 10, "max_epochs": 15},
           "mnist": {"trials": 8, "max_epochs": 5}}
SPACE = peers.SMALL_SPACE
PATIENCE = 3


def run_one(tool: str, name: str, seed: int) -> dict:
    """One timed search. tunecli starts with an empty compile cache (cold), except ``tunecli-warm``, whose
    cache was filled by the same search run once before in another process; ``tunecli-keras`` trains
    every trial with Keras' fit (``--trainer keras``)."""
    given = os.environ.get("TUNECLI_BENCH_CACHE")  # the warm-up run of tunecli-warm fills this folder
    cache = given or tempfile.mkdtemp(prefix="tunecli-xla-")
    os.environ["TUNECLI_CACHE_DIR"] = cache
    if tool == "tunecli-warm":
        subprocess.run(module_command(__spec__.name, "--one", "tunecli", name, str(seed)), check=True,
                       capture_output=True, env={**os.environ, "TUNECLI_BENCH_CACHE": cache}, cwd=ROOT)
    from tunecli.runtime import init_backend

    init_backend(None)
    import keras

    from tunecli.config.space import DataSpec
    from tunecli.data import load_data

    data = load_data(DataSpec(**peers.data_spec(name)))
    metric = peers.metric_of(data.task)
    budget = BUDGETS[name]
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if tool.startswith("tunecli"):
            out = _tunecli(tool, name, data, metric, budget, seed, tmp)
        else:
            out = peers.run_peer(tool, data, SPACE, peers.Budget(trials=budget["trials"]),
                                 max_epochs=budget["max_epochs"], patience=PATIENCE, seed=seed, folder=tmp)
        wall = time.perf_counter() - start
    out.pop("best_model", None)
    epochs, fit_seconds = out.get("epochs"), out.get("fit_seconds")
    row = {"tool": tool, "data": name, "seed": seed, "metric": metric, "wall": round(wall, 2), **out,
           "epochs": epochs, "seconds_per_epoch": round(wall / epochs, 4) if epochs else None,
           "overhead_per_trial": round((wall - fit_seconds) / out["trials"], 3) if fit_seconds is not None else None}
    if tool != "sklearn":
        row["test_score"] = _test_score(keras, out["best_params"], data, metric, budget)
    if not given:
        shutil.rmtree(cache, ignore_errors=True)
    return row


def _tunecli(tool: str, name: str, data, metric: str, budget: dict, seed: int, tmp: str) -> dict:
    from tunecli.config.space import validate_space
    from tunecli.search.run import run_search

    space = dict(SPACE)
    if tool == "tunecli-lrfinder":
        space["learning_rate"] = {"lr_finder": {"rule": "valley", "multiplier": {"float": [0.3, 3.0], "log": True}}}
    trainer = "keras" if tool == "tunecli-keras" else "auto"
    raw = {"study": f"bench-{name}", "data": peers.data_spec(name), "objective": metric,
           "search": {"trials": budget["trials"], "seed": seed},
           "training": {"max_epochs": budget["max_epochs"], "early_stopping": {"patience": PATIENCE},
                        "trainer": trainer},
           "space": space}
    os.chdir(tmp)
    outcome = run_search(validate_space(raw), quiet=True, best_out=Path(tmp) / "best.yaml")
    rows = [r for r in outcome.rows if not r.get("discarded")]
    best = outcome.best
    params = {k: v for k, v in best["params"].items()}
    if "learning_rate" not in params or not isinstance(params["learning_rate"], float):
        params["learning_rate"] = best.get("lr_used") or 1e-3
    return {"best_value": best["value"], "best_params": params, "trials": len(rows),
            "epochs": sum(r["epochs"] or 0 for r in rows),
            "fit_seconds": sum(r.get("fit_seconds") or 0 for r in rows)}


def _test_score(keras, params: dict, data, metric: str, budget: dict) -> float:
    """Refit the best configuration (same code for every tool) and score it once on the test split."""
    import numpy as np

    keras.backend.clear_session()
    p = {"n_hidden": 2, "n_neurons": 64, "learning_rate": 1e-3, "batch_size": 32, "activation": "relu", "dropout": 0.0,
         **{k: v for k, v in params.items() if k in ("n_hidden", "n_neurons", "learning_rate", "batch_size",
                                                    "activation", "dropout")}}
    model = peers.keras_model(keras, p, data)
    stop = peers.early_stopping(keras, data.task, PATIENCE, restore=True)
    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), batch_size=p["batch_size"],
              epochs=budget["max_epochs"], callbacks=[stop], verbose=0)
    pred = model.predict(data.x_test, verbose=0)
    if metric.endswith("accuracy"):
        return round(float((pred.argmax(axis=1) == data.y_test).mean()), 4)
    return round(float(np.sqrt(((pred.ravel() - data.y_test) ** 2).mean())), 4)


def table(rows: list[dict]) -> str:
    """Medians over seeds per (data, tool), with ratios to tunecli's wall time and epochs."""
    lines = ["search s: from data loaded to search returned; process s: the whole process, imports included.",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             f"{time.strftime('%Y-%m-%d')}", "",
             "| data | tool | seeds | best val (median) | test | trials | epochs | search s | process s | s/epoch "
             "| overhead s/trial | search vs tunecli |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["data"], r["tool"]), []).append(r)

    def med(rs: list, key: str):
        vals = [r[key] for r in rs if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    for (name, tool), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], TOOLS.index(kv[0][1]))):
        base = groups.get((name, "tunecli"))
        ratio = med(rs, "wall") / med(base, "wall") if base else None
        fmt = lambda v, f="{:.4f}": "—" if v is None else f.format(v)  # noqa: E731
        lines.append(f"| {name} | {tool} | {len(rs)} | {fmt(med(rs, 'best_value'))} | {fmt(med(rs, 'test_score'))} | "
                     f"{fmt(med(rs, 'trials'), '{:.0f}')} | {fmt(med(rs, 'epochs'), '{:.0f}')} | "
                     f"{fmt(med(rs, 'wall'), '{:.1f}')} | {fmt(med(rs, 'process_wall'), '{:.1f}')} | "
                     f"{fmt(med(rs, 'seconds_per_epoch'), '{:.3f}')} | "
                     f"{fmt(med(rs, 'overhead_per_trial'), '{:.2f}')} | {fmt(ratio, '{:.2f}x')} |")
    lines += ["", "Goals (tunecli search time as a fraction of the peer's, same run; best values are medians):", ""]
    for name, peer in (("digits", "kt-random"), ("digits", "optuna"), ("housing", "optuna")):
        ours, theirs = groups.get((name, "tunecli")), groups.get((name, peer))
        if ours and theirs:
            lines.append(f"- {name}: tunecli {med(ours, 'wall'):.1f} s / {peer} {med(theirs, 'wall'):.1f} s = "
                         f"{med(ours, 'wall') / med(theirs, 'wall'):.2f}x; best {med(ours, 'best_value'):.4f} vs "
                         f"{med(theirs, 'best_value'):.4f}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", default=["digits"], choices=list(BUDGETS))
    parser.add_argument("--tools", nargs="+", default=TOOLS, choices=TOOLS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--one", nargs=3, metavar=("TOOL", "DATA", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], int(args.one[2])), default=str))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = []
    with open(RESULTS / "runs.jsonl", "a") as raw:
        for name in args.data:
            if name != "digits" and not SHARED.is_dir():
                print(f"skip {name}: {SHARED} absent", file=sys.stderr)
                continue
            for seed in range(args.seeds):
                for tool in args.tools:
                    start = time.perf_counter()
                    proc = subprocess.run(module_command(__spec__.name, "--one", tool, name, str(seed)), cwd=ROOT,
                                          capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
                    process_wall = time.perf_counter() - start
                    if proc.returncode != 0:
                        print(f"{tool} {name} {seed} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                        continue
                    row = json.loads(proc.stdout.strip().splitlines()[-1])
                    row["process_wall"] = round(process_wall, 2)
                    print(json.dumps(row), flush=True)
                    raw.write(json.dumps(row) + "\n")
                    rows.append(row)
    text = table(rows)
    (RESULTS / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
