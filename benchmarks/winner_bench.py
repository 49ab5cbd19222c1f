"""Which tool hands over the best model on unseen data, given the same minutes?

    python benchmarks/winner_bench.py                               # all data sets, 10 seeds, one job at a time
    python benchmarks/winner_bench.py --data digits --seeds 3 --budget digits=20
    python benchmarks/winner_bench.py --parallel 14 --cores 1       # jobs side by side, each pinned to its cores
    python benchmarks/winner_bench.py --summarize results/winner.jsonl

One job is one (data set, seed): the seed draws the split (train / validation / test, the same for every tool)
and seeds every search. In one process the job runs each tool in turn (the order rotates with the seed) with the
same wall-clock budget, the same wide space, epoch cap and patience:

- tunecli: ``search`` with ``search.timeout`` = 60 % of the budget and its defaults (TPE, median pruner,
  re-ranking of the top 5 over 3 runs), cold (empty compile cache), then ``train`` on the best YAML, which
  scores two models once on the test split: the refit on train + validation (``refit``, what ``--output``
  saves) and the model the search kept (``kept``, what ``--from-search`` saves). Its wall includes the train.
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
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TUNECLI_BENCH_DATA", ROOT.parent / "shared" / "data"))
TOOLS = ["tunecli", "kt-random", "kt-bayesian", "optuna", "sklearn"]
BUDGETS = {"digits": 20.0, "breast_cancer": 10.0, "housing": 20.0, "mnist": 40.0}   # seconds per tool
MAX_EPOCHS = {"digits": 100, "breast_cancer": 100, "housing": 100, "mnist": 30}
PATIENCE = 5
TUNECLI_SEARCH_SHARE = 0.6   # of the budget: the rest is for re-ranking and the train

#: The space every tool searches (tunecli's YAML; the peers' code below spells the same ranges).
SPACE = {
    "n_hidden": {"int": [1, 4]},
    "n_neurons": {"int": [16, 256], "log": True},
    "learning_rate": {"float": [1e-4, 0.3], "log": True},
    "activation": {"choice": ["relu", "elu", "selu", "tanh", "swish"]},
    "optimizer": {"choice": ["sgd", "momentum", "nesterov", "rmsprop", "adam", "nadam"]},
    "batch_size": {"choice": [16, 32, 64, 128]},
    "dropout": {"float": [0.0, 0.3]},
}


def data_spec(name: str, seed: int) -> dict:
    source = {"digits": "digits", "breast_cancer": "breast_cancer", "housing": str(SHARED / "housing.csv"),
              "mnist": str(SHARED / "mnist_20k")}[name]
    spec = {"source": source, "seed": seed, "validation": 0.2, "test": 0.2}
    if name == "housing":
        spec.update(target="median_house_value", target_scale=100000)
    return spec


def available(name: str) -> bool:
    return name in ("digits", "breast_cancer") or SHARED.is_dir()


# ---------------------------------------------------------------- scoring


def score(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    """accuracy of class probabilities (or labels), or RMSE of values."""
    if task == "classification":
        labels = pred.argmax(axis=1) if pred.ndim == 2 else pred
        return float((labels == y).mean())
    return float(np.sqrt(((pred.reshape(len(y)) - y) ** 2).mean()))


def optimism(task: str, val: float, test: float) -> float:
    """How much better the validation score looked than the test score (positive: optimistic)."""
    return val - test if task == "classification" else test - val


# ---------------------------------------------------------------- the Keras peers


def sample_optuna(trial: Any) -> dict:
    return {"n_hidden": trial.suggest_int("n_hidden", 1, 4),
            "n_neurons": trial.suggest_int("n_neurons", 16, 256, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 0.3, log=True),
            "activation": trial.suggest_categorical("activation", SPACE["activation"]["choice"]),
            "optimizer": trial.suggest_categorical("optimizer", SPACE["optimizer"]["choice"]),
            "batch_size": trial.suggest_categorical("batch_size", SPACE["batch_size"]["choice"]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.3)}


def keras_model(keras: Any, p: dict, data: Any) -> Any:
    """A plain Sequential MLP as the book builds one (He init for ReLU-like, LeCun for SELU, Glorot for tanh)."""
    init = {"selu": "lecun_normal", "tanh": "glorot_uniform"}.get(p["activation"], "he_normal")
    layers = [keras.Input((data.n_features,))]
    for _ in range(p["n_hidden"]):
        layers.append(keras.layers.Dense(p["n_neurons"], activation=p["activation"], kernel_initializer=init))
        if p["dropout"] > 0:
            layers.append(keras.layers.Dropout(p["dropout"]))
    lr = p["learning_rate"]
    optimizer = {"sgd": lambda: keras.optimizers.SGD(lr), "momentum": lambda: keras.optimizers.SGD(lr, momentum=0.9),
                 "nesterov": lambda: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
                 "rmsprop": lambda: keras.optimizers.RMSprop(lr), "adam": lambda: keras.optimizers.Adam(lr),
                 "nadam": lambda: keras.optimizers.Nadam(lr)}[p["optimizer"]]()
    if data.task == "classification":
        layers.append(keras.layers.Dense(data.n_classes, activation="softmax"))
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        layers.append(keras.layers.Dense(1))
        loss, metrics = "mse", [keras.metrics.RootMeanSquaredError(name="rmse")]
    model = keras.Sequential(layers)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model


def run_optuna(data: Any, budget: float, max_epochs: int, seed: int) -> dict:
    """optuna-examples' Keras example (TPE + MedianPruner), the best trial's model kept."""
    import keras
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric = "val_accuracy" if data.task == "classification" else "val_rmse"
    maximize = data.task == "classification"
    kept: dict = {}

    class Report(keras.callbacks.Callback):
        def __init__(self, trial: Any) -> None:
            super().__init__()
            self.trial = trial

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.trial.report(float(logs[metric]), epoch)
            if self.trial.should_prune():
                raise optuna.TrialPruned()

    def objective(trial: Any) -> float:
        keras.backend.clear_session()
        p = sample_optuna(trial)
        model = keras_model(keras, p, data)
        stop = keras.callbacks.EarlyStopping(monitor=metric, mode="max" if maximize else "min", patience=PATIENCE,
                                             restore_best_weights=True)
        history = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                            batch_size=p["batch_size"], epochs=max_epochs, callbacks=[Report(trial), stop], verbose=0)
        values = [v for v in history.history[metric] if np.isfinite(v)]
        if not values:
            raise optuna.TrialPruned()
        value = max(values) if maximize else min(values)
        best = kept.get("value")
        if best is None or (value > best if maximize else value < best):
            kept.update(value=value, model=model)
        return value

    study = optuna.create_study(direction="maximize" if maximize else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed), pruner=optuna.pruners.MedianPruner())
    study.optimize(objective, timeout=budget, catch=(Exception,))
    test = score(data.task, data.y_test, kept["model"].predict(data.x_test, verbose=0))
    return {"val": kept["value"], "test": test, "trials": len(study.trials)}


def run_keras_tuner(algorithm: str, data: Any, budget: float, max_epochs: int, seed: int, folder: str) -> dict:
    """Keras Tuner as its docs show it; no trial starts after the budget; ``get_best_models(1)[0]``."""
    import keras
    import keras_tuner as kt

    metric = "val_accuracy" if data.task == "classification" else "val_rmse"
    maximize = data.task == "classification"

    class MLP(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            p = {"n_hidden": hp.Int("n_hidden", 1, 4), "n_neurons": hp.Int("n_neurons", 16, 256, sampling="log"),
                 "learning_rate": hp.Float("learning_rate", 1e-4, 0.3, sampling="log"),
                 "activation": hp.Choice("activation", SPACE["activation"]["choice"]),
                 "optimizer": hp.Choice("optimizer", SPACE["optimizer"]["choice"]),
                 "dropout": hp.Float("dropout", 0.0, 0.3)}
            return keras_model(keras, p, data)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return model.fit(*args, batch_size=hp.Choice("batch_size", SPACE["batch_size"]["choice"]), **kwargs)

    objective = kt.Objective(metric, "max" if maximize else "min")
    common = {"objective": objective, "seed": seed, "directory": folder, "project_name": algorithm,
              "overwrite": True, "max_trials": 100_000}
    tuner = (kt.BayesianOptimization if algorithm == "bayesian" else kt.RandomSearch)(MLP(), **common)
    deadline = time.perf_counter() + budget
    create_trial = tuner.oracle.create_trial

    def create_or_stop(*args: Any, **kwargs: Any) -> Any:
        if time.perf_counter() >= deadline:
            tuner.oracle.max_trials = len(tuner.oracle.trials)   # the oracle then answers STOPPED
        return create_trial(*args, **kwargs)

    tuner.oracle.create_trial = create_or_stop
    stop = keras.callbacks.EarlyStopping(monitor=metric, mode="max" if maximize else "min", patience=PATIENCE)
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=max_epochs,
                 callbacks=[stop], verbose=0)
    best = tuner.oracle.get_best_trials(1)[0]
    model = tuner.get_best_models(1)[0]
    test = score(data.task, data.y_test, model.predict(data.x_test, verbose=0))
    return {"val": float(best.score), "test": test, "trials": len(tuner.oracle.trials)}


def sklearn_model(data: Any, rng: np.random.Generator, max_iter: int, patience: int, random_state: int) -> Any:
    """One scikit-learn MLP drawn from the options it has of the space (activations relu / tanh / logistic,
    solvers sgd / adam), unfitted."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    optimizer = str(rng.choice(SPACE["optimizer"]["choice"]))
    cls = MLPClassifier if data.task == "classification" else MLPRegressor
    return cls(hidden_layer_sizes=(int(np.exp(rng.uniform(np.log(16), np.log(256)))),) * int(rng.integers(1, 5)),
               activation=str(rng.choice(["relu", "tanh", "logistic"])),
               solver="sgd" if optimizer in ("sgd", "momentum", "nesterov") else "adam",
               learning_rate_init=float(np.exp(rng.uniform(np.log(1e-4), np.log(0.3)))),
               momentum=0.0 if optimizer == "sgd" else 0.9, nesterovs_momentum=optimizer == "nesterov",
               batch_size=int(rng.choice(SPACE["batch_size"]["choice"])), max_iter=max_iter,
               n_iter_no_change=patience, random_state=random_state)


