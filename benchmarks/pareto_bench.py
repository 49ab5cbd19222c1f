"""How good a front of accuracy against parameters does a search find in N trials?

    python -m benchmarks.pareto_bench                               # digits and MNIST 20k, 10 seeds, one job at a time
    python -m benchmarks.pareto_bench --data digits --seeds 3 --trials digits=40
    python -m benchmarks.pareto_bench --tools tunecli optuna-nsga2  # just these tools
    python -m benchmarks.pareto_bench --summarize benchmarks/results/pareto.jsonl

One job is one (data set, seed): the seed draws the split (train / validation / test, the same for every tool)
and seeds every search. Each tool runs the same number of trials N over the same wide space
(``peers.WIDE_SPACE``), the same epoch cap and patience, with two objectives: validation accuracy (maximized)
and the network's parameters (minimized):

- ``tunecli``: ``search`` with ``objective: [val_accuracy, params]`` and its defaults (TPE of several objectives,
  members; pruning is off for several objectives), no re-ranking (N trainings, as the others), cold compile cache;
- ``tunecli-nsga2``: the same with ``search.algorithm: nsga2``;
- ``optuna-nsga2``: plain Optuna, ``NSGAIISampler`` (population 10) over a Keras objective that returns the best
  epoch's validation accuracy and ``model.count_params()`` (the peers' model: Adam unless the space names another
  optimizer, early stopping).

Each row: the hypervolume of the tool's front (``hypervolume_2d``: the area the front dominates in the plane of
(1 - accuracy, log10(params) / log10(the space's largest network)), reference point (1, 1): larger is better),
the front's size, the best accuracy, trials, wall. With ``--knee``, tunecli also runs a single-objective search of
the same N trials, and ``train`` fits both the knee of the two-objective front and the single-objective winner
(refit on train + validation): their test accuracy, parameters and CPU latency (256 rows, one thread) are the
``knee`` and ``winner`` rows. Rows go to ``--out`` (JSON lines); ``--summarize`` prints the table (median and
interquartile range). Data: digits (built in) and ../shared/data/mnist_20k (``TUNECLI_BENCH_DATA`` names another
folder), skipped when absent. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import RESULTS, peers
from benchmarks.driver import drive, failed_runs, job_arguments, median_iqr

TOOLS = ["tunecli", "tunecli-nsga2", "optuna-nsga2"]
TRIALS = {"digits": 40, "mnist": 30}
MAX_EPOCHS = {"digits": 60, "mnist": 20}
PATIENCE = 5
SPACE = peers.WIDE_SPACE
OBJECTIVES = ["val_accuracy", "params"]


# ---------------------------------------------------------------- hypervolume


def hypervolume_2d(points: Sequence[tuple[float, float]], reference: tuple[float, float]) -> float:
    """The area that ``points`` dominate up to ``reference``, both coordinates minimized.

    Points outside the reference box add nothing; dominated points add nothing.

    Example:
        >>> hypervolume_2d([(0.2, 0.6), (0.5, 0.3)], (1.0, 1.0))
        0.47
    """
    inside = sorted((x, y) for x, y in points if x < reference[0] and y < reference[1])
    area, ceiling = 0.0, reference[1]
    for x, y in inside:   # left to right: each point adds the strip below the lowest point so far
        if y < ceiling:
            area += (reference[0] - x) * (ceiling - y)
            ceiling = y
    return area


def largest_params(n_features: int, n_classes: int) -> int:
    """The parameters of the space's largest network (``n_hidden`` and ``n_neurons`` at their highest)."""
    from tunecli.trainers.footprint import network_params

    return network_params({"n_hidden": SPACE["n_hidden"]["int"][1], "n_neurons": SPACE["n_neurons"]["int"][1]},
                          n_features, n_classes)


def front_figures(pairs: list[tuple[float, int]], params_max: int) -> dict:
    """A tool's trials as (validation accuracy, parameters): its hypervolume, front size and best accuracy."""
    points = [(1.0 - acc, math.log10(max(p, 1)) / math.log10(params_max)) for acc, p in pairs
              if acc is not None and math.isfinite(acc)]
    front = [p for p in points if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points)]
    return {"hypervolume": round(hypervolume_2d(points, (1.0, 1.0)), 5), "front": len(set(front)),
            "best_accuracy": round(1.0 - min(p[0] for p in points), 5) if points else None}


