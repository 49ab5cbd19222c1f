"""Wall time and best validation score of four tools given the same number of epochs.

    python benchmarks/compile_goals.py                                  # digits, housing, mnist; 3 seeds
    python benchmarks/compile_goals.py --data digits --seeds 1 --budget digits=15 --out /tmp/cg.jsonl
    python benchmarks/compile_goals.py --summarize --out benchmarks/results/compile_goals.jsonl

The budget is in epochs: a hard cap on the epochs trained by all the trials of one search together,
digits 300, housing 150, mnist 60 (``--budget data=EPOCHS`` overrides). When the running total reaches it,
the trial in progress stops at that epoch's end and the search stops (no new trial). Every tool searches the
same space on the same split: n_hidden 1-4, n_neurons 16-256 (log), learning_rate 1e-4-0.3 (log), activation
relu / elu / selu / tanh / swish, optimizer sgd / momentum / nesterov / rmsprop / adam / nadam, batch size
16 / 32 / 64 / 128, no dropout; early stopping with patience 3; at most 100 epochs a trial (digits, housing)
or 30 (mnist). The seed draws the split (``winner_bench.data_spec``: train / validation / test, the data loaded
by tunecli's ``load_data``) and seeds the search.

- tunecli: ``run_search`` in process, TPE + median pruner, re-ranking off (``search.rerank.top: 0``), trials
  kept in this process (``training.recycle_after: 0``), a cold compile cache (``TUNECLI_CACHE_DIR``: a new
  empty folder). Epochs are counted in the fast trainer's ``Run.epoch``; at the budget the search is stopped
  as by Ctrl-C (``tunecli.interrupt.request``), which discards the trial in progress: its best score is
  recorded apart (``cut_val``), ``best_val`` is the best of the study's complete and pruned trials. Also
  recorded: the programs compiled in the search (all, and by kind), the seconds spent in epochs, and the median
  per-trial overhead: a trial's wall time in ``run_trial`` minus its epochs' (model set-up, compiling, the
  score's weights; the sampler and the study's bookkeeping run outside ``run_trial``).
- kt-random: Keras Tuner RandomSearch, the HyperModel of its docs (``fit`` tunes the batch size); a callback
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
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import winner_bench as wb  # noqa: E402 - the benchmark next to this one

ROOT = HERE.parent
TOOLS = ["tunecli", "kt-random", "optuna", "sklearn", "tunecli-before"]
#: ``tunecli-before``: tunecli from another checkout (``TUNECLI_BENCH_BEFORE``: its folder), for before/after rows.
BEFORE = os.environ.get("TUNECLI_BENCH_BEFORE")
BUDGETS = {"digits": 300, "housing": 150, "mnist": 60}   # epochs per search, all trials together
MAX_EPOCHS = {"digits": 100, "housing": 100, "mnist": 30}
PATIENCE = 3
SPACE = {k: v for k, v in wb.SPACE.items() if k != "dropout"}


def better(task: str, a: float, b: float | None) -> bool:
    return b is None or (a > b if task == "classification" else a < b)


def best_of(task: str, values: list[float]) -> float | None:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return (max(values) if task == "classification" else min(values)) if values else None


class EpochCap:
    """The epochs of one search, counted across trials: ``tick`` is True when the budget is reached."""

    def __init__(self, budget: int) -> None:
        self.budget, self.epochs, self.trials = budget, 0, 0

    def tick(self) -> bool:
        self.epochs += 1
        return self.reached()

    def reached(self) -> bool:
        return self.epochs >= self.budget


def keras_cap(keras: Any, cap: EpochCap) -> Any:
    """A callback that counts epochs and stops the training at the budget. The count lives in ``cap``, not in
    the callback: Keras Tuner deep-copies the callbacks of every trial."""

    class Cap(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            cap.trials += 1

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if cap.tick():
                self.model.stop_training = True

    return Cap()


# ---------------------------------------------------------------- the peers


def run_optuna(data: Any, budget: int, max_epochs: int, seed: int) -> dict:
    """``wb.run_optuna`` with an epoch budget (the cut trial completes) and no dropout."""
    import keras
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric = "val_accuracy" if data.task == "classification" else "val_rmse"
    maximize = data.task == "classification"
    cap = EpochCap(budget)

    class Report(keras.callbacks.Callback):
        def __init__(self, trial: Any) -> None:
            super().__init__()
            self.trial = trial

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if cap.reached():   # the cap callback (before this one) stopped it: the trial completes
                return
            self.trial.report(float(logs[metric]), epoch)
            if self.trial.should_prune():
                raise optuna.TrialPruned()

    def objective(trial: Any) -> float:
        keras.backend.clear_session()
        p = {"n_hidden": trial.suggest_int("n_hidden", 1, 4),
             "n_neurons": trial.suggest_int("n_neurons", 16, 256, log=True),
             "learning_rate": trial.suggest_float("learning_rate", 1e-4, 0.3, log=True),
             **{k: trial.suggest_categorical(k, SPACE[k]["choice"]) for k in ("activation", "optimizer", "batch_size")},
             "dropout": 0.0}
        model = wb.keras_model(keras, p, data)
        stop = keras.callbacks.EarlyStopping(monitor=metric, mode="max" if maximize else "min", patience=PATIENCE,
                                             restore_best_weights=True)
        history = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                            batch_size=p["batch_size"], epochs=max_epochs,
                            callbacks=[keras_cap(keras, cap), Report(trial), stop], verbose=0)
        value = best_of(data.task, history.history[metric])
        if value is None:
            raise optuna.TrialPruned()
        return value

    study = optuna.create_study(direction="maximize" if maximize else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed), pruner=optuna.pruners.MedianPruner())
    study.optimize(objective, n_trials=100_000, catch=(Exception,),
                   callbacks=[lambda study, trial: study.stop() if cap.reached() else None])
    done = [t.value for t in study.trials if t.state.name == "COMPLETE"]
    return {"best_val": best_of(data.task, done), "epochs": cap.epochs, "trials": cap.trials}


def run_keras_tuner(data: Any, budget: int, max_epochs: int, seed: int, folder: str) -> dict:
    """``wb.run_keras_tuner`` (RandomSearch) with an epoch budget and no dropout."""
    import keras
    import keras_tuner as kt

    metric = "val_accuracy" if data.task == "classification" else "val_rmse"
    maximize = data.task == "classification"
    cap = EpochCap(budget)

    class MLP(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            p = {"n_hidden": hp.Int("n_hidden", 1, 4), "n_neurons": hp.Int("n_neurons", 16, 256, sampling="log"),
                 "learning_rate": hp.Float("learning_rate", 1e-4, 0.3, sampling="log"),
                 "activation": hp.Choice("activation", SPACE["activation"]["choice"]),
                 "optimizer": hp.Choice("optimizer", SPACE["optimizer"]["choice"]), "dropout": 0.0}
            return wb.keras_model(keras, p, data)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return model.fit(*args, batch_size=hp.Choice("batch_size", SPACE["batch_size"]["choice"]), **kwargs)

    tuner = kt.RandomSearch(MLP(), objective=kt.Objective(metric, "max" if maximize else "min"), seed=seed,
                            directory=folder, project_name="random", overwrite=True, max_trials=100_000)
    create_trial = tuner.oracle.create_trial

    def create_or_stop(*args: Any, **kwargs: Any) -> Any:
        if cap.reached():
            tuner.oracle.max_trials = len(tuner.oracle.trials)   # the oracle then answers STOPPED
        return create_trial(*args, **kwargs)

    tuner.oracle.create_trial = create_or_stop
    stop = keras.callbacks.EarlyStopping(monitor=metric, mode="max" if maximize else "min", patience=PATIENCE)
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=max_epochs,
                 callbacks=[keras_cap(keras, cap), stop], verbose=0)
    best = tuner.oracle.get_best_trials(1)
    return {"best_val": float(best[0].score) if best else None, "epochs": cap.epochs, "trials": cap.trials}


def run_sklearn(data: Any, budget: int, max_epochs: int, seed: int) -> dict:
    """``wb.run_sklearn`` with an epoch budget: each fit's ``n_iter_`` counts, the last fit gets the epochs left."""
    rng = np.random.default_rng(seed)
    best, epochs, trials = None, 0, 0
    while epochs < budget:
        model = wb.sklearn_model(data, rng, min(max_epochs, budget - epochs), PATIENCE, seed + trials)
        trials += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model.fit(data.x_train, data.y_train)
                pred = model.predict(data.x_val)
            except (ValueError, FloatingPointError):
                epochs += max(1, getattr(model, "n_iter_", 0))   # at least one: the loop always ends
                continue
        epochs += model.n_iter_
        value = wb.score(data.task, data.y_val, pred)
        if math.isfinite(value) and better(data.task, value, best):
            best = value
    return {"best_val": best, "epochs": epochs, "trials": trials}


