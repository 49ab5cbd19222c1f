"""Training with Keras' own ``model.fit``: every configuration, and the model itself when one is wanted."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from tunecli import interrupt
from tunecli.trainers.contract import EpochHook, Fitted
from tunecli.trainers.keras.model import build_mlp, freeze, keras, load_base
from tunecli.trainers.keras.optimizers import make_optimizer
from tunecli.trainers.keras.schedules import OneTrial, make_schedule, schedule_callbacks
from tunecli.trainers.transfer import Phases, phases, plan

if TYPE_CHECKING:
    from tunecli.config.objective import Objective
    from tunecli.config.space import Training
    from tunecli.data import Dataset

EVAL_BATCH = 2048


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


def build_compiled(p: dict[str, Any], dataset: Dataset, *, steps_per_epoch: int, max_epochs: int,
                   steps_per_execution: int, seed: int | None, free_memory: bool = False) -> Any:
    """The one place a Keras model is set up: a fresh session, the seed, ``build_mlp``, ``compile_model``.

    With a base network (``dataset.base``) the model has the widths ``transfer.plan`` gives and starts from
    the reused layers, frozen when ``freeze_epochs`` > 0 (``fit_phases`` unfreezes them on the way).

    Args:
        p: parameter values with the catalogue defaults filled in.
        dataset: gives the input width, the task and the number of classes.
        steps_per_epoch, max_epochs: the axis the learning-rate schedule runs on.
        steps_per_execution: batches per compiled call.
        seed: seeds weights, dropout and shuffling (None: not seeded).
        free_memory: also free the backend's memory when clearing the session.
    """
    keras.backend.clear_session(free_memory=free_memory)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    p, reused = plan(p, dataset.base, dataset.n_features)
    model = build_mlp(p, dataset.n_features, dataset.task, dataset.n_classes)
    if reused:
        load_base(model, reused, frozen=phases(p, dataset.base).frozen > 0)
    compile_model(model, p, dataset.task, steps_per_epoch, max_epochs, steps_per_execution)
    return model


def compile_model(model: Any, params: dict[str, Any], task: str, steps_per_epoch: int, max_epochs: int,
                  steps_per_execution: int, offset: int = 0) -> None:
    """Compile with the optimizer, schedule, loss and metrics the parameters and task call for (``offset``:
    the optimizer's schedule starts at that step of the trial's, as after unfreezing)."""
    optimizer = make_optimizer(params, make_schedule(params, steps_per_epoch, max_epochs, offset))
    if task == "classification":
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        loss = {"auto": "mse", "mse": "mse", "huber": "huber", "mae": "mae"}[params["loss"]]
        metrics = [keras.metrics.RootMeanSquaredError(name="rmse"), keras.metrics.MeanAbsoluteError(name="mae")]
    jit = False if keras.backend.backend() == "tensorflow" else "auto"
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit,
                  steps_per_execution=steps_per_execution)


class MCValidation(keras.callbacks.Callback):
    """MC dropout: the validation scores of the mean prediction of ``passes`` stochastic passes (dropout on,
    batch norm in inference mode), written over the single pass Keras logged."""

    def __init__(self, validation: tuple[Any, Any], task: str, loss: str, passes: int) -> None:
        super().__init__()
        self.x, self.y = validation
        self.task, self.loss, self.passes = task, loss, passes

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        from tunecli.trainers.keras.model import predict_mc

        if logs is None:
            return
        mean = predict_mc(self.model, self.x, self.passes).mean(axis=0)
        penalty = float(sum(keras.ops.convert_to_numpy(w) for w in self.model.losses)) if self.model.losses else 0.0
        logs.update({f"val_{k}": v + (penalty if k == "loss" else 0.0)
                     for k, v in mc_scores(mean, self.y, self.task, self.loss).items()})


class TrialEarlyStopping(OneTrial, keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping over the fits of one trial: its counters carry over, and the best weights are
    restored at the end of the last fit (``final``) or of one that stopped, not between the phases."""

    final = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.final or self.model.stop_training:
            super().on_train_end(logs)


def fit_phases(model: Any, p: dict[str, Any], task: str, plan_phases: Phases, x: Any, y: Any, *, epochs: int,
               steps_per_epoch: int, max_epochs: int, steps_per_execution: int, callbacks: list[Any] | None = None,
               **fit_kwargs: Any) -> dict[str, list[float]]:
    """``model.fit`` for ``epochs`` epochs from a ``build_compiled`` model; in two fits when the reused layers
    unfreeze on the way (``tunecli.trainers.transfer``): the second one, from epoch ``plan_phases.frozen`` on
    (``initial_epoch``: the callbacks see one run of epochs), trains every layer with a fresh optimizer at the
    learning rate times ``fine_tune_lr_factor`` (after reduce-on-plateau's cuts so far), its schedule going on
    at that epoch. It is skipped when the first one stopped (early stopping, pruning, divergence, Ctrl-C).

    Args:
        model: compiled, the reused layers loaded and frozen as ``build_compiled`` leaves them.
        p: the planned configuration (``transfer.plan``), defaults filled in.
        task: classification or regression.
        plan_phases: the trial's ``transfer.phases``.
        steps_per_epoch, max_epochs, steps_per_execution: as the model was compiled with.
        callbacks, fit_kwargs: passed to each ``model.fit``.

    Returns:
        The history of all the epochs run, one list per metric.
    """
    at = plan_phases.unfreeze_at(epochs)
    bounds = [0, epochs] if at is None else [0, at, epochs]
    history: dict[str, list[float]] = {}
    for start, end in zip(bounds, bounds[1:]):
        if start and model.stop_training:
            break
        if start:
            _unfreeze(model, p, task, plan_phases, start, (steps_per_epoch, max_epochs, steps_per_execution))
        for callback in callbacks or []:
            if isinstance(callback, TrialEarlyStopping):
                callback.final = end == epochs
        done = model.fit(x, y, epochs=end, initial_epoch=start, callbacks=callbacks, **fit_kwargs)
        for key, values in done.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
    return history