def run_sklearn(data: Any, budget: float, max_epochs: int, seed: int) -> dict:
    """scikit-learn's MLP, random search over the options it has; the best model on validation kept."""
    rng = np.random.default_rng(seed)
    best: dict = {}
    deadline = time.perf_counter() + budget
    trials = 0
    while time.perf_counter() < deadline:
        model = sklearn_model(data, rng, max_epochs, PATIENCE, seed + trials)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model.fit(data.x_train, data.y_train)
                pred = model.predict(data.x_val)
            except (ValueError, FloatingPointError):
                trials += 1
                continue
        trials += 1
        value = float((pred == data.y_val).mean()) if data.task == "classification" else \
            float(np.sqrt(((pred - data.y_val) ** 2).mean()))
        if not np.isfinite(value):
            continue
        if not best or (value > best["val"] if data.task == "classification" else value < best["val"]):
            best = {"val": value, "model": model}
    test = score(data.task, data.y_test, best["model"].predict(data.x_test))
    return {"val": best["val"], "test": test, "trials": trials}


# ---------------------------------------------------------------- tunecli


def run_tunecli(name: str, data: Any, budget: float, max_epochs: int, seed: int, folder: str) -> list[dict]:
    """``tunecli search`` then ``tunecli train`` (in process): two rows, the refit and the kept model."""
    from tunecli.config.space import load_space, validate_space
    from tunecli.search.run import run_search
    from tunecli.train import train_best

    raw = {"study": f"{name}-{seed}", "data": data_spec(name, seed), "objective": "auto",
           "search": {"trials": 100_000, "timeout": round(budget * TUNECLI_SEARCH_SHARE, 1), "seed": seed},
           "training": {"max_epochs": max_epochs, "early_stopping": {"patience": PATIENCE}},
           "space": SPACE}
    os.environ["TUNECLI_CACHE_DIR"] = tempfile.mkdtemp(dir=folder)   # cold: an empty compile cache
    here = os.getcwd()
    os.chdir(folder)
    try:
        start = time.perf_counter()
        outcome = run_search(validate_space(raw), quiet=True, best_out=Path(folder) / "best.yaml")
        searched = time.perf_counter() - start
        best_space = load_space(outcome.best_path)
        trained = train_best(best_space, output=Path(folder) / "model.keras", seed=seed)
        wall = time.perf_counter() - start
    finally:
        os.chdir(here)
    val = float(outcome.best["value"])
    rows = [{"tool": "tunecli", "model": "refit", "val": val, "test": trained.test_score}]
    if trained.kept is not None:
        rows.append({"tool": "tunecli-kept", "model": "kept", "val": val, "test": trained.kept.test_score})
    counted = [r for r in outcome.rows if r.get("state") in ("COMPLETE", "PRUNED", "FAIL")]
    for row in rows:
        row.update(trials=len(counted), wall=round(wall, 2), search_wall=round(searched, 2),
                   reranked=outcome.reranked)
    return rows


