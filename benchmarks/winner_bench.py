"""Which tool hands over the best model on unseen data, given the same minutes?

    python -m benchmarks.winner_bench                               # all data sets, 10 seeds, one job at a time
    python -m benchmarks.winner_bench --data digits --seeds 3 --budget digits=20
    python -m benchmarks.winner_bench --parallel 14 --cores 1       # jobs side by side, each pinned to its cores
    python -m benchmarks.winner_bench --tools tunecli sklearn       # just these tools
    python -m benchmarks.winner_bench --summarize benchmarks/results/winner.jsonl

One job is one (data set, seed): the seed draws the split (train / validation / test, the same for every tool)
and seeds every search. In one process the job runs each tool in turn (the order rotates with the seed) with the
same wall-clock budget, the same wide space, epoch cap and patience:

- tunecli: ``search`` with ``search.timeout`` = 60 % of the budget and its defaults (TPE, median pruner,
  re-ranking of the top 5 over 3 runs), cold (empty compile cache), then ``train`` on the best YAML, which
  scores three models once on the test split: the refit on train + validation (``refit``, what ``--output``
  saves), the model the search kept (``kept``, what ``--from-search`` saves) and the ensemble of the models the
  search kept for its best trials (``tunecli-ensemble``, ``train --ensemble 5``: Caruana's selection on the
  validation split). Its wall includes the train; the three rows share one search.
- Keras Tuner RandomSearch and BayesianOptimization: the HyperModel its docs show (``fit`` overridden to
  tune the batch size); no new trial after the budget; the final model is ``get_best_models(1)[0]``.
- plain Optuna: TPE + MedianPruner with an epoch-reporting callback (optuna-examples' Keras example),
  ``study.optimize(timeout=budget)``; the best trial's model is kept in memory (best-epoch weights).
- scikit-learn: ``MLPClassifier`` / ``MLPRegressor`` random search over the same space where it has the
  option (activations relu / tanh / logistic, solvers sgd / adam), the best model on validation kept.

Each row: the winner's validation score as the tool reports it, its test score, the optimism (how much
better validation looked than test; for RMSE, test minus validation), trials and wall time. Rows go to
``--out`` (JSON lines) as they finish; ``--summarize`` prints the table (median and interquartile range).
Data: digits and breast_cancer (built in), ../shared/data/housing.csv and ../shared/data/mnist_20k
(``TUNECLI_BENCH_DATA`` names another folder), skipped when absent. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import RESULTS, peers
from benchmarks.driver import drive, failed_runs, job_arguments, median_iqr

TOOLS = ["tunecli", "kt-random", "kt-bayesian", "optuna", "sklearn"]
BUDGETS = {"digits": 20.0, "breast_cancer": 10.0, "housing": 20.0, "mnist": 40.0}   # seconds per tool
MAX_EPOCHS = {"digits": 100, "breast_cancer": 100, "housing": 100, "mnist": 30}
DEFAULT_PATIENCE = 5   # rows without a ``patience`` ran with it
PATIENCE = DEFAULT_PATIENCE   # every tool's (``--patience``)
TUNECLI_SEARCH_SHARE = 0.6   # of the budget: the rest is for re-ranking and the train
#: ``train --ensemble``: the search keeps the weights of re-ranking's top 5 (search.rerank.top's default), all drawn on
ENSEMBLE = 5

SPACE = peers.WIDE_SPACE   # every tool's (tunecli's YAML; the peers read the same ranges)


# ---------------------------------------------------------------- scoring


def optimism(task: str, val: float, test: float) -> float:
    """How much better the validation score looked than the test score (positive: optimistic)."""
    return val - test if task == "classification" else test - val


# ---------------------------------------------------------------- the peers


def run_peer(tool: str, data: Any, budget: float, max_epochs: int, seed: int, folder: str) -> dict:
    """One peer given ``budget`` seconds (no trial starts after them); its best model scored once on the test split.

    Args:
        tool: ``optuna``, ``sklearn``, ``kt-random`` or ``kt-bayesian``.
    """
    out = peers.run_peer(tool, data, SPACE, peers.Budget(seconds=budget), max_epochs=max_epochs, patience=PATIENCE,
                         seed=seed, folder=folder, restore_best=True)
    model = out["best_model"]()
    pred = model.predict(data.x_test) if tool == "sklearn" else model.predict(data.x_test, verbose=0)
    return {"val": out["best_value"], "test": peers.score(data.task, data.y_test, pred), "trials": out["trials"]}


# ---------------------------------------------------------------- tunecli


def run_tunecli(name: str, data: Any, budget: float, max_epochs: int, seed: int, folder: str) -> list[dict]:
    """``tunecli search`` then ``tunecli train`` (in process): two rows, the refit and the kept model."""
    from tunecli.config.space import load_space
    from tunecli.train import train_best

    raw = {"study": f"{name}-{seed}", "data": peers.data_spec(name, seed), "objective": "auto",
           "search": {"trials": 100_000, "timeout": round(budget * TUNECLI_SEARCH_SHARE, 1), "seed": seed},
           "training": {"max_epochs": max_epochs, "early_stopping": {"patience": PATIENCE}},
           "space": SPACE}
    os.environ["TUNECLI_CACHE_DIR"] = tempfile.mkdtemp(dir=folder)   # cold: an empty compile cache
    outcome, searched = peers.timed_search(raw, folder)
    here = os.getcwd()
    os.chdir(folder)   # the study's journal is there
    try:
        start = time.perf_counter()
        trained = train_best(load_space(outcome.best_path), output=Path(folder) / "model.keras", seed=seed,
                             ensemble=ENSEMBLE)
        wall = searched + time.perf_counter() - start
    finally:
        os.chdir(here)
    rows = tunecli_rows(trained, float(outcome.best["value"]))
    counted = [r for r in outcome.rows if r.get("state") in ("COMPLETE", "PRUNED", "FAIL")]
    for row in rows:
        row.update(trials=len(counted), wall=round(wall, 2), search_wall=round(searched, 2),
                   reranked=outcome.reranked)
    return rows


def tunecli_rows(trained: Any, val: float) -> list[dict]:
    """The rows of one ``train`` outcome: what it hands over (``tunecli``), the kept model beside it and the
    ensemble (validation: the search's best score; the ensemble's own, chosen on validation, for its row)."""
    # what train hands over: the refit, or the kept model when the refit failed or collapsed (its note says why)
    rows = [{"tool": "tunecli", "model": trained.model, "val": val, "test": trained.test_score}]
    if trained.model != "refit":
        rows[0]["note"] = trained.kept_note
    if trained.kept is not None:
        rows.append({"tool": "tunecli-kept", "model": "kept", "val": val, "test": trained.kept.test_score})
    if trained.ensemble is not None:
        together = trained.ensemble
        rows.append({"tool": "tunecli-ensemble", "model": "ensemble", "val": together.val_score,
                     "test": together.test_score, "members": together.members})
    return rows


# ---------------------------------------------------------------- a job, the driver


def run_job(name: str, seed: int) -> list[dict]:
    from tunecli.config.space import DataSpec
    from tunecli.data import load_data
    from tunecli.runtime import init_backend

    init_backend(None)
    import keras

    data = load_data(DataSpec(**peers.data_spec(name, seed)))
    budget, max_epochs = BUDGETS[name], MAX_EPOCHS[name]
    tools = json.loads(os.environ.get("TUNECLI_BENCH_TOOLS", "null")) or TOOLS   # a job: its driver's --tools
    order = [t for t in TOOLS[seed % len(TOOLS):] + TOOLS[:seed % len(TOOLS)] if t in tools]
    rows = []
    for tool in order:
        keras.utils.set_random_seed(seed)
        keras.backend.clear_session()
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            try:
                if tool == "tunecli":
                    found = run_tunecli(name, data, budget, max_epochs, seed, folder)
                else:
                    out = run_peer(tool, data, budget, max_epochs, seed, folder)
                    found = [{"tool": tool, **out, "wall": round(time.perf_counter() - start, 2)}]
            except Exception as exc:  # noqa: BLE001 - a failing tool is a row, the job goes on
                found = [{"tool": tool, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}]
        for row in found:
            row.update(data=name, seed=seed, budget=budget, task=data.task, patience=PATIENCE)
            if "test" in row:
                row["optimism"] = optimism(data.task, row["val"], row["test"])
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


# ---------------------------------------------------------------- the table


def summarize(rows: list[dict]) -> str:
    tools = TOOLS[:1] + ["tunecli-kept", "tunecli-ensemble"] + TOOLS[1:]
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; rows: {len(rows)}", "",
             "| data | budget s | tool | seeds | test median | test IQR | optimism median | optimism IQR | "
             "val median | trials median | wall median s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    patiences = sorted({r.get("patience", DEFAULT_PATIENCE) for r in rows})
    for name, tool, patience in ((n, t, p) for n in BUDGETS for p in patiences for t in tools):
        rs = [r for r in rows if r["data"] == name and r["tool"] == tool and "test" in r
              and r.get("patience", DEFAULT_PATIENCE) == patience]
        if rs:
            label = tool if patience == DEFAULT_PATIENCE else f"{tool}, patience {patience}"
            test, opt = median_iqr([r["test"] for r in rs]), median_iqr([r["optimism"] for r in rs], "+.4f")
            lines.append(f"| {name} | {rs[0]['budget']:g} | {label} | {len(rs)} | {test[0]} | {test[1]} | "
                         f"{opt[0]} | {opt[1]} | "
                         f"{np.median([r['val'] for r in rs]):.4f} | {np.median([r['trials'] for r in rs]):.0f} | "
                         f"{np.median([r['wall'] for r in rs]):.1f} |")
    return "\n".join(lines + failed_runs(rows))


def main() -> None:
    global PATIENCE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    job_arguments(parser, data=BUDGETS, tools=TOOLS, out=RESULTS / "winner.jsonl")
    parser.add_argument("--budget", nargs="*", default=[], help="data=seconds, e.g. digits=20")
    parser.add_argument("--only", nargs="*", default=[], metavar="DATA:SEED", help="run just these jobs")
    parser.add_argument("--patience", type=int, default=DEFAULT_PATIENCE,
                        help=f"every tool's early-stopping patience (default {DEFAULT_PATIENCE}; scikit-learn's "
                             "n_iter_no_change)")
    args = parser.parse_args()
    PATIENCE = int(os.environ.get("TUNECLI_BENCH_PATIENCE", args.patience)) if args.job else args.patience
    BUDGETS.update(json.loads(os.environ.get("TUNECLI_BENCH_BUDGETS", "{}")))   # a job: its driver's budgets
    BUDGETS.update({k: float(v) for k, v in (item.split("=") for item in args.budget)})
    if args.job:
        run_job(args.job[0], int(args.job[1]))
        return
    if args.summarize:
        print(summarize([json.loads(line) for line in open(args.summarize) if line.strip()]))
        return
    names = [n for n in args.data if peers.available(n)]
    jobs = [(n, s) for n in names for s in range(args.first_seed, args.first_seed + args.seeds)]
    if args.only:
        jobs = [(name, int(seed)) for name, seed in (item.split(":") for item in args.only)]
    jobs = sorted(jobs,
                  key=lambda job: -BUDGETS[job[0]])   # the longest jobs first
    os.environ["TUNECLI_BENCH_BUDGETS"] = json.dumps(BUDGETS)
    os.environ["TUNECLI_BENCH_TOOLS"] = json.dumps(args.tools)
    os.environ["TUNECLI_BENCH_PATIENCE"] = str(PATIENCE)
    drive(__spec__.name, jobs, args.parallel, args.cores, Path(args.out))
    print(summarize([json.loads(line) for line in open(args.out) if line.strip()]))


if __name__ == "__main__":
    main()
