"""Host-side starting point of a trial: Keras' initializers on padded shapes, and the scalar inputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tunecli.config.catalogue import CYCLED_MOMENTUM, cycled_momentum, initializer_for
from tunecli.trainers.fast.structure import Structure, layout

TRUNC_STD = 0.87962566103423978  # std of a unit normal truncated at +-2


def initial_theta(p: dict[str, Any], st: Structure, widths: list[int], rng: np.random.Generator) -> dict:
    """Keras' initializers on the real shapes, zero-padded, flattened; with the masks that go with them.

    Returns ``theta`` (parameters), ``mask`` (1 on real entries), ``reg`` (1 on real hidden-kernel
    entries: what L1/L2 penalize) and ``var_id`` (which Keras variable each entry belongs to).
    """
    init = initializer_for(p["activation"], p["initializer"])
    real = [st.n_features, *widths, st.n_out]
    last = len(widths)
    parts: dict[str, list[np.ndarray]] = {"theta": [], "mask": [], "reg": [], "var_id": []}
    for var_id, (name, i, shape) in enumerate(layout(st)):
        fan_in, fan_out = real[i], real[i + 1]
        value = np.zeros(shape, np.float32)
        mask = np.zeros(shape, np.float32)
        if name == "kernel":
            value[:fan_in, :fan_out] = draw(init if i < last else "glorot_uniform", fan_in, fan_out, rng)
            mask[:fan_in, :fan_out] = 1.0
        else:  # bias, PReLU alpha, batch-norm beta start at 0, gamma at 1; no bias before batch norm
            value[:fan_out] = 1.0 if name == "gamma" else 0.0
            mask[:fan_out] = 0.0 if name == "bias" and i < last and st.batch_norm == "before" else 1.0
        parts["theta"].append(value.ravel())
        parts["mask"].append(mask.ravel())
        parts["reg"].append(mask.ravel() * (name == "kernel" and i < last))
        parts["var_id"].append(np.full(value.size, var_id, np.int32))
    return {k: np.concatenate(v) for k, v in parts.items()}


def load_base(theta: np.ndarray, st: Structure, widths: list[int], reused: tuple) -> None:
    """Write the reused layers' kernels and biases (``BaseLayer``) into the real part of the flat ``theta``,
    in place; before batch norm the hidden layers have no bias: the base's is dropped."""
    real = [st.n_features, *widths]
    at = 0
    for name, i, shape in layout(st):
        size = math.prod(shape)
        if i < len(reused) and name == "kernel":
            theta[at:at + size].reshape(shape)[:real[i], :real[i + 1]] = reused[i].kernel
        elif i < len(reused) and name == "bias" and st.batch_norm != "before":
            theta[at:at + size][:real[i + 1]] = reused[i].bias
        at += size


def trained_vars(st: Structure, n_frozen: int) -> np.ndarray:
    """1 for each variable of the layout that trains, 0 for the kernels and biases of the first ``n_frozen``
    hidden layers (the reused ones while frozen); indexed by ``var_id``."""
    return np.array([0.0 if i < n_frozen and name in ("kernel", "bias") else 1.0 for name, i, _ in layout(st)],
                    np.float32)


def initial_bn(st: Structure) -> tuple:
    """Moving mean 0 and variance 1 for each batch-norm layer (Keras' initial values)."""
    if st.batch_norm == "none":
        return ()
    return tuple((np.zeros(w, np.float32), np.ones(w, np.float32)) for w in st.widths)


def draw(kind: str, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    family, dist = kind.split("_")
    scale = {"glorot": 2.0 / (fan_in + fan_out), "he": 2.0 / fan_in, "lecun": 1.0 / fan_in}[family]
    if dist == "uniform":
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, (fan_in, fan_out))
    draws = rng.standard_normal((fan_in, fan_out))
    while (bad := np.abs(draws) > 2.0).any():
        draws[bad] = rng.standard_normal(int(bad.sum()))
    return draws * math.sqrt(scale) / TRUNC_STD


def hyper(p: dict[str, Any], st: Structure, steps: int, max_epochs: int) -> dict[str, Any]:
    """The scalar inputs of the program for this trial."""
    act, alpha = p["activation"], p["alpha"]
    bounds = [b * max_epochs if b < 1 else b for b in p["piecewise_boundaries"]] if st.n_boundaries else [0.0]
    values = {
        "lr": p["learning_rate"], "lr_scale": 1.0, "steps_per_epoch": max(1, steps), "rate": p["dropout"] or 0.0,
        "alpha": (0.2 if act == "leaky_relu" else 1.0) if alpha is None else alpha,
        "l1": p["l1"], "l2": p["l2"], "max_norm": p["max_norm"] or 0.0, "momentum": p["momentum"],
        "beta_1": p["beta_1"], "beta_2": p["beta_2"], "rho": p["rho"], "weight_decay": p["weight_decay"],
        "clipnorm": p["clipnorm"] or 0.0, "clipvalue": p["clipvalue"] or 0.0, "c": p["power_c"],
        "s": p["power_steps"] if st.schedule == "power" else p["decay_epochs"],
        "rate_decay": p["decay_rate"], "factor": p["piecewise_factor"], "div": p["cycle_div"],
        "epochs": max(1, max_epochs), "decay_steps": max(1, steps * max_epochs), "cosine_alpha": p["cosine_alpha"],
    }
    # 1cycle's momentum term: the bounds, or both the fixed value (no cycling; inputs, so no new program)
    fixed = p[CYCLED_MOMENTUM.get(p["optimizer"], "momentum")]
    values["cycle_low"], values["cycle_high"] = cycled_momentum(p) or (fixed, fixed)
    hp: dict[str, Any] = {k: np.float32(v) for k, v in values.items()}
    hp["boundaries"] = np.asarray(bounds, np.float32)
    return hp
