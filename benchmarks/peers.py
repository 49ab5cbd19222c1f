"""The peers, written the way their own documentation shows, on one shared search space.

Each function runs one search and returns the common figures. Space (every tool):
n_hidden 1-3, n_neurons 16-256 (log), learning_rate 1e-4..1e-1 (log), batch_size {32, 64, 128},
activation {relu, elu, selu}, dropout 0-0.3; Adam; early stopping with patience 3.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

SPACE_YAML = {
    "n_hidden": {"int": [1, 3]}, "n_neurons": {"int": [16, 256], "log": True},
    "learning_rate": {"float": [1e-4, 1e-1], "log": True}, "batch_size": {"choice": [32, 64, 128]},
    "activation": {"choice": ["relu", "elu", "selu"]}, "dropout": {"float": [0.0, 0.3]},
}
PATIENCE = 3


def keras_model(keras: Any, p: dict, n_features: int, task: str, n_classes: int) -> Any:
    """The model every peer builds (a plain Sequential MLP, as the Keras docs write it)."""
    layers = [keras.Input((n_features,))]
    for _ in range(p["n_hidden"]):
        init = "lecun_normal" if p["activation"] == "selu" else "he_normal"
        layers.append(keras.layers.Dense(p["n_neurons"], activation=p["activation"], kernel_initializer=init))
        if p["dropout"]:
            layers.append(keras.layers.Dropout(p["dropout"]))
    if task == "classification":
        layers.append(keras.layers.Dense(n_classes, activation="softmax"))
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        layers.append(keras.layers.Dense(1))
        loss, metrics = "mse", [keras.metrics.RootMeanSquaredError(name="rmse")]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(p["learning_rate"]), loss=loss, metrics=metrics)
    return model


class Meter:
    """Counts epochs and the time spent inside fit, per trial."""

    def __init__(self) -> None:
        self.epochs = 0
        self.fit_seconds = 0.0
        self.trials = 0

    def fit(self, model: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        history = model.fit(*args, **kwargs)
        self.fit_seconds += time.perf_counter() - start
        self.epochs += len(history.history["loss"])
        self.trials += 1
        return history


def optuna_plain(data: Any, metric: str, budget: dict, seed: int) -> dict:
    """optuna-examples' Keras example: TPE + MedianPruner, a per-epoch reporting callback."""
    import keras
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    meter = Meter()
    maximize = metric.endswith("accuracy")

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
        p = {"n_hidden": trial.suggest_int("n_hidden", 1, 3), "n_neurons": trial.suggest_int("n_neurons", 16, 256, log=True),
             "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
             "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
             "activation": trial.suggest_categorical("activation", ["relu", "elu", "selu"]),
             "dropout": trial.suggest_float("dropout", 0.0, 0.3)}
        model = keras_model(keras, p, data.n_features, data.task, data.n_classes)
        stop = keras.callbacks.EarlyStopping(monitor=metric, mode="max" if maximize else "min", patience=PATIENCE)
        try:
            history = meter.fit(model, data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                                batch_size=p["batch_size"], epochs=budget["max_epochs"], callbacks=[Report(trial), stop],
                                verbose=0)
        except optuna.TrialPruned:
            meter.trials += 1
            raise
        values = history.history[metric]
        trial.set_user_attr("epochs", len(values))
        return max(values) if maximize else min(values)

    study = optuna.create_study(direction="maximize" if maximize else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed), pruner=optuna.pruners.MedianPruner())
    study.optimize(objective, n_trials=budget["trials"])
    return {"best_value": study.best_value, "best_params": study.best_params, "trials": len(study.trials),
            "meter": meter}


def keras_tuner(algorithm: str, data: Any, metric: str, budget: dict, seed: int, folder: str) -> dict:
    """Keras Tuner as its docs show: a HyperModel with ``fit`` overridden to tune the batch size."""
    import keras
    import keras_tuner as kt

    meter = Meter()
    maximize = metric.endswith("accuracy")

    class MLP(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            p = {"n_hidden": hp.Int("n_hidden", 1, 3), "n_neurons": hp.Int("n_neurons", 16, 256, sampling="log"),
                 "learning_rate": hp.Float("learning_rate", 1e-4, 1e-1, sampling="log"),
                 "activation": hp.Choice("activation", ["relu", "elu", "selu"]),
                 "dropout": hp.Float("dropout", 0.0, 0.3)}
            return keras_model(keras, p, data.n_features, data.task, data.n_classes)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return meter.fit(model, *args, batch_size=hp.Choice("batch_size", [32, 64, 128]), **kwargs)

    objective = kt.Objective(metric, "max" if maximize else "min")
    common = {"objective": objective, "seed": seed, "directory": folder, "project_name": algorithm, "overwrite": True}
    if algorithm == "hyperband":
        tuner = kt.Hyperband(MLP(), max_epochs=budget["max_epochs"], factor=3, **common)
    elif algorithm == "bayesian":
        tuner = kt.BayesianOptimization(MLP(), max_trials=budget["trials"], **common)
    else:
        tuner = kt.RandomSearch(MLP(), max_trials=budget["trials"], **common)
    stop = keras.callbacks.EarlyStopping(monitor=metric, mode="max" if maximize else "min", patience=PATIENCE)
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=budget["max_epochs"],
                 callbacks=[stop], verbose=0)
    best = tuner.oracle.get_best_trials(1)[0]
    params = dict(best.hyperparameters.values)
    return {"best_value": best.score, "best_params": {k: v for k, v in params.items() if not k.startswith("tuner/")},
            "trials": len(tuner.oracle.trials), "meter": meter}


def sklearn_random(data: Any, metric: str, budget: dict, seed: int) -> dict:
    """scikit-learn's MLP with a random search over the same space (validation split held out)."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(seed)
    best, best_params, epochs = None, None, 0
    maximize = metric.endswith("accuracy")
    for _ in range(budget["trials"]):
        p = {"n_hidden": int(rng.integers(1, 4)), "n_neurons": int(np.exp(rng.uniform(np.log(16), np.log(256)))),
             "learning_rate": float(np.exp(rng.uniform(np.log(1e-4), np.log(1e-1)))),
             "batch_size": int(rng.choice([32, 64, 128])), "activation": "relu", "dropout": 0.0}
        cls = MLPClassifier if data.task == "classification" else MLPRegressor
        model = cls(hidden_layer_sizes=(p["n_neurons"],) * p["n_hidden"], learning_rate_init=p["learning_rate"],
                    batch_size=p["batch_size"], max_iter=budget["max_epochs"], early_stopping=False,
                    n_iter_no_change=PATIENCE, random_state=seed)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(data.x_train, data.y_train)
        epochs += model.n_iter_
        pred = model.predict(data.x_val)
        value = float((pred == data.y_val).mean()) if maximize else float(np.sqrt(((pred - data.y_val) ** 2).mean()))
        if best is None or (value > best if maximize else value < best):
            best, best_params = value, p
    return {"best_value": best, "best_params": best_params, "trials": budget["trials"], "epochs": epochs}