# ---------------------------------------------------------------- a job, the driver


def run_job(name: str, seed: int) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from tunecli.config.space import DataSpec
    from tunecli.data import load_data
    from tunecli.runtime import init_backend

    init_backend(None)
    import keras

    data = load_data(DataSpec(**data_spec(name, seed)))
    budget, max_epochs = BUDGETS[name], MAX_EPOCHS[name]
    order = TOOLS[seed % len(TOOLS):] + TOOLS[:seed % len(TOOLS)]
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
                    out = (run_optuna(data, budget, max_epochs, seed) if tool == "optuna" else
                           run_sklearn(data, budget, max_epochs, seed) if tool == "sklearn" else
                           run_keras_tuner(tool[3:], data, budget, max_epochs, seed, folder))
                    found = [{"tool": tool, **out, "wall": round(time.perf_counter() - start, 2)}]
            except Exception as exc:  # noqa: BLE001 - a failing tool is a row, the job goes on
                found = [{"tool": tool, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}]
        for row in found:
            row.update(data=name, seed=seed, budget=budget, task=data.task)
            if "test" in row:
                row["optimism"] = optimism(data.task, row["val"], row["test"])
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def _pin(index: int, cores: int) -> None:
    """Pin this (child) process to its own ``cores`` CPUs (job ``index``)."""
    first = index * cores
    os.sched_setaffinity(0, set(range(first, first + cores)))


