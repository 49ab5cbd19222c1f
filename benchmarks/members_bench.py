"""Members: what re-ranking costs, whether groups hurt the sampler, and whether a second worker pays.

    python -m benchmarks.members_bench --part rerank  [--seeds 3]     # goal: top 5 x 3 seeds <= 1.5x 5 single runs
    python -m benchmarks.members_bench --part quality [--seeds 10]    # best val after N trials, members auto vs 1
    python -m benchmarks.members_bench --part quality --members 1,2,4,8   # trials per minute per K
    python -m benchmarks.members_bench --part workers [--seeds 3]     # wall and best val, workers 2 vs 1

Digits, the wide space of the other benchmarks (``peers.WIDE_SPACE``), the seed drawing the split and seeding
the search; every measurement in a fresh process with an empty compile cache.

- rerank: a search of 30 trials (re-ranking off) is stored; then, each in its own fresh process, (a) re-ranking
  its top 5 over 3 seeds in all (10 runs, members where they share a structure) and (b) training those 5
  configurations once each, one at a time: the ratio of the two walls.
- quality: searches of ``--trials`` trials, ``search.members`` auto and 1, the best validation accuracy and
  the wall of each (re-ranking off).
- workers: the same search with ``search.workers`` 2 and 1 (one process per worker; ``workers: 2`` with
  members auto).
Rows are JSON lines on stdout and appended to ``--out``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import RESULTS, ROOT, module_command, peers

PATIENCE = 3
MAX_EPOCHS = 30


def raw_space(study: str, seed: int, trials: int, **search: Any) -> dict:
    return {"study": study, "data": peers.data_spec("digits", seed), "objective": "auto",
            "search": {"trials": trials, "seed": seed, "rerank": {"top": 0}, **search},
            "training": {"max_epochs": MAX_EPOCHS, "early_stopping": {"patience": PATIENCE}, "recycle_after": 0},
            "space": peers.WIDE_SPACE}


def _search(raw: dict, folder: str) -> tuple[Any, float]:
    from tunecli.trainers.fast.compile import load_jax

    load_jax()  # JAX's import is not the search's
    return peers.timed_search(raw, folder)


def job(part: str, seed: int, variant: str, folder: str) -> dict:
    """One measurement in this (fresh) process."""
    os.environ["TUNECLI_CACHE_DIR"] = tempfile.mkdtemp(dir=folder)   # cold
    if part == "quality":
        members = "auto" if variant == "auto" else int(variant[1:])
        outcome, wall = _search(raw_space(f"q{seed}{variant}", seed, ARGS.trials, members=members), folder)
        return {"best_val": outcome.best["value"], "wall_s": round(wall, 2), "trials": len(outcome.rows)}
    if part == "workers":
        outcome, wall = _search(raw_space(f"w{seed}{variant}", seed, ARGS.trials, workers=int(variant[1:])), folder)
        return {"best_val": outcome.best["value"], "wall_s": round(wall, 2), "trials": len(outcome.rows)}
    return _rerank_job(seed, variant, folder)


def _rerank_job(seed: int, variant: str, folder: str) -> dict:
    from tunecli.config.objective import resolve_objective
    from tunecli.config.space import validate_space
    from tunecli.data import load_data
    from tunecli.search.context import by_structure
    from tunecli.search.rerank import rerank
    from tunecli.search.weights import ranking
    from tunecli.studies import attrs
    from tunecli.studies.storage import load_study
    from tunecli.trainers.fast.compile import load_jax
    from tunecli.trial import run_group, run_trial

    load_jax()
    space = validate_space(raw_space(f"r{seed}", seed, 30))
    data = load_data(space.data)
    objective = resolve_objective("auto", data.task)
    study = load_study(f"r{seed}", ARGS.store)
    top = [t for t in study.get_trials(deepcopy=False) if t.number in ranking(study)[:5]]
    configs = [dict(attrs.read(t.user_attrs, attrs.CONFIG)) for t in top]
    start = time.perf_counter()
    if variant == "rerank":
        runs = rerank(study, top=5, seeds=3, base_seed=seed,
                      run=lambda cs, ss: run_group(cs, data, space.training, objective, seeds=ss),
                      plan=lambda cs: by_structure(cs, space, data))
    else:
        runs = len([run_trial(c, data, space.training, objective, seed=seed + 1) for c in configs])
    return {"runs": runs, "wall_s": round(time.perf_counter() - start, 2)}


ARGS: Any = None


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["rerank", "quality", "workers"], required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--members", default="auto,1", help="quality: the search.members values to compare")
    parser.add_argument("--out", default=str(RESULTS / "members.jsonl"))
    parser.add_argument("--job", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    ARGS = parser.parse_args()
    if ARGS.job:
        seed, variant = int(ARGS.job[0]), ARGS.job[1]
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps({"part": ARGS.part, "seed": seed, "variant": variant, **job(ARGS.part, seed, variant, folder)}))
        return
    quality = [v if v == "auto" else f"k{v}" for v in ARGS.members.split(",")]
    variants = {"rerank": ["rerank", "single"], "quality": quality, "workers": ["w2", "w1"]}[ARGS.part]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(ARGS.seeds):
            extra = []
            if ARGS.part == "rerank":   # the stored search both measurements start from
                store = str(Path(folder) / f"r{seed}.journal")
                _store_search(seed, store)
                extra = ["--store", store]
            for variant in variants:
                cmd = module_command(__spec__.name, "--part", ARGS.part, "--trials", str(ARGS.trials), "--job",
                                     str(seed), variant, *extra)
                out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                                     env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
                line = next((ln for ln in out.stdout.splitlines() if ln.startswith("{")), None)
                row = json.loads(line) if line else {"part": ARGS.part, "seed": seed, "variant": variant,
                                                     "error": out.stderr[-300:]}
                rows.append(row)
                print(json.dumps(row), flush=True)
    Path(ARGS.out).parent.mkdir(parents=True, exist_ok=True)
    with open(ARGS.out, "a") as sink:
        sink.writelines(json.dumps(r) + "\n" for r in rows)
    _summary(rows, variants)


def _store_search(seed: int, store: str) -> None:
    """The 30-trial search re-ranking starts from, stored in ``store`` (its own process, like the others)."""
    code = ("import sys, os; from benchmarks.members_bench import raw_space; from tunecli.config.space import validate_space; "
            "from tunecli.search.run import run_search; "
            f"run_search(validate_space(raw_space('r{seed}', {seed}, 30)), storage_url='{store}', quiet=True, "
            f"best_out='{store}.best.yaml')")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def _summary(rows: list[dict], variants: list[str]) -> None:
    for variant in variants:
        got = [r for r in rows if r.get("variant") == variant and "wall_s" in r]
        if not got:
            continue
        walls = [r["wall_s"] for r in got]
        line = f"{variant}: wall median {statistics.median(walls):.2f} s (range {min(walls):.2f}-{max(walls):.2f})"
        if "best_val" in got[0]:
            vals = [r["best_val"] for r in got]
            line += (f"; best val median {statistics.median(vals):.4f} (range {min(vals):.4f}-{max(vals):.4f}), "
                     f"mean {statistics.fmean(vals):.4f}")
        print(line)


if __name__ == "__main__":
    main()