# ---------------------------------------------------------------- tunecli


def run_tunecli(name: str, data: Any, budget: int, max_epochs: int, seed: int, folder: str) -> dict:
    """``run_search`` in process, stopped as by Ctrl-C when the epochs reach the budget."""
    import signal

    from tunecli import interrupt
    from tunecli.config.space import validate_space
    from tunecli.search import context
    from tunecli.search.run import run_search
    from tunecli.trainers.fast import compile as fast_compile
    from tunecli.trainers.fast import loop

    raw = {"study": f"{name}-{seed}", "data": wb.data_spec(name, seed), "objective": "auto",
           "search": {"trials": 100_000, "seed": seed, "rerank": {"top": 0}},
           "training": {"max_epochs": max_epochs, "early_stopping": {"patience": PATIENCE}, "recycle_after": 0},
           "space": SPACE}
    metric = "val_accuracy" if data.task == "classification" else "val_rmse"
    cap = EpochCap(budget)
    trial = {"epoch_s": 0.0, "best": None}
    clock = {"epochs": 0.0, "overheads": []}
    original_epoch, original_trial = loop.Run.epoch, context.run_trial

    def epoch(run: Any, idx: Any) -> dict[str, float]:
        start = time.perf_counter()
        logs = original_epoch(run, idx)
        took = time.perf_counter() - start
        trial["epoch_s"] += took
        clock["epochs"] += took
        if better(data.task, logs[metric], trial["best"]) and math.isfinite(logs[metric]):
            trial["best"] = logs[metric]
        if cap.tick():
            interrupt.request(signal.SIGINT)   # the trial stops at this epoch's end, the search after it
        return logs

    def run_trial(*args: Any, **kwargs: Any) -> Any:
        trial.update(epoch_s=0.0, best=None)
        cap.trials += 1
        start = time.perf_counter()
        try:
            return original_trial(*args, **kwargs)
        finally:
            clock["overheads"].append(time.perf_counter() - start - trial["epoch_s"])

    before = set(fast_compile.EXECUTABLES)
    loop.Run.epoch, context.run_trial = epoch, run_trial
    here = os.getcwd()
    os.chdir(folder)
    try:
        start = time.perf_counter()
        outcome = run_search(validate_space(raw), quiet=True, best_out=Path(folder) / "best.yaml")
        wall = time.perf_counter() - start
    finally:
        os.chdir(here)
        loop.Run.epoch, context.run_trial = original_epoch, original_trial
        interrupt.reset()   # the next search in this process starts with no stop request
    compiled = [key for key in fast_compile.EXECUTABLES if key not in before]
    kept = [r["value"] for r in outcome.rows if r.get("state") in ("COMPLETE", "PRUNED")]
    return {"best_val": best_of(data.task, kept), "epochs": cap.epochs, "trials": cap.trials, "wall_s": round(wall, 2),
            "cut_val": trial["best"] if outcome.interrupted else None, "interrupted": outcome.interrupted,
            "compiled": len(compiled), "by_kind": dict(collections.Counter(key[0] for key in compiled)),
            "median_overhead_s": round(statistics.median(clock["overheads"]), 3) if clock["overheads"] else None,
            "epoch_s_total": round(clock["epochs"], 2)}