# ---------------------------------------------------------------- the tools


def tunecli_raw(name: str, trials: int, seed: int, *, algorithm: str = "tpe", objective: Any = None) -> dict:
    """The space file of tunecli's searches in this benchmark."""
    single = objective is not None and not isinstance(objective, list)
    return {"study": f"{name}-{seed}-{algorithm}{'-single' if single else ''}", "data": peers.data_spec(name, seed),
            "objective": OBJECTIVES if objective is None else objective,
            "search": {"trials": trials, "seed": seed, "algorithm": algorithm, "rerank": {"top": 0}},
            "training": {"max_epochs": MAX_EPOCHS[name], "early_stopping": {"patience": PATIENCE}},
            "space": SPACE}


def run_tunecli(raw: dict, folder: str) -> tuple[Any, float]:
    """``tunecli search`` in process, cold compile cache, in ``folder``: the outcome and its wall."""
    os.environ["TUNECLI_CACHE_DIR"] = tempfile.mkdtemp(dir=folder)
    return peers.timed_search(raw, folder)


def tunecli_pairs(outcome: Any) -> list[tuple[float, int]]:
    """(validation accuracy, parameters) of each complete trial of a search."""
    return [(r["search_value"], r["costs"]["params"]) for r in outcome.rows
            if r["state"] == "COMPLETE" and r["costs"].get("params") is not None]


def run_optuna_nsga2(data: Any, trials: int, max_epochs: int, seed: int) -> tuple[list[tuple[float, int]], int]:
    """Plain Optuna NSGA-II over a Keras objective: (best-epoch validation accuracy, ``count_params()``) per trial."""
    import keras
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> tuple[float, int]:
        keras.backend.clear_session()
        p = peers.optuna_params(trial, SPACE)
        model = peers.keras_model(keras, p, data)
        history = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                            batch_size=p["batch_size"], epochs=max_epochs, verbose=0,
                            callbacks=[peers.early_stopping(keras, data.task, PATIENCE)])
        return max(history.history["val_accuracy"]), model.count_params()

    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=optuna.samplers.NSGAIISampler(population_size=10, seed=seed))
    study.optimize(objective, n_trials=trials, catch=(Exception,))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return [(t.values[0], int(t.values[1])) for t in done], len(study.trials)


def run_knee(name: str, trials: int, seed: int, folder: str) -> list[dict]:
    """The knee of the two-objective search just run in ``folder`` and the winner of a single-objective search of the
    same trials, each refit by ``train`` and scored once on the test split, with its parameters and CPU latency."""
    from tunecli.config.space import validate_space
    from tunecli.train import picked_space, train_best

    run_tunecli(tunecli_raw(name, trials, seed, objective="val_accuracy"), folder)
    rows = []
    for label, objective, rule in (("knee", None, "knee"), ("winner", "val_accuracy", "best")):
        here = os.getcwd()
        os.chdir(folder)
        try:
            space = validate_space(tunecli_raw(name, trials, seed, objective=objective))
            trained = train_best(picked_space(space, rule), output=None, seed=seed)
        finally:
            os.chdir(here)
        rows.append({"tool": label, "test": trained.test_score, "params": trained.costs["params"],
                     "latency_ms": trained.costs["latency"], "latency_iqr_ms": trained.costs["latency_iqr"]})
    return rows


# ---------------------------------------------------------------- a job, the driver


