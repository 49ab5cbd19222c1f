"""Learning-rate schedules from "Hands-On ML" ch. 11, as Keras ``LearningRateSchedule`` objects.

Every schedule is parameterized in epochs, so the same space file means the same thing whatever
the batch size. Keras' own schedules are used wherever they compute the catalogue's formula
(``ExponentialDecay``, ``InverseTimeDecay`` for power with c = 1, ``PiecewiseConstantDecay``,
``CosineDecay``): they save and load anywhere. The two Keras lacks (power with c != 1, 1cycle) are
registered, so a saved model that uses them loads wherever tunecli is imported. ``performance``
(reduce on plateau) is a callback, not a schedule: see ``schedule_callbacks``.
"""

from __future__ import annotations

import math
from typing import Any

from tunecli.runtime import import_keras

keras = import_keras()
ops = keras.ops


class _EpochSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Base: converts the optimizer step into a (fractional) epoch."""

    def __init__(self, initial: float, steps_per_epoch: int) -> None:
        self.initial = float(initial)
        self.steps_per_epoch = float(max(1, steps_per_epoch))

    def epoch(self, step: Any) -> Any:
        return ops.cast(step, "float32") / self.steps_per_epoch

    def get_config(self) -> dict[str, Any]:
        return dict(vars(self))


@keras.saving.register_keras_serializable("tunecli")
class PowerSchedule(_EpochSchedule):
    """``lr0 / (1 + epoch / s) ** c``."""

    def __init__(self, initial: float, steps_per_epoch: int, s: float, c: float) -> None:
        super().__init__(initial, steps_per_epoch)
        self.s, self.c = float(s), float(c)

    def __call__(self, step: Any) -> Any:
        return self.initial / ops.power(1.0 + self.epoch(step) / self.s, self.c)


@keras.saving.register_keras_serializable("tunecli")
class OneCycleSchedule(_EpochSchedule):
    """1cycle (Smith 2018): up from lr/div to lr over 45 % of the run, down again over
    the next 45 %, then down to lr/(div*1000) over the last 10 %."""

    def __init__(self, initial: float, steps_per_epoch: int, epochs: int, div: float) -> None:
        super().__init__(initial, steps_per_epoch)
        self.epochs, self.div = float(max(1, epochs)), float(div)

    def __call__(self, step: Any) -> Any:
        t = ops.clip(self.epoch(step) / self.epochs, 0.0, 1.0)
        low, high, last = self.initial / self.div, self.initial, self.initial / (self.div * 1000.0)
        up = low + (high - low) * t / 0.45
        down = high - (high - low) * (t - 0.45) / 0.45
        tail = low - (low - last) * (t - 0.9) / 0.1
        return ops.where(t < 0.45, up, ops.where(t < 0.9, down, tail))


@keras.saving.register_keras_serializable("tunecli")
class ShiftedSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``schedule(step + offset)``: a fresh optimizer's schedule that goes on from step ``offset`` of the trial
    (fine-tuning after the reused layers' frozen epochs: the optimizer counts from 0 again, the schedule not)."""

    def __init__(self, schedule: Any, offset: int) -> None:
        self.schedule, self.offset = schedule, int(offset)

    def __call__(self, step: Any) -> Any:
        return self.schedule(ops.add(step, self.offset))

    def get_config(self) -> dict[str, Any]:
        return {"schedule": keras.saving.serialize_keras_object(self.schedule), "offset": self.offset}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ShiftedSchedule:
        return cls(keras.saving.deserialize_keras_object(config["schedule"]), config["offset"])


def make_schedule(params: dict[str, Any], steps_per_epoch: int, max_epochs: int, offset: int = 0) -> Any:
    """The learning rate to hand the optimizer: a float or a ``LearningRateSchedule`` (``offset``: it starts
    at that step of the trial's schedule, see ``ShiftedSchedule``)."""
    lr, name = float(params["learning_rate"]), params["schedule"]
    if name in ("constant", "performance"):
        return lr
    schedule = _schedule(params, steps_per_epoch, max_epochs)
    return ShiftedSchedule(schedule, offset) if offset and not isinstance(schedule, float) else schedule


def _schedule(params: dict[str, Any], steps_per_epoch: int, max_epochs: int) -> Any:
    """The schedule named by ``params["schedule"]`` (not constant or performance), from step 0."""
    lr, name = float(params["learning_rate"]), params["schedule"]
    spe = max(1, steps_per_epoch)
    schedules = keras.optimizers.schedules
    if name == "power":
        s, c = float(params["power_steps"]), float(params["power_c"])
        if c == 1.0:  # lr / (1 + epoch / s)
            return schedules.InverseTimeDecay(lr, decay_steps=s * spe, decay_rate=1.0)
        return PowerSchedule(lr, spe, s, c)
    if name == "exponential":  # lr * rate ** (epoch / s)
        return schedules.ExponentialDecay(lr, decay_steps=float(params["decay_epochs"]) * spe,
                                          decay_rate=float(params["decay_rate"]))
    if name == "piecewise":
        return _piecewise(lr, spe, max_epochs, params["piecewise_boundaries"], float(params["piecewise_factor"]))
    if name == "one_cycle":
        return OneCycleSchedule(lr, steps_per_epoch, max_epochs, params["cycle_div"])
    if name == "cosine":
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, steps_per_epoch * max_epochs),
                                                      alpha=float(params["cosine_alpha"]))
    raise ValueError(f"unknown schedule {name!r}")


def _piecewise(lr: float, steps_per_epoch: int, max_epochs: int, boundaries: list[float], factor: float) -> Any:
    """``lr * factor ** (boundaries passed)``; a boundary below 1 is a fraction of ``max_epochs``.

    The epoch boundary ``b`` is passed at the first step ``>= b * steps_per_epoch``; Keras switches
    values once ``step > boundary``, so its boundary is that step minus one.
    """
    epochs = [float(b) * max_epochs if b < 1 else float(b) for b in boundaries]
    if not epochs:
        return lr
    steps = sorted(math.ceil(e * steps_per_epoch - 1e-9) - 1 for e in epochs)
    values = [lr * factor**i for i in range(len(steps) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(steps, values)


class OneTrial:
    """Mixin: a callback whose counters carry over the fits of one trial (reused layers frozen, then
    fine-tuned); Keras' own reset theirs at the start of each fit."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        if not getattr(self, "_begun", False):
            self._begun = True
            super().on_train_begin(logs)  # type: ignore[misc]


class _ReduceLROnPlateau(OneTrial, keras.callbacks.ReduceLROnPlateau):
    """Keras' ReduceLROnPlateau over the fits of one trial."""


def schedule_callbacks(params: dict[str, Any], monitor: str, mode: str) -> list[Any]:
    """Callbacks a schedule needs (``performance``: reduce the LR when the objective plateaus)."""
    if params["schedule"] != "performance":
        return []
    return [_ReduceLROnPlateau(monitor=monitor, mode=mode, factor=float(params["plateau_factor"]),
                               patience=int(params["plateau_patience"]), verbose=0)]


class ReplayDrops(keras.callbacks.Callback):
    """Multiply the learning rate by ``factor`` at the end of each epoch listed (from 1): the cuts that
    reduce-on-plateau made in the search, replayed in a refit that has no validation split to watch."""

    def __init__(self, epochs: list[int], factor: float) -> None:
        super().__init__()
        self.epochs, self.factor = set(epochs), float(factor)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 in self.epochs:
            lr = self.model.optimizer.learning_rate
            lr.assign(float(keras.ops.convert_to_numpy(lr)) * self.factor)
