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
        raise SpaceError("data.test is 0: there is no test split to score on", source=space.path, field="data.test")
    objective = resolve_objective(space.objective, dataset.task, space.path)
    metric = objective.metric if objective.metric != "val_loss" else (
        "val_accuracy" if dataset.task == "classification" else "val_rmse")
    n_epochs = epochs or space.training.refit_epochs or space.training.max_epochs
    start = time.perf_counter()
    model = _fit(params, dataset, space, n_epochs, seed)
    y_pred = model.predict(dataset.x_test, batch_size=2048, verbose=0)
    outcome = TrainOutcome(metric.removeprefix("val_"), score(metric, dataset.y_test, y_pred),
                           (space.origin or {}).get("value") if (space.origin or {}).get("objective") == metric else None,
                           n_epochs, 0.0, None)
    if mc_dropout:
        outcome.mc_mean, outcome.mc_std = _mc_dropout(model, dataset, metric, mc_dropout, params)
        outcome.mc_passes = mc_dropout
    outcome.seconds = time.perf_counter() - start
    if output:
        outcome.model_path = _save(model, output)
    return outcome


def _fit(params: dict[str, Any], dataset: Any, space: SearchSpace, n_epochs: int, seed: int | None) -> Any:
    from tunecli.config.catalogue import with_defaults
    from tunecli.trainers.keras.fit import build_compiled

    p = with_defaults(params)
    x = np.concatenate([dataset.x_train, dataset.x_val])
    y = np.concatenate([dataset.y_train, dataset.y_val])
    batch = int(p["batch_size"])
    steps = max(1, math.ceil(len(x) / batch))
    model = build_compiled(p, dataset, steps_per_epoch=steps, max_epochs=n_epochs, steps_per_execution=steps, seed=seed)
    history = model.fit(x, y, batch_size=batch, epochs=n_epochs, verbose=0, shuffle=True)
    if not all(math.isfinite(v) for v in history.history["loss"]):
        raise TuneCliError("the loss diverged (NaN/inf) while refitting; lower the learning rate", field="space")
    return model


def _mc_dropout(model: Any, dataset: Any, metric: str, passes: int, params: dict[str, Any]) -> tuple[float, float]:
    if not params.get("dropout"):
        raise SpaceError("--mc-dropout needs a model with dropout (dropout > 0)", field="space.dropout")
    scores, probs = [], []
    for _ in range(passes):
        pred = np.asarray(model(dataset.x_test, training=True))
        probs.append(pred)
        scores.append(score(metric, dataset.y_test, pred))
    return score(metric, dataset.y_test, np.mean(probs, axis=0)), float(np.std(scores))


def _save(model: Any, output: str | Path) -> Path:
    path = Path(output)
    if path.suffix != ".keras":
        path = path.with_suffix(".keras")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
    except OSError as exc:
        raise TuneCliError(f"cannot save the model: {exc.strerror}", source=str(path), field="--output") from None
    return path