def drive(jobs: list[tuple[str, int]], parallel: int, cores: int, out: Path) -> None:
    """Run the jobs, ``parallel`` at a time, each in its own process pinned to ``cores`` CPUs."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": str(cores),
           "OPENBLAS_NUM_THREADS": str(cores), "MKL_NUM_THREADS": str(cores), "PYTHONUNBUFFERED": "1"}
    waiting = list(jobs)
    running: dict[int, tuple[subprocess.Popen, Any]] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as sink:
        while waiting or running:
            for slot in [s for s in range(parallel) if s not in running][:len(waiting)]:
                name, seed = waiting.pop(0)
                log = tempfile.TemporaryFile("w+")
                proc = subprocess.Popen([sys.executable, __file__, "--job", name, str(seed)], stdout=log,
                                        stderr=subprocess.DEVNULL, env=env,
                                        preexec_fn=(lambda s=slot: _pin(s, cores)) if parallel > 1 else None)
                running[slot] = (proc, log)
            time.sleep(0.5)
            for slot, (proc, log) in list(running.items()):
                if proc.poll() is None:
                    continue
                log.seek(0)
                for line in log:
                    if line.startswith("{"):
                        sink.write(line)
                        sink.flush()
                        print(line.strip(), flush=True)
                log.close()
                del running[slot]


# ---------------------------------------------------------------- the table


def summarize(rows: list[dict]) -> str:
    tools = TOOLS[:1] + ["tunecli-kept"] + TOOLS[1:]
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; rows: {len(rows)}", "",
             "| data | budget s | tool | seeds | test median | test IQR | optimism median | optimism IQR | "
             "val median | trials median | wall median s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in BUDGETS:
        for tool in tools:
            rs = [r for r in rows if r["data"] == name and r["tool"] == tool and "test" in r]
            if not rs:
                continue
            test, opt = np.array([r["test"] for r in rs]), np.array([r["optimism"] for r in rs])
            (t1, t3), (o1, o3) = np.percentile(test, [25, 75]), np.percentile(opt, [25, 75])
            lines.append(f"| {name} | {rs[0]['budget']:g} | {tool} | {len(rs)} | {np.median(test):.4f} | "
                         f"{t1:.4f}–{t3:.4f} | {np.median(opt):+.4f} | {o1:+.4f}–{o3:+.4f} | "
                         f"{np.median([r['val'] for r in rs]):.4f} | {np.median([r['trials'] for r in rs]):.0f} | "
                         f"{np.median([r['wall'] for r in rs]):.1f} |")
    return "\n".join(lines + failed_runs(rows))


def failed_runs(rows: list[dict]) -> list[str]:
    """Lines naming the jobs that failed (their ``error``), after a blank line; none when all ran."""
    errors = [r for r in rows if "error" in r]
    if not errors:
        return []
    return ["", f"{len(errors)} failed runs:"] + [f"- {r['data']} {r['seed']} {r['tool']}: {r['error']}" for r in errors]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", default=list(BUDGETS), choices=list(BUDGETS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budget", nargs="*", default=[], help="data=seconds, e.g. digits=20")
    parser.add_argument("--parallel", type=int, default=1, help="jobs at a time")
    parser.add_argument("--cores", type=int, default=2, help="CPUs each job is pinned to (with --parallel > 1)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "winner.jsonl"))
    parser.add_argument("--only", nargs="*", default=[], metavar="DATA:SEED", help="run just these jobs")
    parser.add_argument("--summarize", metavar="JSONL")
    parser.add_argument("--job", nargs=2, metavar=("DATA", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    BUDGETS.update(json.loads(os.environ.get("TUNECLI_BENCH_BUDGETS", "{}")))   # a job: its driver's budgets
    BUDGETS.update({k: float(v) for k, v in (item.split("=") for item in args.budget)})
    if args.job:
        run_job(args.job[0], int(args.job[1]))
        return
    if args.summarize:
        print(summarize([json.loads(line) for line in open(args.summarize) if line.strip()]))
        return
    names = [n for n in args.data if available(n)]
    jobs = [(n, s) for n in names for s in range(args.first_seed, args.first_seed + args.seeds)]
    if args.only:
        jobs = [(name, int(seed)) for name, seed in (item.split(":") for item in args.only)]
    jobs = sorted(jobs,
                  key=lambda job: -BUDGETS[job[0]])   # the longest jobs first
    os.environ["TUNECLI_BENCH_BUDGETS"] = json.dumps(BUDGETS)
    drive(jobs, args.parallel, args.cores, Path(args.out))
    print(summarize([json.loads(line) for line in open(args.out) if line.strip()]))


if __name__ == "__main__":
    main()