def _unfreeze(model: Any, p: dict[str, Any], task: str, plan_phases: Phases, epoch: int, axis: tuple[int, int, int]
              ) -> None:
    """Every layer trains from the 0-based ``epoch`` on: recompiled with a fresh optimizer at the learning rate
    (reduce-on-plateau's, if it cut it) times ``fine_tune_lr_factor``, its schedule going on at ``epoch``.
    ``axis``: (steps per epoch, max epochs, steps per execution) as the model was compiled with."""
    steps_per_epoch, max_epochs, steps_per_execution = axis
    lr = float(p["learning_rate"])
    if p["schedule"] == "performance":
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    freeze(model, plan_phases.reused, frozen=False)
    compile_model(model, {**p, "learning_rate": lr * plan_phases.factor}, task, steps_per_epoch, max_epochs,
                  steps_per_execution, offset=epoch * steps_per_epoch)


def mc_scores(pred: Any, y: Any, task: str, loss: str) -> dict[str, float]:
    """loss and accuracy (classification: ``pred`` are class probabilities), or loss, rmse and mae."""
    import numpy as np

    if task == "classification":
        picked = np.clip(pred[np.arange(len(y)), y], 1e-7, 1.0)
        return {"loss": float(-np.log(picked).mean()), "accuracy": float((pred.argmax(axis=1) == y).mean())}
    err = pred.reshape(len(y)) - y
    losses = {"mae": np.abs(err), "huber": np.where(np.abs(err) <= 1, 0.5 * err**2, np.abs(err) - 0.5)}
    return {"loss": float(losses.get(loss, err**2).mean()), "rmse": float(np.sqrt((err**2).mean())),
            "mae": float(np.abs(err).mean())}


def fit(p: dict[str, Any], dataset: Dataset, training: Training, objective: Objective, *,
        on_epoch: EpochHook | None = None, seed: int | None = None,
        keep_model: bool = False, x: Any = None, y: Any = None,
        validation: tuple[Any, Any] | None = None) -> Fitted:
    """Build, compile and fit ``p`` (defaults filled in) with early stopping; raises on a bad combination.

    With a base network (``dataset.base``): from the reused layers, frozen then fine-tuned (``fit_phases``)."""
    x = dataset.x_train if x is None else x
    y = dataset.y_train if y is None else y
    validation = (dataset.x_val, dataset.y_val) if validation is None else validation
    batch = int(p["batch_size"])
    steps = max(1, math.ceil(len(x) / batch))
    spe = steps if training.steps_per_execution == "epoch" else min(steps, int(training.steps_per_execution))
    model = build_compiled(p, dataset, steps_per_epoch=steps, max_epochs=training.max_epochs,
                           steps_per_execution=spe, seed=seed, free_memory=True)
    p = plan(p, dataset.base)[0]
    # The weights the trial's score is of: the first best epoch's (with restore_best_weights; Keras' own
    # EarlyStopping only restores them when it stops, and counts min_delta), else the last epoch's.
    restore_best = training.early_stopping.restore_best_weights
    best: dict[str, Any] = {"value": None, "weights": None}

    def hook(epoch: int, value: float, logs: dict[str, float]) -> bool:
        if restore_best and math.isfinite(value) and (best["value"] is None or objective.better(value, best["value"])):
            best["value"], best["weights"] = value, model.get_weights()
        return on_epoch is not None and bool(on_epoch(epoch, value, logs))

    watch = _Watch(objective.metric, hook)
    callbacks = _callbacks(watch, p, dataset.task, training, objective, validation, keep_model)
    fit_start = time.perf_counter()
    with interrupt.training():
        hist = fit_phases(model, p, dataset.task, phases(p, dataset.base, training.max_epochs), x, y,
                          epochs=training.max_epochs, steps_per_epoch=steps, max_epochs=training.max_epochs,
                          steps_per_execution=spe, callbacks=callbacks, batch_size=batch, validation_data=validation,
                          validation_batch_size=EVAL_BATCH, verbose=0, shuffle=True)
    first = watch.epoch_ends[0] - fit_start if watch.epoch_ends else None
    weights = best["weights"] if restore_best else model.get_weights()
    return Fitted(hist, watch.pruned, watch.diverged, first, time.perf_counter() - fit_start,
                  trainer="keras", model=model if keep_model else None, weights=weights)


def _callbacks(watch: _Watch, p: dict[str, Any], task: str, training: Training, objective: Objective,
               validation: tuple[Any, Any], keep_model: bool) -> list[Any]:
    """``watch``, the schedule's callbacks, MC validation (first: the others see the MC mean's scores), and
    early stopping (which restores the best weights itself only for a model that is kept)."""
    callbacks = [watch, *schedule_callbacks(p, objective.metric, objective.mode)]
    if p["mc_dropout"] and p["dropout"]:
        callbacks.insert(0, MCValidation(validation, task, p["loss"], training.mc_passes))
    es = training.early_stopping
    if es.enabled:
        callbacks.append(TrialEarlyStopping(
            monitor=objective.metric, mode=objective.mode, patience=es.patience, min_delta=es.min_delta,
            restore_best_weights=es.restore_best_weights and keep_model))
    return callbacks

