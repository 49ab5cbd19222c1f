"""What can be tuned: every parameter name, its default and, for names, the allowed values.

This module is pure data and plain functions of it (no Keras import) so that the search-space file can be
validated quickly and ``tunecli --help`` stays fast.
"""

from __future__ import annotations

import re
from typing import Any

from tunecli.errors import show

ACTIVATIONS = (
    "relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "swish", "mish", "tanh", "sigmoid",
)
INITIALIZERS = ("auto", "glorot", "glorot_uniform", "glorot_normal", "he", "he_uniform", "he_normal",
                "lecun", "lecun_uniform", "lecun_normal")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamax", "nadam", "adamw")
SCHEDULES = ("constant", "power", "exponential", "piecewise", "performance", "one_cycle", "cosine")
BATCH_NORM = ("none", "before", "after")
SHAPES = ("constant", "funnel")
LOSSES = ("auto", "mse", "huber", "mae")
#: The separators of a CSV file (``data.sep`` takes the character or its word; left out, it is detected).
CSV_SEPARATORS: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

#: The LR range test's suggestion rules (the first is the default) and what each one picks.
LR_RULES: dict[str, str] = {
    "valley": "inside the longest falling stretch, about 2/3 of the way down (fastai's default)",
    "steep": "the steepest descent of loss vs log(lr)",
    "minimum": "the LR at the lowest loss, divided by 10",
    "slide": "fastai's interval slide rule: walk left from the loss minimum while the slope changes",
    "divergence": "10x below the LR where the loss starts to climb past its minimum (Géron)",
}

#: Every tunable parameter with its default. A parameter absent from the space takes this value.
DEFAULTS: dict[str, Any] = {
    # architecture
    "n_hidden": 2,
    "n_neurons": 64,            # one width, or a list of per-layer widths
    "shape": "constant",        # constant | funnel (each layer half the previous, at least 8)
    "activation": "relu",
    "alpha": None,              # negative slope of leaky_relu / alpha of elu (None: Keras default)
    "initializer": "auto",
    "batch_norm": "none",       # none | before | after the activation
    # regularization
    "dropout": 0.0,
    "mc_dropout": False,        # dropout stays on at inference (Monte Carlo dropout)
    "max_norm": None,           # max-norm constraint on each hidden kernel
    "l1": 0.0,
    "l2": 0.0,
    # optimization
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "batch_size": 32,
    "momentum": 0.9,            # momentum / nesterov / rmsprop
    "beta_1": 0.9,
    "beta_2": 0.999,
    "rho": 0.9,                 # rmsprop
    "weight_decay": 1e-4,       # adamw
    "clipnorm": None,
    "clipvalue": None,
    "loss": "auto",             # regression: mse | huber | mae
    # learning-rate schedules
    "schedule": "constant",
    "power_steps": 10.0,        # power: lr0 / (1 + epoch / power_steps) ** power_c
    "power_c": 1.0,
    "decay_epochs": 10.0,       # exponential: lr0 * decay_rate ** (epoch / decay_epochs)
    "decay_rate": 0.1,
    "piecewise_boundaries": [0.5, 0.75],  # piecewise: fractions of max_epochs
    "piecewise_factor": 0.1,    # lr multiplied by this at each boundary
    "plateau_factor": 0.5,      # performance (reduce on plateau)
    "plateau_patience": 2,
    "cycle_div": 10.0,          # one_cycle: starts and ends at lr / cycle_div
    "cycle_momentum": [0.85, 0.95],  # one_cycle: momentum / beta_1 [low, high], cycled against the LR; false: off
    "cosine_alpha": 0.0,        # cosine: final lr = lr0 * cosine_alpha
    # reusing pretrained layers (a `transfer:` or `pretrain:` section gives them)
    "reuse_layers": None,       # hidden layers copied from the base, input side first (None: all of them)
    "freeze_epochs": 0,         # epochs with the reused layers frozen, before they are unfrozen
    "fine_tune_lr_factor": 1.0,  # the learning rate is multiplied by this once the reused layers are unfrozen
}

#: Names whose values must come from a fixed list.
ALLOWED: dict[str, tuple[str, ...]] = {
    "activation": ACTIVATIONS,
    "initializer": INITIALIZERS,
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "batch_norm": BATCH_NORM,
    "shape": SHAPES,
    "loss": LOSSES,
}

#: Parameters that must be whole numbers >= 1, with an upper bound refused before allocating.
POSITIVE_INTS: dict[str, int] = {"n_hidden": 64, "batch_size": 65_536, "n_neurons": 16_384, "reuse_layers": 64}

