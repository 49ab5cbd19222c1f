"""Wall time and best validation score of four tools given the same number of epochs.

    python -m benchmarks.compile_goals                                  # digits, housing, mnist; 3 seeds
    python -m benchmarks.compile_goals --data digits --seeds 1 --budget digits=15 --out /tmp/cg.jsonl
    python -m benchmarks.compile_goals --summarize --out benchmarks/results/compile_goals.jsonl

The budget is in epochs: a hard cap on the epochs trained by all the trials of one search together,
digits 300, housing 150, mnist 60 (``--budget data=EPOCHS`` overrides). When the running total reaches it,
the trial in progress stops at that epoch's end and the search stops (no new trial). Every tool searches the
same space on the same split: n_hidden 1-4, n_neurons 16-256 (log), learning_rate 1e-4-0.3 (log), activation
relu / elu / selu / tanh / swish, optimizer sgd / momentum / nesterov / rmsprop / adam / nadam, batch size
16 / 32 / 64 / 128, no dropout; early stopping with patience 3; at most 100 epochs a trial (digits, housing)
or 30 (mnist). The seed draws the split (``peers.data_spec``: train / validation / test, the data loaded
by tunecli's ``load_data``) and seeds the search.

- tunecli: ``run_search`` in process, TPE + median pruner, re-ranking off (``search.rerank.top: 0``), trials
  kept in this process (``training.recycle_after: 0``), a cold compile cache (``TUNECLI_CACHE_DIR``: a new
  empty folder). The fast trainer's ``meter`` tells of each fit (a trial), epoch and program; at the budget
  the search is stopped as by Ctrl-C (``tunecli.interrupt.request``), which discards the trial in progress: its
  best score is recorded apart (``cut_val``), ``best_val`` is the best of the study's complete and pruned
  trials. Also recorded: the programs compiled in the search (all, and by kind), the seconds spent in epochs,
  and the median per-trial overhead: a fit's wall time from its start to its end minus its epochs' (compiling
  and the training's set-up; the model's structure and first weights are drawn before the fit starts, and the
  sampler, ``run_trial``'s bookkeeping and the study's run outside it). ``tunecli-before`` needs a checkout
  whose fast trainer has ``meter``.
- the peers (``benchmarks.peers``, its ``Budget`` in epochs):
  kt-random: Keras Tuner RandomSearch, the HyperModel of its docs (``fit`` tunes the batch size); a callback
  counts the epochs and sets ``model.stop_training`` at the budget, and no trial starts after it.
- optuna: TPE + MedianPruner with an epoch-reporting callback (optuna-examples' Keras example); the same
  counting callback stops the trial at the budget (that trial is not pruned: it completes with its best
  epoch's score) and ``study.stop()`` ends the search. Pruned trials do not count, as Optuna has it.
- sklearn: ``MLPClassifier`` / ``MLPRegressor`` random search over the options it has (activations relu /
  tanh / logistic, solvers sgd / adam); each fit's ``n_iter_`` counts, the fit that would cross the budget
  gets ``max_iter`` = the epochs left; the score is the fitted model's on the validation split.

One job is one (tool, data set, seed), in its own process, one job at a time (``--parallel``: more). A row
(JSON line, appended to ``--out``): tool, data, seed, budget_epochs, epochs, trials (each trial that started
training, the cut one included), wall_s (the search alone: imports and the job's data load before it;
tunecli's wall includes its own load of the data), best_val (accuracy, or RMSE for housing), and tunecli's
compiled, by_kind, median_overhead_s, epoch_s_total, cut_val. ``--summarize`` prints a table per data set:
medians and ranges over the seeds, tunecli's median wall over each tool's, and a row ``tunecli +cut`` whose
best val counts the trial the cap cut, as the peers' do.
Data: digits built in, ../shared/data/housing.csv and ../shared/data/mnist_20k (``TUNECLI_BENCH_DATA``
names another folder), skipped when absent. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import RESULTS, peers, use_checkout
from benchmarks import winner_bench as wb

TOOLS = ["tunecli", "kt-random", "optuna", "sklearn", "tunecli-before"]
#: ``tunecli-before``: tunecli from another checkout (``TUNECLI_BENCH_BEFORE``: its folder), for before/after rows.
BEFORE = os.environ.get("TUNECLI_BENCH_BEFORE")
BUDGETS = {"digits": 300, "housing": 150, "mnist": 60}   # epochs per search, all trials together
MAX_EPOCHS = {"digits": 100, "housing": 100, "mnist": 30}
PATIENCE = 3
SPACE = {k: v for k, v in peers.WIDE_SPACE.items() if k != "dropout"}


def run_peer(tool: str, data: Any, budget: int, max_epochs: int, seed: int, folder: str) -> dict:
    """One peer (``optuna``, ``sklearn`` or ``kt-random``) on an epoch budget."""
    out = peers.run_peer(tool, data, SPACE, peers.Budget(epochs=budget), max_epochs=max_epochs, patience=PATIENCE,
                         seed=seed, folder=folder, restore_best=True)
    return {"best_val": out["best_value"], "epochs": out["epochs"], "trials": out["started"]}


# ---------------------------------------------------------------- tunecli


class Listener:
    """What the fast trainer's meter tells of one search: fits (trials), epochs and programs compiled. At the
    epoch budget it calls ``stop`` (which asks the search to stop, as Ctrl-C does)."""

    def __init__(self, task: str, metric: str, budget: int, stop: Callable[[], None]) -> None:
        self.task, self.metric, self.budget, self.stop = task, metric, budget, stop
        self.trials, self.epochs, self.epoch_s = 0, 0, 0.0
        self.overheads: list[float] = []
        self.compiled: list[tuple] = []
        self.fit_start, self.fit_epoch_s, self.fit_best = 0.0, 0.0, None

    def on_fit(self, what: str) -> None:
        if what == "start":
            self.trials += 1
            self.fit_start, self.fit_epoch_s, self.fit_best = time.perf_counter(), 0.0, None
        else:
            self.overheads.append(time.perf_counter() - self.fit_start - self.fit_epoch_s)

    def on_epoch(self, seconds: float, logs: dict[str, float]) -> None:
        self.fit_epoch_s += seconds
        self.epoch_s += seconds
        value = logs[self.metric]
        if math.isfinite(value) and peers.better(self.task, value, self.fit_best):
            self.fit_best = value
        self.epochs += 1
        if self.epochs >= self.budget:
            self.stop()   # the trial stops at this epoch's end, the search after it

    def on_program(self, key: tuple, compiled: bool) -> None:
        if compiled:
            self.compiled.append(key)


def run_tunecli(name: str, data: Any, budget: int, max_epochs: int, seed: int, folder: str) -> dict:
    """``run_search`` in process, stopped as by Ctrl-C when the epochs reach the budget."""
    import signal

    from tunecli import interrupt
    from tunecli.config.space import validate_space
    from tunecli.search.run import run_search
    from tunecli.trainers.fast import meter

    raw = {"study": f"{name}-{seed}", "data": peers.data_spec(name, seed), "objective": "auto",
           "search": {"trials": 100_000, "seed": seed, "rerank": {"top": 0}},
           "training": {"max_epochs": max_epochs, "early_stopping": {"patience": PATIENCE}, "recycle_after": 0},
           "space": SPACE}
    heard = Listener(data.task, peers.metric_of(data.task), budget, stop=lambda: interrupt.request(signal.SIGINT))
    here = os.getcwd()
    os.chdir(folder)
    try:
        with meter.listening(on_epoch=heard.on_epoch, on_program=heard.on_program, on_fit=heard.on_fit):
            start = time.perf_counter()
            outcome = run_search(validate_space(raw), quiet=True, best_out=Path(folder) / "best.yaml")
            wall = time.perf_counter() - start
    finally:
        os.chdir(here)
        interrupt.reset()   # the next search in this process starts with no stop request
    kept = [r["value"] for r in outcome.rows if r.get("state") in ("COMPLETE", "PRUNED")]
    # trials: every trial of the study (members of a group each count; the ones the cap cut included)
    return {"best_val": peers.best_of(data.task, kept), "epochs": heard.epochs, "trials": len(outcome.rows),
            "wall_s": round(wall, 2), "cut_val": heard.fit_best if outcome.interrupted else None,
            "interrupted": outcome.interrupted, "compiled": len(heard.compiled),
            "by_kind": dict(collections.Counter(key[0] for key in heard.compiled)),
            "median_overhead_s": round(statistics.median(heard.overheads), 3) if heard.overheads else None,
            "epoch_s_total": round(heard.epoch_s, 2)}


# ---------------------------------------------------------------- a job, the driver


def run_job(tool: str, name: str, seed: int, budget: int) -> dict:
    """One (tool, data set, seed) in this process: one JSON row on stdout."""
    row: dict[str, Any] = {"tool": tool, "data": name, "seed": seed, "budget_epochs": budget}
    with tempfile.TemporaryDirectory() as folder:
        if tool.startswith("tunecli"):
            os.environ["TUNECLI_CACHE_DIR"] = tempfile.mkdtemp(dir=folder)   # cold: an empty compile cache
        if tool == "tunecli-before" and BEFORE:
            use_checkout(BEFORE)   # before anything imports tunecli
        from tunecli.config.space import DataSpec
        from tunecli.data import load_data
        from tunecli.runtime import init_backend

        max_epochs = MAX_EPOCHS[name]
        try:
            init_backend(None)
            data = load_data(DataSpec(**peers.data_spec(name, seed)))
            row["task"] = data.task
            import optuna  # noqa: F401 - imports before the clock, for every tool
            if tool.startswith("tunecli"):
                import tunecli
                from tunecli.trainers.fast.compile import load_jax

                row["source"] = str(Path(tunecli.__file__).parents[1])

                load_jax()
                row.update(run_tunecli(name, data, budget, max_epochs, seed, folder))
            else:
                import keras
                import keras_tuner  # noqa: F401
                import sklearn.neural_network  # noqa: F401

                keras.utils.set_random_seed(seed)
                start = time.perf_counter()
                out = run_peer(tool, data, budget, max_epochs, seed, folder)
                row.update(out, wall_s=round(time.perf_counter() - start, 2))
        except Exception as exc:  # noqa: BLE001 - a failing tool is a row
            row["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    print(json.dumps(row), flush=True)
    return row


def jobs(names: list[str], seeds: range, tools: list[str]) -> list[tuple[str, int]]:
    """(``TOOL:DATA``, seed) for ``wb.drive``: each seed's tools together, their order rotated with the seed."""
    out = []
    for name in names:
        for seed in seeds:
            turn = seed % len(tools)
            out += [(f"{tool}:{name}", seed) for tool in tools[turn:] + tools[:turn]]
    return out


