"""``run_trial``: build, compile and fit one configuration; report every epoch."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from tunecli import interrupt
from tunecli.lr_finder import NoDescent
from tunecli.model import build_mlp, keras, with_defaults
from tunecli.params import LrFinderParam
from tunecli.optimizers import make_optimizer
from tunecli.schedules import make_schedule, schedule_callbacks

if TYPE_CHECKING:
    from tunecli.data import Dataset
    from tunecli.objective import Objective
    from tunecli.space import Training

#: Called after each epoch with (epoch number from 1, objective value, logs); returns True to prune.
EpochHook = Callable[[int, float, dict[str, float]], bool]
EVAL_BATCH = 2048


@dataclass
class TrialResult:
    state: str                      # COMPLETE | PRUNED | FAIL
    value: float | None
    epochs: int
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)
    reason: str | None = None
    best_epoch: int | None = None
    first_epoch_seconds: float | None = None
    model: Any = None
    extras: dict[str, Any] = field(default_factory=dict)  # more user attributes to store (e.g. LR finder)


class _Watch(keras.callbacks.Callback):
    """Reports each epoch, stops on NaN/inf loss or when the pruner says so."""

    def __init__(self, metric: str, hook: EpochHook | None) -> None:
        super().__init__()
        self.metric, self.hook = metric, hook
        self.pruned = False
        self.diverged: str | None = None
        self.epoch_ends: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.epoch_ends.append(time.perf_counter())
        if interrupt.requested():
            self.model.stop_training = True
            return
        logs = logs or {}
        loss = logs.get("loss")
        if loss is None or not math.isfinite(float(loss)):
            self.diverged = f"loss became {loss} at epoch {epoch + 1}"
            self.model.stop_training = True
            return
        value = logs.get(self.metric)
        if value is None:
            return
        if self.hook is not None and self.hook(epoch + 1, float(value), dict(logs)):
            self.pruned = True
            self.model.stop_training = True


def compile_model(model: Any, params: dict[str, Any], task: str, steps_per_epoch: int, max_epochs: int,
                  steps_per_execution: int) -> None:
    """Compile with the optimizer, schedule, loss and metrics the parameters and task call for."""
    optimizer = make_optimizer(params, make_schedule(params, steps_per_epoch, max_epochs))
    if task == "classification":
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        loss = {"auto": "mse", "mse": "mse", "huber": "huber", "mae": "mae"}[params["loss"]]
        metrics = [keras.metrics.RootMeanSquaredError(name="rmse"), keras.metrics.MeanAbsoluteError(name="mae")]
    jit = False if keras.backend.backend() == "tensorflow" else "auto"
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit,
                  steps_per_execution=steps_per_execution)


def run_trial(params: dict[str, Any], dataset: Dataset, training: Training, objective: Objective, *,
              on_epoch: EpochHook | None = None, seed: int | None = None, keep_model: bool = False,
              x: Any = None, y: Any = None, validation: tuple[Any, Any] | None = None) -> TrialResult:
    """Train one configuration with early stopping; never raises for a bad configuration.

    Args:
        params: plain parameter values (catalogue defaults fill the rest).
        dataset: the preprocessed data.
        training: epochs, early stopping, steps per execution.
        objective: the validation metric and its direction.
        on_epoch: called every epoch; returning True prunes the trial.
        seed: seeds weights and shuffling.
        keep_model: return the trained model in ``TrialResult.model``.
        x, y, validation: train on these instead of the dataset's train/validation splits.

    Returns:
        A ``TrialResult``; state FAIL carries the reason (NaN loss, rejected combination).
    """
    start = time.perf_counter()
    p = with_defaults(params)
    extras: dict[str, Any] = {}
    if isinstance(p["learning_rate"], LrFinderParam):
        try:
            p["learning_rate"], extras = _find_lr(p, dataset, seed)
        except NoDescent as exc:
            return TrialResult("FAIL", None, 0, time.perf_counter() - start, reason=f"LR finder: {exc.message}")
    x = dataset.x_train if x is None else x
    y = dataset.y_train if y is None else y
    validation = (dataset.x_val, dataset.y_val) if validation is None else validation
    batch = int(p["batch_size"])
    steps = max(1, math.ceil(len(x) / batch))
    spe = steps if training.steps_per_execution == "epoch" else min(steps, int(training.steps_per_execution))
    keras.backend.clear_session(free_memory=True)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    watch = _Watch(objective.metric, on_epoch)
    try:
        model = build_mlp(p, dataset.n_features, dataset.task, dataset.n_classes)
        compile_model(model, p, dataset.task, steps, training.max_epochs, spe)
        callbacks = [watch, *schedule_callbacks(p, objective.metric, objective.mode)]
        es = training.early_stopping
        if es.enabled:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor=objective.metric, mode=objective.mode, patience=es.patience, min_delta=es.min_delta,
                restore_best_weights=es.restore_best_weights and keep_model))
        fit_start = time.perf_counter()
        with interrupt.training():
            history = model.fit(x, y, batch_size=batch, epochs=training.max_epochs, validation_data=validation,
                                validation_batch_size=EVAL_BATCH, callbacks=callbacks, verbose=0, shuffle=True)
        fit_end = time.perf_counter()
    except (ValueError, TypeError, RuntimeError, MemoryError) as exc:
        message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        return TrialResult("FAIL", None, len(watch.epoch_ends), time.perf_counter() - start,
                           reason=f"{type(exc).__name__}: {message}")
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    first = watch.epoch_ends[0] - fit_start if watch.epoch_ends else None
    result = _result(hist, watch, objective, time.perf_counter() - start, first, model if keep_model else None)
    result.extras.update(extras, fit_seconds=round(fit_end - fit_start, 3))
    return result


def _find_lr(p: dict[str, Any], dataset: Dataset, seed: int | None) -> tuple[float, dict[str, Any]]:
    """Run the range test for this configuration; the LR to use and what to store about it."""
    from tunecli.lr_range import run_range_test

    spec: LrFinderParam = p["learning_rate"]
    found = run_range_test(p, dataset, min_lr=spec.min_lr, max_lr=spec.max_lr, steps=spec.steps, rule=spec.rule,
                           seed=seed)
    multiplier = float(p.get("lr_multiplier", spec.multiplier.value if hasattr(spec.multiplier, "value") else 1.0))
    lr = found.lr * multiplier
    curve = found.to_dict(max_points=60)
    return lr, {"lr_used": lr, "lr_found": found.lr, "lr_rule": spec.rule, "lr_finder_seconds": round(found.seconds, 3),
                "lr_finder_steps": found.steps, "lr_suggestions": found.suggestions, "lr_curve": curve["curve"]}


def _result(hist: dict[str, list[float]], watch: _Watch, objective: Objective, seconds: float,
            first: float | None, model: Any) -> TrialResult:
    epochs = len(hist.get("loss", []))
    curve = [v for v in hist.get(objective.metric, []) if math.isfinite(v)]
    if watch.diverged:
        return TrialResult("FAIL", None, epochs, seconds, hist, reason=watch.diverged, first_epoch_seconds=first)
    if not curve:
        return TrialResult("FAIL", None, epochs, seconds, hist, reason=f"no {objective.metric} was reported",
                           first_epoch_seconds=first)
    best = max(curve) if objective.direction == "maximize" else min(curve)
    state = "PRUNED" if watch.pruned else "COMPLETE"
    return TrialResult(state, best, epochs, seconds, hist, best_epoch=curve.index(best) + 1,
                       first_epoch_seconds=first, model=model)
