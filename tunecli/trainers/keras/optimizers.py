"""``make_optimizer``: the optimizers of "Hands-On ML" ch. 11, with gradient clipping.

Under 1cycle with ``cycle_momentum`` the momentum (SGD) or ``beta_1`` (Adam family) is cycled against the
learning rate. Keras 3 reads those as Python floats inside the update, so small registered subclasses
compute the value from ``self.iterations`` at each step (the same step the schedule sees) and hand it to
Keras' own update for that step.
"""

from __future__ import annotations

from typing import Any

from tunecli.config.catalogue import cycled_momentum
from tunecli.runtime import import_keras

keras = import_keras()
opt = keras.optimizers
ops = keras.ops


def one_cycle_momentum(step: Any, steps_per_epoch: float, epochs: float, low: float, high: float) -> Any:
    """The 1cycle momentum at optimizer step ``step`` (0-based): high down to low over the first 45 % of
    the run, back up to high over the next 45 %, then high; on the epoch axis of ``OneCycleSchedule``."""
    t = ops.clip(ops.cast(step, "float32") / steps_per_epoch / epochs, 0.0, 1.0)
    down = high - (high - low) * t / 0.45
    up = low + (high - low) * (t - 0.45) / 0.45
    return ops.where(t < 0.45, down, ops.where(t < 0.9, up, high))


class _CycledMomentum:
    """Mixin: during each update ``self.<_attr>`` holds this step's cycled value, then the float again."""

    _attr = "beta_1"

    def __init__(self, *args: Any, cycle_momentum: list[float], cycle_steps_per_epoch: float, cycle_epochs: float,
                 cycle_offset: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cycle_low, self.cycle_high = (float(v) for v in cycle_momentum)
        self.cycle_steps_per_epoch, self.cycle_epochs = float(cycle_steps_per_epoch), float(cycle_epochs)
        self.cycle_offset = int(cycle_offset)  # the schedule's ``ShiftedSchedule`` offset (fine-tuning)

    def cycled(self, step: Any) -> Any:
        step = ops.add(step, self.cycle_offset) if self.cycle_offset else step
        return one_cycle_momentum(step, self.cycle_steps_per_epoch, self.cycle_epochs, self.cycle_low, self.cycle_high)

    def _backend_update_step(self, grads: Any, trainable_variables: Any, learning_rate: Any) -> None:
        # every backend's update (Nadam's u_product too) goes through here, before `iterations` is incremented
        fixed = getattr(self, self._attr)
        setattr(self, self._attr, self.cycled(self.iterations))
        try:
            super()._backend_update_step(grads, trainable_variables, learning_rate)  # type: ignore[misc]
        finally:
            setattr(self, self._attr, fixed)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cycle_momentum": [self.cycle_low, self.cycle_high],  # type: ignore[misc]
                "cycle_steps_per_epoch": self.cycle_steps_per_epoch, "cycle_epochs": self.cycle_epochs,
                "cycle_offset": self.cycle_offset}


@keras.saving.register_keras_serializable("tunecli")
class CycledSGD(_CycledMomentum, opt.SGD):
    """SGD with momentum (or Nesterov) whose momentum follows 1cycle."""

    _attr = "momentum"

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        # keras' SGD.update_step without its Python test `momentum != 0` (the momentum is a tensor here)
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)]
        momentum = ops.cast(self.momentum, variable.dtype)
        self.assign(m, ops.subtract(ops.multiply(m, momentum), ops.multiply(gradient, learning_rate)))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(m, momentum), ops.multiply(gradient, learning_rate)))
        else:
            self.assign_add(variable, m)


@keras.saving.register_keras_serializable("tunecli")
class CycledAdam(_CycledMomentum, opt.Adam):
    """Adam whose ``beta_1`` follows 1cycle (its bias correction uses the current ``beta_1``, as Keras does)."""


@keras.saving.register_keras_serializable("tunecli")
class CycledAdamax(_CycledMomentum, opt.Adamax):
    """Adamax whose ``beta_1`` follows 1cycle."""


@keras.saving.register_keras_serializable("tunecli")
class CycledNadam(_CycledMomentum, opt.Nadam):
    """Nadam whose ``beta_1`` follows 1cycle (in ``u_t``, ``u_{t+1}`` and the running product alike)."""


@keras.saving.register_keras_serializable("tunecli")
class CycledAdamW(_CycledMomentum, opt.AdamW):
    """AdamW whose ``beta_1`` follows 1cycle."""


def make_optimizer(params: dict[str, Any], learning_rate: Any) -> keras.optimizers.Optimizer:
    """Build the optimizer named by ``params["optimizer"]``.

    Args:
        params: plain values (with catalogue defaults filled in).
        learning_rate: a float or a ``LearningRateSchedule`` (see ``schedules.make_schedule``); under
            1cycle with ``cycle_momentum`` the momentum term is cycled on this schedule's epoch axis.
    """
    clip = {k: float(params[k]) for k in ("clipnorm", "clipvalue") if params.get(k) is not None}
    name = params["optimizer"]
    momentum = float(params["momentum"])
    betas = {"beta_1": float(params["beta_1"]), "beta_2": float(params["beta_2"])}
    cycle: dict[str, Any] = {}
    bounds = cycled_momentum(params)
    if bounds is not None:
        low, high = bounds
        momentum, betas["beta_1"] = high, high
        if low != high:  # else the value is constant: the stock optimizer with it
            cycle = {"cycle_momentum": [low, high], **_cycle_axis(learning_rate)}
    sgd, adam, adamax, nadam, adamw = ((CycledSGD, CycledAdam, CycledAdamax, CycledNadam, CycledAdamW) if cycle
                                       else (opt.SGD, opt.Adam, opt.Adamax, opt.Nadam, opt.AdamW))
    factories = {
        "sgd": lambda: opt.SGD(learning_rate, **clip),
        "momentum": lambda: sgd(learning_rate, momentum=momentum, **clip, **cycle),
        "nesterov": lambda: sgd(learning_rate, momentum=momentum, nesterov=True, **clip, **cycle),
        "adagrad": lambda: opt.Adagrad(learning_rate, **clip),
        "rmsprop": lambda: opt.RMSprop(learning_rate, rho=float(params["rho"]), **clip),
        "adam": lambda: adam(learning_rate, **betas, **clip, **cycle),
        "adamax": lambda: adamax(learning_rate, **betas, **clip, **cycle),
        "nadam": lambda: nadam(learning_rate, **betas, **clip, **cycle),
        "adamw": lambda: adamw(learning_rate, weight_decay=float(params["weight_decay"]), **betas, **clip, **cycle),
    }
    if name not in factories:
        raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(factories)}")
    return factories[name]()


def _cycle_axis(schedule: Any) -> dict[str, Any]:
    """The epoch axis of the 1cycle schedule (``OneCycleSchedule``'s steps per epoch and epochs, and the offset
    of a ``ShiftedSchedule`` around it)."""
    offset = int(getattr(schedule, "offset", 0))  # a ShiftedSchedule: the 1cycle schedule it goes on with
    schedule = getattr(schedule, "schedule", schedule)
    try:
        return {"cycle_steps_per_epoch": float(schedule.steps_per_epoch), "cycle_epochs": float(schedule.epochs),
                "cycle_offset": offset}
    except AttributeError:
        raise ValueError("cycle_momentum needs the 1cycle learning-rate schedule "
                         f"(got {type(schedule).__name__})") from None
