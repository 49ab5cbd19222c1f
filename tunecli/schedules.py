"""Learning-rate schedules from "Hands-On ML" ch. 11, as Keras ``LearningRateSchedule`` objects.

Every schedule is written per optimizer step but parameterized in epochs, so the same
space file means the same thing whatever the batch size. ``performance`` (reduce on
plateau) is a callback, not a schedule: see ``schedule_callbacks``.
"""

from __future__ import annotations

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


class PowerSchedule(_EpochSchedule):
    """``lr0 / (1 + epoch / s) ** c``."""

    def __init__(self, initial: float, steps_per_epoch: int, s: float, c: float) -> None:
        super().__init__(initial, steps_per_epoch)
        self.s, self.c = float(s), float(c)

    def __call__(self, step: Any) -> Any:
        return self.initial / ops.power(1.0 + self.epoch(step) / self.s, self.c)


class ExponentialSchedule(_EpochSchedule):
    """``lr0 * rate ** (epoch / s)``: divided by 1/rate every ``s`` epochs."""

    def __init__(self, initial: float, steps_per_epoch: int, s: float, rate: float) -> None:
        super().__init__(initial, steps_per_epoch)
        self.s, self.rate = float(s), float(rate)

    def __call__(self, step: Any) -> Any:
        return self.initial * ops.power(self.rate, self.epoch(step) / self.s)


class PiecewiseSchedule(_EpochSchedule):
    """``lr0 * factor ** (number of boundaries passed)``; boundaries in epochs."""

    def __init__(self, initial: float, steps_per_epoch: int, boundaries: list[float], factor: float) -> None:
        super().__init__(initial, steps_per_epoch)
        self.boundaries, self.factor = [float(b) for b in boundaries], float(factor)

    def __call__(self, step: Any) -> Any:
        epoch = self.epoch(step)
        passed = sum(ops.cast(epoch >= b, "float32") for b in self.boundaries) if self.boundaries else 0.0
        return self.initial * ops.power(self.factor, passed)


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


def make_schedule(params: dict[str, Any], steps_per_epoch: int, max_epochs: int) -> Any:
    """The learning rate to hand the optimizer: a float or a ``LearningRateSchedule``."""
    lr, name = float(params["learning_rate"]), params["schedule"]
    if name in ("constant", "performance"):
        return lr
    if name == "power":
        return PowerSchedule(lr, steps_per_epoch, params["power_steps"], params["power_c"])
    if name == "exponential":
        return ExponentialSchedule(lr, steps_per_epoch, params["decay_epochs"], params["decay_rate"])
    if name == "piecewise":
        bounds = [b * max_epochs if b < 1 else b for b in params["piecewise_boundaries"]]
        return PiecewiseSchedule(lr, steps_per_epoch, bounds, params["piecewise_factor"])
    if name == "one_cycle":
        return OneCycleSchedule(lr, steps_per_epoch, max_epochs, params["cycle_div"])
    if name == "cosine":
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, steps_per_epoch * max_epochs),
                                                      alpha=float(params["cosine_alpha"]))
    raise ValueError(f"unknown schedule {name!r}")


def schedule_callbacks(params: dict[str, Any], monitor: str, mode: str) -> list[Any]:
    """Callbacks a schedule needs (``performance``: reduce the LR when the objective plateaus)."""
    if params["schedule"] != "performance":
        return []
    return [keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=float(params["plateau_factor"]),
                                              patience=int(params["plateau_patience"]), verbose=0)]