# ---------------------------------------------------------------- the table


def _span(values: list[float], fmt: str) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def _median(values: list[Any], fmt: str) -> str:
    values = [v for v in values if v is not None]
    return f"{statistics.median(values):{fmt}}" if values else ""


def summarize(rows: list[dict]) -> str:
    """A table per data set; the row ``tunecli +cut`` counts the trial the cap cut (``cut_val``) as the peers do."""
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; rows: {len(rows)}"]
    for name in BUDGETS:
        done = [r for r in rows if r["data"] == name and "error" not in r]
        if not done:
            continue
        for r in [r for r in done if r["tool"] == "tunecli"]:
            done.append({**r, "tool": "tunecli +cut", "best_val": peers.best_of(r["task"], [r["best_val"], r.get("cut_val")])})
        walls = {t: statistics.median([r["wall_s"] for r in done if r["tool"] == t]) for t in {r["tool"] for r in done}}
        score = "accuracy" if done[0]["task"] == "classification" else "RMSE"
        lines += ["", f"**{name}**: budget {done[0]['budget_epochs']} epochs, best validation {score}", "",
                  "| tool | seeds | wall s, median (min–max) | best val, median (min–max) | epochs | trials | "
                  "tunecli wall / this | compiled | overhead / trial s |", "|---|---|---|---|---|---|---|---|---|"]
        for tool in [t for t in ["tunecli", "tunecli +cut", *TOOLS[1:]] if t in walls]:
            rs = [r for r in done if r["tool"] == tool]
            ratio = f"{walls['tunecli'] / walls[tool]:.2f}" if "tunecli" in walls and walls[tool] > 0 else ""
            lines.append(f"| {tool} | {len(rs)} | {_span([r['wall_s'] for r in rs], '.1f')} | "
                         f"{_span([r['best_val'] for r in rs if r['best_val'] is not None], '.4f')} | "
                         f"{_median([r['epochs'] for r in rs], '.0f')} | {_median([r['trials'] for r in rs], '.0f')} | "
                         f"{ratio} | {_median([r.get('compiled') for r in rs], '.0f')} | "
                         f"{_median([r.get('median_overhead_s') for r in rs], '.3f')} |")
    return "\n".join(lines + wb.failed_runs(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", default=list(BUDGETS), choices=list(BUDGETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--tools", nargs="+", default=TOOLS, choices=TOOLS)
    parser.add_argument("--budget", nargs="*", default=[], help="data=epochs, e.g. digits=300")
    parser.add_argument("--parallel", type=int, default=1, help="jobs at a time")
    parser.add_argument("--cores", type=int, default=2, help="CPUs each job is pinned to (with --parallel > 1)")
    parser.add_argument("--out", default=str(RESULTS / "compile_goals.jsonl"))
    parser.add_argument("--summarize", action="store_true", help="print the table of --out and stop")
    parser.add_argument("--job", nargs=2, metavar=("TOOL:DATA", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    BUDGETS.update(json.loads(os.environ.get("COMPILE_GOALS_BUDGETS", "{}")))   # a job: its driver's budgets
    BUDGETS.update({k: int(v) for k, v in (item.split("=") for item in args.budget)})
    if args.job:
        (tool, name), seed = args.job[0].split(":"), int(args.job[1])
        run_job(tool, name, seed, BUDGETS[name])
        return
    if not args.summarize:
        names = [n for n in args.data if peers.available(n)]
        os.environ["COMPILE_GOALS_BUDGETS"] = json.dumps(BUDGETS)
        todo = jobs(names, range(args.first_seed, args.first_seed + args.seeds), args.tools)
        wb.drive(__spec__.name, todo, args.parallel, args.cores, Path(args.out))
    print(summarize([json.loads(line) for line in open(args.out) if line.strip()]))


if __name__ == "__main__":
    main()