#: Parameters that must be whole numbers >= 0, with an upper bound.
COUNTS: dict[str, int] = {"freeze_epochs": 100_000}

#: Parameters that must be numbers > 0.
POSITIVE_NUMBERS = ("fine_tune_lr_factor",)

#: Parameters that only mean something when the hidden layers start from a base network (``transfer`` / ``pretrain``).
REUSE_PARAMS = ("reuse_layers", "freeze_epochs", "fine_tune_lr_factor")

#: Activation names that build the same layer (Keras saves ``swish`` as ``silu``).
ACTIVATION_ALIASES = {"swish": "silu"}

#: Parameters that are fractions in [0, 1).
FRACTIONS = ("dropout",)

#: Optimizers whose momentum term 1cycle cycles (``cycle_momentum``), and the parameter it replaces.
CYCLED_MOMENTUM: dict[str, str] = {"momentum": "momentum", "nesterov": "momentum", "adam": "beta_1",
                                   "adamax": "beta_1", "nadam": "beta_1", "adamw": "beta_1"}

RELU_FAMILY = ("relu", "leaky_relu", "prelu", "elu", "gelu", "silu", "swish", "mish")
INIT_ALIASES = {"glorot": "glorot_uniform", "he": "he_normal", "lecun": "lecun_normal"}


def with_defaults(params: dict[str, Any]) -> dict[str, Any]:
    """The catalogue defaults overlaid with ``params``."""
    return {**DEFAULTS, **{k: v for k, v in params.items() if v is not None or k in DEFAULTS}}


def layer_widths(params: dict[str, Any]) -> list[int]:
    """Hidden-layer widths: a list as given, else ``n_hidden`` layers shaped constant or funnel."""
    n_neurons = params["n_neurons"]
    if isinstance(n_neurons, list):
        return [int(w) for w in n_neurons]
    width, count = int(n_neurons), int(params["n_hidden"])
    if params["shape"] == "funnel":
        return [max(8, width // (2**i)) for i in range(count)]
    return [width] * count


def cycled_momentum(params: dict[str, Any]) -> tuple[float, float] | None:
    """``(low, high)`` when 1cycle cycles this optimizer's momentum term, else ``None``.

    With ``schedule: one_cycle`` and ``cycle_momentum: [low, high]``, the momentum of ``momentum`` /
    ``nesterov`` or the ``beta_1`` of the Adam family goes from high down to low while the LR rises
    (the first 45 % of the run), back up to high while it falls (the next 45 %), and stays at high
    for the last 10 % (Géron, "Hands-On ML" ch. 11). The fixed ``momentum`` / ``beta_1`` is then unused.
    """
    bounds = params.get("cycle_momentum")
    if params.get("schedule") != "one_cycle" or not bounds or params.get("optimizer") not in CYCLED_MOMENTUM:
        return None
    low, high = bounds
    return float(low), float(high)


def batch_norm_mode(value: Any) -> str:
    """``none`` | ``before`` | ``after`` (the activation); a YAML ``true`` means before, ``false`` none."""
    return {True: "before", False: "none", None: "none"}.get(value, value)


def same_activation(a: Any, b: Any) -> bool:
    """True when two activation names build the same layer (``swish`` is ``silu``)."""
    def canonical(name: Any) -> Any:
        return ACTIVATION_ALIASES.get(name, name) if isinstance(name, str) else name

    return canonical(a) == canonical(b)


def initializer_for(activation: str, initializer: str) -> str:
    """Resolve ``auto`` (He for the ReLU family, LeCun for SELU, Glorot otherwise) and short names."""
    if initializer == "auto":
        if activation in RELU_FAMILY:
            return "he_normal"
        return "lecun_normal" if activation == "selu" else "glorot_uniform"
    return INIT_ALIASES.get(initializer, initializer)


def parse_sep(value: str) -> str:
    """A CSV separator as ``data.sep`` (or ``predict --sep``) gives it: the character, or its word (``tab``).

    Raises:
        ValueError: naming what is allowed.
    """
    words = {word: char for char, word in CSV_SEPARATORS.items()}
    if value in CSV_SEPARATORS:
        return value
    if value.strip().lower() in words:
        return words[value.strip().lower()]
    allowed = " ".join(repr(char) for char in CSV_SEPARATORS)
    raise ValueError(f"unknown separator {show(value)}; allowed: {allowed} (or {', '.join(words)}); "
                     "leave it out to detect it")


def parse_duration(text: str) -> float:
    """``"90"``, ``"90s"``, ``"10m"``, ``"1.5h"`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise ValueError(f"a duration is a number with an optional unit s, m or h (e.g. 10m), got {show(text)}")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]
