"""The peers, written once, the way their own documentation shows: plain Optuna, Keras Tuner, scikit-learn's MLP.

Every benchmark that sets tunecli beside them uses these runners; what differs between benchmarks is the
space (a dict in tunecli's YAML form, ``SMALL_SPACE`` or ``WIDE_SPACE``) and the ``Budget``: a number of
trials, seconds of wall clock (no trial starts after them), or epochs of all the trials together (the trial
that reaches the cap stops at that epoch's end, and no trial starts after it).

- ``optuna_search``: optuna-examples' Keras example, TPE + MedianPruner, a callback that reports each epoch.
- ``keras_tuner_search``: a ``kt.HyperModel`` with ``fit`` overridden to tune the batch size, as its docs show.
- ``sklearn_search``: ``MLPClassifier`` / ``MLPRegressor`` random search over the options it has of the space
  (activations relu / tanh / logistic, solvers sgd / adam).

Each returns a dict: ``best_value`` (the best validation score, None when no trial finished), ``best_params``,
``trials`` (as the tool counts them), ``started`` (trials that started training), ``epochs`` (all epochs
trained), ``fit_seconds`` (seconds inside the fits that ended, Optuna and Keras Tuner) and ``best_model`` (a
function that returns the best trial's model).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import SHARED

#: The first benchmarks' space: n_hidden 1-3, n_neurons 16-256 (log), learning_rate 1e-4..1e-1 (log), batch size
#: {32, 64, 128}, activation relu / elu / selu, dropout 0-0.3; Adam.
SMALL_SPACE = {
    "n_hidden": {"int": [1, 3]}, "n_neurons": {"int": [16, 256], "log": True},
    "learning_rate": {"float": [1e-4, 1e-1], "log": True}, "batch_size": {"choice": [32, 64, 128]},
    "activation": {"choice": ["relu", "elu", "selu"]}, "dropout": {"float": [0.0, 0.3]},
}
#: The wide space of the later benchmarks (as wide as users' spaces, not one where programs happen to repeat).
WIDE_SPACE = {
    "n_hidden": {"int": [1, 4]},
    "n_neurons": {"int": [16, 256], "log": True},
    "learning_rate": {"float": [1e-4, 0.3], "log": True},
    "activation": {"choice": ["relu", "elu", "selu", "tanh", "swish"]},
    "optimizer": {"choice": ["sgd", "momentum", "nesterov", "rmsprop", "adam", "nadam"]},
    "batch_size": {"choice": [16, 32, 64, 128]},
    "dropout": {"float": [0.0, 0.3]},
}
SKLEARN_ACTIVATIONS = ["relu", "tanh", "logistic"]


# ---------------------------------------------------------------- data


def data_spec(name: str, seed: int | None = None) -> dict:
    """tunecli's ``data`` section for a benchmark data set; with ``seed``, the split it draws (60/20/20)."""
    source = {"digits": "digits", "breast_cancer": "breast_cancer", "housing": str(SHARED / "housing.csv"),
              "mnist": str(SHARED / "mnist_20k")}[name]
    spec: dict[str, Any] = {"source": source}
    if seed is not None:
        spec.update(seed=seed, validation=0.2, test=0.2)
    if name == "housing":
        spec.update(target="median_house_value", target_scale=100000)
    return spec


def available(name: str) -> bool:
    """Whether the data set is here (the built-in ones always are)."""
    return name in ("digits", "breast_cancer") or SHARED.is_dir()


def metric_of(task: str) -> str:
    """The validation metric every tool optimizes: accuracy (maximized) or RMSE (minimized)."""
    return "val_accuracy" if task == "classification" else "val_rmse"