# ---------------------------------------------------------------- a job, the driver


def run_job(tool: str, name: str, seed: int, budget: int) -> dict:
    """One (tool, data set, seed) in this process: one JSON row on stdout."""
    row: dict[str, Any] = {"tool": tool, "data": name, "seed": seed, "budget_epochs": budget}
    with tempfile.TemporaryDirectory() as folder:
        if tool.startswith("tunecli"):
            os.environ["TUNECLI_CACHE_DIR"] = tempfile.mkdtemp(dir=folder)   # cold: an empty compile cache
        sys.path.insert(0, BEFORE if tool == "tunecli-before" and BEFORE else str(ROOT))
        from tunecli.config.space import DataSpec
        from tunecli.data import load_data
        from tunecli.runtime import init_backend

        max_epochs = MAX_EPOCHS[name]
        try:
            init_backend(None)
            data = load_data(DataSpec(**wb.data_spec(name, seed)))
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
                out = (run_optuna(data, budget, max_epochs, seed) if tool == "optuna" else
                       run_sklearn(data, budget, max_epochs, seed) if tool == "sklearn" else
                       run_keras_tuner(data, budget, max_epochs, seed, folder))
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
            done.append({**r, "tool": "tunecli +cut", "best_val": best_of(r["task"], [r["best_val"], r.get("cut_val")])})
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
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "compile_goals.jsonl"))
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
        names = [n for n in args.data if wb.available(n)]
        os.environ["COMPILE_GOALS_BUDGETS"] = json.dumps(BUDGETS)
        wb.__file__ = __file__   # wb.drive starts `python <wb.__file__> --job NAME SEED`: this file's jobs
        wb.drive(jobs(names, range(args.first_seed, args.first_seed + args.seeds), args.tools), args.parallel,
                 args.cores, Path(args.out))
    print(summarize([json.loads(line) for line in open(args.out) if line.strip()]))


if __name__ == "__main__":
    main()
