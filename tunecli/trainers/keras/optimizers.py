"""``make_optimizer``: the optimizers of "Hands-On ML" ch. 11, with gradient clipping."""

from __future__ import annotations

from typing import Any

from tunecli.runtime import import_keras

keras = import_keras()
opt = keras.optimizers


def make_optimizer(params: dict[str, Any], learning_rate: Any) -> keras.optimizers.Optimizer:
    """Build the optimizer named by ``params["optimizer"]``.

    Args:
        params: plain values (with catalogue defaults filled in).
        learning_rate: a float or a ``LearningRateSchedule`` (see ``schedules.make_schedule``).
    """
    clip = {k: float(params[k]) for k in ("clipnorm", "clipvalue") if params.get(k) is not None}
    name = params["optimizer"]
    momentum = float(params["momentum"])
    betas = {"beta_1": float(params["beta_1"]), "beta_2": float(params["beta_2"])}
    factories = {
        "sgd": lambda: opt.SGD(learning_rate, **clip),
        "momentum": lambda: opt.SGD(learning_rate, momentum=momentum, **clip),
        "nesterov": lambda: opt.SGD(learning_rate, momentum=momentum, nesterov=True, **clip),
        "adagrad": lambda: opt.Adagrad(learning_rate, **clip),
        "rmsprop": lambda: opt.RMSprop(learning_rate, rho=float(params["rho"]), **clip),
        "adam": lambda: opt.Adam(learning_rate, **betas, **clip),
        "adamax": lambda: opt.Adamax(learning_rate, **betas, **clip),
        "nadam": lambda: opt.Nadam(learning_rate, **betas, **clip),
        "adamw": lambda: opt.AdamW(learning_rate, weight_decay=float(params["weight_decay"]), **betas, **clip),
    }
    if name not in factories:
        raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(factories)}")
    return factories[name]()
