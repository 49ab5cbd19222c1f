"""``train_best``: refit a fixed configuration on train + validation, score it once on the test split."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.config.params import FixedParam
from tunecli.errors import SpaceError, TuneCliError

if TYPE_CHECKING:
    from tunecli.config.space import SearchSpace


#: Monte Carlo passes when the model uses MC dropout and ``--mc-dropout`` does not say how many.
MC_PASSES = 10


@dataclass
class TrainOutcome:
    metric: str
    test_score: float
    search_score: float | None
    epochs: int
    seconds: float
    model_path: Path | None
    mc_mean: float | None = None
    mc_std: float | None = None
    mc_passes: int = 0

    def summary(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(self).items()}


def fixed_params(space: SearchSpace) -> dict[str, Any]:
    """The configuration of a space whose every parameter is fixed (as ``report --export`` writes)."""
    open_params = [name for name, spec in space.space.items() if not isinstance(spec, FixedParam)]
    if open_params:
        raise SpaceError(f"train needs every parameter fixed; these still vary: {', '.join(open_params)}. "
                         "Export one with `tunecli report --export BEST.yaml`", source=space.path, field="space")
    return {name: spec.value for name, spec in space.space.items()}


def score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """accuracy, rmse or mae of predictions (class probabilities or values)."""
    if metric.endswith("accuracy"):
        return float((y_pred.argmax(axis=1) == y_true).mean())
    err = y_pred.reshape(len(y_true)) - y_true
    return float(np.sqrt((err**2).mean())) if metric.endswith("rmse") else float(np.abs(err).mean())


def train_best(space: SearchSpace, *, output: str | Path | None, mc_dropout: int = 0, epochs: int | None = None,
               seed: int | None = 42) -> TrainOutcome:
    """Refit, evaluate once on the test split, save the model (``.keras``)."""
    from tunecli.config.objective import resolve_objective
    from tunecli.data import load_data
    from tunecli.runtime import init_backend

    params = fixed_params(space)
    init_backend(space.training.backend)
    dataset = load_data(space.data, base_dir=Path(space.path).parent if space.path else None)
    if len(dataset.x_test) == 0:
        raise SpaceError("is 0: there is no test split to score on", source=space.path, field="data.test")
    objective = resolve_objective(space.objective, dataset.task, space.path)
    metric = objective.metric if objective.metric != "val_loss" else (
        "val_accuracy" if dataset.task == "classification" else "val_rmse")
    if mc_dropout and not params.get("dropout"):
        raise SpaceError("--mc-dropout needs a model with dropout (dropout > 0)", field="space.dropout")
    path = _output_path(output) if output else None
    n_epochs = epochs or space.training.refit_epochs or space.training.max_epochs
    start = time.perf_counter()
    model = _fit(params, dataset, space, n_epochs, seed)
    from tunecli.trainers.keras.model import uses_mc_dropout

    passes = mc_dropout or (MC_PASSES if uses_mc_dropout(params) else 0)
    origin = space.origin or {}
    search_score = origin.get("value") if origin.get("objective") == metric else None
    if passes:  # an MC dropout model is scored on its mean prediction, as it is meant to be used
        mc_mean, mc_std = _mc_dropout(model, dataset, metric, passes)
        test_score = mc_mean
    else:
        test_score = score(metric, dataset.y_test, model.predict(dataset.x_test, batch_size=2048, verbose=0))
    outcome = TrainOutcome(metric.removeprefix("val_"), test_score, search_score, n_epochs, 0.0, None)
    if passes:
        outcome.mc_mean, outcome.mc_std, outcome.mc_passes = mc_mean, mc_std, passes
    outcome.seconds = time.perf_counter() - start
    if path:
        outcome.model_path = _save(model, path, params, dataset.task)
    return outcome


def _fit(params: dict[str, Any], dataset: Any, space: SearchSpace, n_epochs: int, seed: int | None) -> Any:
    from tunecli.config.catalogue import with_defaults
    from tunecli.trainers.keras.fit import build_compiled

    p = with_defaults(params)
    x = np.concatenate([dataset.x_train, dataset.x_val])
    y = np.concatenate([dataset.y_train, dataset.y_val])
    batch = int(p["batch_size"])
    steps = max(1, math.ceil(len(x) / batch))
    # the schedule runs on the search's epoch axis (max_epochs), whatever number of epochs the refit takes
    model = build_compiled(p, dataset, steps_per_epoch=steps, max_epochs=space.training.max_epochs,
                           steps_per_execution=steps, seed=seed)
    callbacks = []
    if p["schedule"] == "performance" and space.training.refit_lr_drops:
        from tunecli.trainers.keras.schedules import ReplayDrops

        callbacks.append(ReplayDrops(space.training.refit_lr_drops, p["plateau_factor"]))
    history = model.fit(x, y, batch_size=batch, epochs=n_epochs, verbose=0, shuffle=True, callbacks=callbacks)
    if not all(math.isfinite(v) for v in history.history["loss"]):
        raise TuneCliError("the loss diverged (NaN/inf) while refitting; lower the learning rate", field="space")
    return model


def _mc_dropout(model: Any, dataset: Any, metric: str, passes: int) -> tuple[float, float]:
    """The score of the mean of ``passes`` MC predictions, and the spread of single passes' scores."""
    from tunecli.trainers.keras.model import predict_mc

    probs = predict_mc(model, dataset.x_test, passes)
    scores = [score(metric, dataset.y_test, pred) for pred in probs]
    return score(metric, dataset.y_test, probs.mean(axis=0)), float(np.std(scores))


def _output_path(output: str | Path) -> Path:
    """Where the model goes (``.keras``), checked writable before any training."""
    path = Path(output)
    if path.suffix != ".keras":
        path = path.with_suffix(".keras")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(f".{path.name}.tunecli-write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise TuneCliError(f"cannot write the model here: {exc.strerror}", source=str(path), field="--output") from None
    return path


def _save(model: Any, path: Path, params: dict[str, Any], task: str) -> Path:
    from tunecli.config.catalogue import with_defaults
    from tunecli.trainers.keras.fit import portable

    try:
        portable(model, with_defaults(params), task).save(path)
    except OSError as exc:
        raise TuneCliError(f"cannot save the model: {exc.strerror}", source=str(path), field="--output") from None
    return path