def score(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    """Accuracy of class probabilities (or labels), or RMSE of values."""
    if task == "classification":
        labels = pred.argmax(axis=1) if pred.ndim == 2 else pred
        return float((labels == y).mean())
    return float(np.sqrt(((pred.reshape(len(y)) - y) ** 2).mean()))


def better(task: str, a: float, b: float | None) -> bool:
    return b is None or (a > b if task == "classification" else a < b)


def best_of(task: str, values: list[float | None]) -> float | None:
    """The best finite value (None when there is none)."""
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return (max(kept) if task == "classification" else min(kept)) if kept else None


# ---------------------------------------------------------------- budget


class Budget:
    """When a peer's search stops, and what it spent.

    Args:
        trials: at most this many trials.
        seconds: no trial starts after this many seconds (from ``start``).
        epochs: the epochs of all trials together; the trial that reaches it stops at that epoch's end.
    """

    def __init__(self, *, trials: int | None = None, seconds: float | None = None, epochs: int | None = None) -> None:
        self.trials, self.seconds, self.epochs = trials, seconds, epochs
        self.started, self.spent, self.fit_seconds = 0, 0, 0.0
        self.deadline: float | None = None

    def start(self) -> None:
        self.deadline = None if self.seconds is None else time.perf_counter() + self.seconds

    def capped(self) -> bool:
        """The epoch cap is reached."""
        return self.epochs is not None and self.spent >= self.epochs

    def timed_out(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline

    def over(self) -> bool:
        """No new trial may start."""
        return self.capped() or self.timed_out() or (self.trials is not None and self.started >= self.trials)

    def epochs_left(self, max_epochs: int) -> int:
        return max_epochs if self.epochs is None else min(max_epochs, self.epochs - self.spent)

    def fit(self, model: Any, *args: Any, **kwargs: Any) -> Any:
        """``model.fit``, its seconds counted when it ends (a pruned trial's fit raises and is not counted)."""
        start = time.perf_counter()
        history = model.fit(*args, **kwargs)
        self.fit_seconds += time.perf_counter() - start
        return history

    def callback(self, keras: Any) -> Any:
        """A Keras callback that counts trials and epochs here and stops the training at the epoch cap. The
        counts live in this object, not in the callback: Keras Tuner deep-copies the callbacks of every trial."""
        budget = self

        class Count(keras.callbacks.Callback):
            def on_train_begin(self, logs: dict | None = None) -> None:
                budget.started += 1

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                budget.spent += 1
                if budget.capped():
                    self.model.stop_training = True

        return Count()

    def figures(self) -> dict:
        return {"started": self.started, "epochs": self.spent, "fit_seconds": round(self.fit_seconds, 3)}


# ---------------------------------------------------------------- the Keras peers


def optuna_params(trial: Any, space: dict) -> dict:
    """The configuration an Optuna trial suggests from ``space`` (tunecli's YAML form), in the space's order."""
    p: dict[str, Any] = {}
    for name, spec in space.items():
        if not isinstance(spec, dict):
            p[name] = spec
        elif "choice" in spec:
            p[name] = trial.suggest_categorical(name, spec["choice"])
        elif "int" in spec:
            p[name] = trial.suggest_int(name, *spec["int"], log=spec.get("log", False))
        else:
            p[name] = trial.suggest_float(name, *spec["float"], log=spec.get("log", False))
    return p


def keras_tuner_param(hp: Any, name: str, spec: Any) -> Any:
    """One value a Keras Tuner ``hp`` draws from a space entry (tunecli's YAML form)."""
    if not isinstance(spec, dict):
        return spec
    if "choice" in spec:
        return hp.Choice(name, spec["choice"])
    sampling = "log" if spec.get("log") else "linear"
    if "int" in spec:
        return hp.Int(name, *spec["int"], sampling=sampling)
    return hp.Float(name, *spec["float"], sampling=sampling)


def keras_model(keras: Any, p: dict, data: Any) -> Any:
    """A plain Sequential MLP as the book builds one (He init for ReLU-like, LeCun for SELU, Glorot for tanh);
    Adam unless ``p`` names another optimizer, no dropout unless it names some."""
    init = {"selu": "lecun_normal", "tanh": "glorot_uniform"}.get(p["activation"], "he_normal")
    layers = [keras.Input((data.n_features,))]
    for _ in range(p["n_hidden"]):
        layers.append(keras.layers.Dense(p["n_neurons"], activation=p["activation"], kernel_initializer=init))
        if p.get("dropout", 0.0) > 0:
            layers.append(keras.layers.Dropout(p["dropout"]))
    lr = p["learning_rate"]
    optimizer = {"sgd": lambda: keras.optimizers.SGD(lr), "momentum": lambda: keras.optimizers.SGD(lr, momentum=0.9),
                 "nesterov": lambda: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
                 "rmsprop": lambda: keras.optimizers.RMSprop(lr), "adam": lambda: keras.optimizers.Adam(lr),
                 "nadam": lambda: keras.optimizers.Nadam(lr)}[p.get("optimizer", "adam")]()
    if data.task == "classification":
        layers.append(keras.layers.Dense(data.n_classes, activation="softmax"))
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        layers.append(keras.layers.Dense(1))
        loss, metrics = "mse", [keras.metrics.RootMeanSquaredError(name="rmse")]
    model = keras.Sequential(layers)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model


def early_stopping(keras: Any, task: str, patience: int, restore: bool = False) -> Any:
    return keras.callbacks.EarlyStopping(monitor=metric_of(task), mode="max" if task == "classification" else "min",
                                         patience=patience, restore_best_weights=restore)


def optuna_search(data: Any, space: dict, budget: Budget, *, max_epochs: int, patience: int, seed: int,
                  restore_best: bool = False) -> dict:
    """optuna-examples' Keras example: TPE + MedianPruner, a per-epoch reporting callback; the best trial's model
    kept in memory (its best epoch's weights with ``restore_best``). A trial the epoch cap stops is not pruned: it
    completes with its best epoch's score, and the search stops."""
    import keras
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric = metric_of(data.task)
    kept: dict = {}

    class Report(keras.callbacks.Callback):
        def __init__(self, trial: Any) -> None:
            super().__init__()
            self.trial = trial

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if budget.capped():   # the counting callback (before this one) stopped it: the trial completes
                return
            self.trial.report(float(logs[metric]), epoch)
            if self.trial.should_prune():
                raise optuna.TrialPruned()

    def objective(trial: Any) -> float:
        keras.backend.clear_session()
        p = optuna_params(trial, space)
        model = keras_model(keras, p, data)
        callbacks = [budget.callback(keras), Report(trial), early_stopping(keras, data.task, patience, restore_best)]
        history = budget.fit(model, data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                             batch_size=p["batch_size"], epochs=max_epochs, callbacks=callbacks, verbose=0)
        value = best_of(data.task, history.history[metric])
        if value is None:
            raise optuna.TrialPruned()
        trial.set_user_attr("epochs", len(history.history[metric]))
        if better(data.task, value, kept.get("value")):
            kept.update(value=value, model=model)
        return value

    study = optuna.create_study(direction="maximize" if data.task == "classification" else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed), pruner=optuna.pruners.MedianPruner())
    budget.start()
    study.optimize(objective, n_trials=budget.trials, timeout=budget.seconds, catch=(Exception,),
                   callbacks=[lambda study, trial: study.stop() if budget.capped() else None])
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = max(done, key=lambda t: t.value) if data.task == "classification" and done else \
        min(done, key=lambda t: t.value) if done else None
    return {"best_value": best.value if best else None, "best_params": best.params if best else None,
            "trials": len(study.trials), **budget.figures(), "best_model": lambda: kept["model"]}


def keras_tuner_search(algorithm: str, data: Any, space: dict, budget: Budget, *, max_epochs: int, patience: int,
                       seed: int, folder: str) -> dict:
    """Keras Tuner (``random``, ``bayesian`` or ``hyperband``) as its docs show it; no trial starts once the
    budget's seconds or epochs are spent; the best model is ``get_best_models(1)[0]``."""
    import keras
    import keras_tuner as kt

    class MLP(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            p = {name: keras_tuner_param(hp, name, spec) for name, spec in space.items() if name != "batch_size"}
            return keras_model(keras, p, data)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return budget.fit(model, *args, batch_size=keras_tuner_param(hp, "batch_size", space["batch_size"]),
                              **kwargs)

    objective = kt.Objective(metric_of(data.task), "max" if data.task == "classification" else "min")
    common = {"objective": objective, "seed": seed, "directory": folder, "project_name": algorithm, "overwrite": True}
    if algorithm == "hyperband":
        tuner = kt.Hyperband(MLP(), max_epochs=max_epochs, factor=3, **common)
    else:
        tuner = (kt.BayesianOptimization if algorithm == "bayesian" else kt.RandomSearch)(
            MLP(), max_trials=budget.trials or 100_000, **common)
    create_trial = tuner.oracle.create_trial

    def create_or_stop(*args: Any, **kwargs: Any) -> Any:
        if budget.timed_out() or budget.capped():
            tuner.oracle.max_trials = len(tuner.oracle.trials)   # the oracle then answers STOPPED
        return create_trial(*args, **kwargs)

    tuner.oracle.create_trial = create_or_stop
    budget.start()
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=max_epochs,
                 callbacks=[budget.callback(keras), early_stopping(keras, data.task, patience)], verbose=0)
    best = tuner.oracle.get_best_trials(1)
    params = dict(best[0].hyperparameters.values) if best else {}
    return {"best_value": float(best[0].score) if best else None,
            "best_params": {k: v for k, v in params.items() if not k.startswith("tuner/")},
            "trials": len(tuner.oracle.trials), **budget.figures(), "best_model": lambda: tuner.get_best_models(1)[0]}


def run_peer(tool: str, data: Any, space: dict, budget: Budget, *, max_epochs: int, patience: int, seed: int,
             folder: str, restore_best: bool = False) -> dict:
    """One peer by its name in the benchmarks' tables: ``optuna``, ``sklearn``, or ``kt-`` and a Keras Tuner
    algorithm (``kt-random``, ``kt-bayesian``, ``kt-hyperband``); ``folder`` holds Keras Tuner's trials."""
    common = {"max_epochs": max_epochs, "patience": patience, "seed": seed}
    if tool == "optuna":
        return optuna_search(data, space, budget, restore_best=restore_best, **common)
    if tool == "sklearn":
        return sklearn_search(data, space, budget, **common)
    return keras_tuner_search(tool.removeprefix("kt-"), data, space, budget, folder=folder, **common)


# ---------------------------------------------------------------- scikit-learn


def sklearn_model(data: Any, rng: np.random.Generator, space: dict, max_iter: int, patience: int,
                  random_state: int) -> Any:
    """One scikit-learn MLP drawn from the options it has of ``space`` (its depth, width, learning rate and batch
    size ranges; activations relu / tanh / logistic; solver sgd for the SGD family, else adam), unfitted."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    optimizer = str(rng.choice(space["optimizer"]["choice"])) if isinstance(space.get("optimizer"), dict) else "adam"
    (n_lo, n_hi), (d_lo, d_hi), (lr_lo, lr_hi) = (space[k].get("int") or space[k]["float"]
                                                 for k in ("n_neurons", "n_hidden", "learning_rate"))
    cls = MLPClassifier if data.task == "classification" else MLPRegressor
    return cls(hidden_layer_sizes=(int(np.exp(rng.uniform(np.log(n_lo), np.log(n_hi)))),) * int(rng.integers(d_lo, d_hi + 1)),
               activation=str(rng.choice(SKLEARN_ACTIVATIONS)),
               solver="sgd" if optimizer in ("sgd", "momentum", "nesterov") else "adam",
               learning_rate_init=float(np.exp(rng.uniform(np.log(lr_lo), np.log(lr_hi)))),
               momentum=0.0 if optimizer == "sgd" else 0.9, nesterovs_momentum=optimizer == "nesterov",
               batch_size=int(rng.choice(space["batch_size"]["choice"])), max_iter=max_iter,
               n_iter_no_change=patience, random_state=random_state)


def sklearn_search(data: Any, space: dict, budget: Budget, *, max_epochs: int, patience: int, seed: int) -> dict:
    """scikit-learn's MLP, random search over the options it has; each fit's ``n_iter_`` counts as its epochs, and
    the fit that would cross an epoch cap gets ``max_iter`` = the epochs left; the best model on validation kept."""
    rng = np.random.default_rng(seed)
    best: dict = {}
    budget.start()
    while not budget.over():
        model = sklearn_model(data, rng, space, budget.epochs_left(max_epochs), patience, seed + budget.started)
        budget.started += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model.fit(data.x_train, data.y_train)
                pred = model.predict(data.x_val)
            except (ValueError, FloatingPointError):
                budget.spent += max(1, getattr(model, "n_iter_", 0))   # at least one: the loop always ends
                continue
        budget.spent += model.n_iter_
        value = score(data.task, data.y_val, pred)
        if math.isfinite(value) and better(data.task, value, best.get("value")):
            best = {"value": value, "model": model}
    params = best["model"].get_params() if best else {}
    return {"best_value": best.get("value"), "trials": budget.started, **budget.figures(), "fit_seconds": None,
            "best_params": {k: params[k] for k in ("hidden_layer_sizes", "activation", "solver", "learning_rate_init",
                                                   "batch_size") if k in params},
            "best_model": lambda: best["model"]}


def timed_search(raw: dict, folder: str) -> tuple[Any, float]:
    """``tunecli search`` of the space ``raw`` in process, run in ``folder`` (its journal and best file there):
    the outcome and its wall in seconds."""
    from tunecli.config.space import validate_space
    from tunecli.search.run import run_search

    here = os.getcwd()
    os.chdir(folder)
    try:
        start = time.perf_counter()
        outcome = run_search(validate_space(raw), quiet=True, best_out=Path(folder) / "best.yaml")
        return outcome, time.perf_counter() - start
    finally:
        os.chdir(here)