def run_job(name: str, seed: int) -> list[dict]:
    from tunecli.config.space import DataSpec
    from tunecli.data import load_data
    from tunecli.runtime import init_backend

    init_backend(None)
    import keras

    data = load_data(DataSpec(**peers.data_spec(name, seed)))
    trials, params_max = TRIALS[name], largest_params(data.n_features, data.n_classes)
    tools = json.loads(os.environ.get("TUNECLI_BENCH_TOOLS", "null")) or TOOLS
    knee = os.environ.get("TUNECLI_BENCH_KNEE") == "1"
    rows = []
    for tool in [t for t in TOOLS if t in tools]:
        keras.utils.set_random_seed(seed)
        with tempfile.TemporaryDirectory() as folder:
            try:
                found = _run_tool(tool, name, data, trials, seed, folder, params_max, knee)
            except Exception as exc:  # noqa: BLE001 - a failing tool is a row, the job goes on
                found = [{"tool": tool, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}]
        for row in found:
            row.update(data=name, seed=seed, budget=trials)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def _run_tool(tool: str, name: str, data: Any, trials: int, seed: int, folder: str, params_max: int,
              knee: bool) -> list[dict]:
    start = time.perf_counter()
    if tool == "optuna-nsga2":
        pairs, ran = run_optuna_nsga2(data, trials, MAX_EPOCHS[name], seed)
        return [{"tool": tool, **front_figures(pairs, params_max), "trials": ran,
                 "wall": round(time.perf_counter() - start, 2)}]
    algorithm = "nsga2" if tool == "tunecli-nsga2" else "tpe"
    outcome, wall = run_tunecli(tunecli_raw(name, trials, seed, algorithm=algorithm), folder)
    rows = [{"tool": tool, **front_figures(tunecli_pairs(outcome), params_max), "trials": outcome.ran,
             "wall": round(wall, 2)}]
    if knee and tool == "tunecli":
        rows += run_knee(name, trials, seed, folder)
    return rows


# ---------------------------------------------------------------- the table


def summarize(rows: list[dict]) -> str:
    """The fronts (hypervolume, size, best accuracy, wall) and, with ``--knee``, the knee against the winner."""
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; rows: {len(rows)}", "",
             "| data | trials | tool | seeds | hypervolume median | IQR | front size | best val accuracy | wall s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in TRIALS:
        for tool in TOOLS:
            rs = [r for r in rows if r["data"] == name and r["tool"] == tool and "hypervolume" in r]
            if rs:
                hv = median_iqr([r["hypervolume"] for r in rs])
                lines.append(f"| {name} | {rs[0]['budget']} | {tool} | {len(rs)} | {hv[0]} | {hv[1]} | "
                             f"{np.median([r['front'] for r in rs]):.0f} | "
                             f"{np.median([r['best_accuracy'] for r in rs]):.4f} | "
                             f"{np.median([r['wall'] for r in rs]):.1f} |")
    lines += ["", "| data | model | seeds | test accuracy median | params median | latency ms median |",
              "|---|---|---|---|---|---|"]
    for name in TRIALS:
        for tool in ("knee", "winner"):
            rs = [r for r in rows if r["data"] == name and r["tool"] == tool and "test" in r]
            if rs:
                lines.append(f"| {name} | {tool} | {len(rs)} | {np.median([r['test'] for r in rs]):.4f} | "
                             f"{np.median([r['params'] for r in rs]):,.0f} | "
                             f"{np.median([r['latency_ms'] for r in rs]):.3f} |")
    return "\n".join(lines + failed_runs(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    job_arguments(parser, data=TRIALS, tools=TOOLS, out=RESULTS / "pareto.jsonl")
    parser.add_argument("--trials", nargs="*", default=[], help="data=N, e.g. digits=40 (trials per tool)")
    parser.add_argument("--knee", action="store_true", help="also train tunecli's knee and a single-objective winner")
    args = parser.parse_args()
    TRIALS.update(json.loads(os.environ.get("TUNECLI_BENCH_TRIALS", "{}")))   # a job: its driver's trials
    TRIALS.update({k: int(v) for k, v in (item.split("=") for item in args.trials)})
    if args.job:
        run_job(args.job[0], int(args.job[1]))
        return
    if args.summarize:
        print(summarize([json.loads(line) for line in open(args.summarize) if line.strip()]))
        return
    jobs = [(n, s) for n in args.data if peers.available(n) for s in range(args.first_seed, args.first_seed + args.seeds)]
    os.environ.update(TUNECLI_BENCH_TRIALS=json.dumps(TRIALS), TUNECLI_BENCH_TOOLS=json.dumps(args.tools),
                      TUNECLI_BENCH_KNEE="1" if args.knee else "0")
    drive(__spec__.name, jobs, args.parallel, args.cores, Path(args.out))
    print(summarize([json.loads(line) for line in open(args.out) if line.strip()]))


if __name__ == "__main__":
    main()
