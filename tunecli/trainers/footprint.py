"""What a trained network costs to ship: its parameters, its prediction latency on a CPU and its file size.

NumPy only (no Keras, no JAX), from the weights as Keras holds them (``trainers.keras.weights``: per layer, in
order, Dense kernel and bias — no bias before batch norm —, batch norm's gamma, beta, moving mean and moving
variance, PReLU's alpha), so every trial is measured the same way whichever trainer trained it, and ``tunecli
train`` measures the model it trains the same way again.

- ``params``: exact: the number of values in those arrays (Keras' ``model.count_params()`` of the network), or
  counted from the configuration when a trial left no weights (``network_params``).
- ``latency``: the network's forward pass on a batch of 256 rows, float32, on one CPU thread: the median of
  ``REPEATS`` timed passes after ``WARMUP`` untimed ones (at least ``MIN_REPEATS`` once they add up to ``BUDGET_MS``),
  in milliseconds, with the interquartile range as its spread.
- ``size``: an estimate of the bytes of the network's ``.keras`` file (``model.save``): 4 bytes a parameter (float32
  weights) plus the archive's overhead per array and per layer, measured on Keras 3 ``.keras`` files (within 3 % on
  the networks of ``tests/trainers/test_footprint.py``); a model ``tunecli train`` ships adds its preprocessing
  layers, the same for every trial of a study.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from tunecli.config.catalogue import batch_norm_mode, layer_widths, with_defaults

ROWS = 256
WARMUP = 2
REPEATS = 25
#: A large network is timed fewer times (at least ``MIN_REPEATS``) once its timed passes add up to ``BUDGET_MS``:
#: what a trial pays for the measure stays a few tens of milliseconds.
MIN_REPEATS, BUDGET_MS = 7, 50.0
BN_EPSILON = 1e-3  # Keras' BatchNormalization default
#: The ``.keras`` file's bytes beyond its float32 weights: a fixed part, per weight array, per layer (Keras 3).
FILE_BASE, FILE_PER_ARRAY, FILE_PER_LAYER = 7100, 700, 2400


class Footprint(NamedTuple):
    """A trained network's costs: parameters, latency in ms (median, interquartile range), file size in bytes."""

    params: int
    latency_ms: float | None
    latency_iqr_ms: float | None
    size_bytes: int


def network_params(params: dict[str, Any], n_features: int, n_outputs: int) -> int:
    """The parameters of the network a configuration builds (``build_mlp``), without building it."""
    p = with_defaults(params)
    bn, prelu = batch_norm_mode(p["batch_norm"]), p["activation"] == "prelu"
    total, fan_in = 0, n_features
    for width in layer_widths(p):
        total += fan_in * width + (0 if bn == "before" else width) + (4 * width if bn != "none" else 0)
        total += width if prelu else 0
        fan_in = width
    return total + fan_in * n_outputs + n_outputs


def file_size(params: dict[str, Any], n_params: int, hidden: int | None = None) -> int:
    """The estimated bytes of the network's ``.keras`` file (see the module's note); ``hidden``: its hidden layers
    (default: as the configuration says)."""
    p = with_defaults(params)
    bn = batch_norm_mode(p["batch_norm"])
    hidden = len(layer_widths(p)) if hidden is None else hidden
    per_layer = 2 + (bn != "none") + bool(p["dropout"])            # Dense, activation, batch norm, dropout
    arrays = (1 + (bn != "before") + 4 * (bn != "none") + (p["activation"] == "prelu")) * hidden + 2
    return FILE_BASE + FILE_PER_ARRAY * arrays + FILE_PER_LAYER * (1 + per_layer * hidden + 1) + 4 * n_params


def measure(params: dict[str, Any], weights: list[np.ndarray] | None, n_features: int, n_outputs: int) -> Footprint:
    """The footprint of a trained network (``weights``: Keras' list; None: no latency, parameters counted)."""
    if not weights:
        n_params = network_params(params, n_features, n_outputs)
        return Footprint(n_params, None, None, file_size(params, n_params))
    n_params = sum(int(np.size(w)) for w in weights)
    median, iqr = latency(forward(params, weights), n_features)
    return Footprint(n_params, median, iqr, file_size(params, n_params, hidden_layers(weights)))


def hidden_layers(weights: list[np.ndarray]) -> int:
    """The hidden layers of a network's weights: its kernels (the only 2-D arrays) but the output layer's."""
    return sum(1 for w in weights if np.ndim(w) == 2) - 1


def latency(predict: Callable[[np.ndarray], Any], n_features: int) -> tuple[float, float]:
    """The median and interquartile range (ms) of up to ``REPEATS`` timed predictions of ``ROWS`` rows, one thread
    (see the module's note)."""
    x = np.random.default_rng(0).standard_normal((ROWS, n_features), dtype=np.float32)
    with _one_thread():
        for _ in range(WARMUP):
            predict(x)
        times: list[float] = []
        while len(times) < REPEATS and (len(times) < MIN_REPEATS or sum(times) < BUDGET_MS):
            start = time.perf_counter()
            predict(x)
            times.append((time.perf_counter() - start) * 1e3)
    q1, median, q3 = np.percentile(times, [25, 50, 75])
    return round(float(median), 4), round(float(q3 - q1), 4)


def _one_thread() -> Any:
    """BLAS on one thread while timing (the same on a busy machine as on an idle one), where threadpoolctl is."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def forward(params: dict[str, Any], weights: list[np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """The network's inference pass in NumPy (dropout off, batch norm on its moving statistics)."""
    p = with_defaults(params)
    bn, act, alpha = batch_norm_mode(p["batch_norm"]), p["activation"], p["alpha"]
    arrays = [np.asarray(w, np.float32) for w in weights]
    steps: list[Callable[[np.ndarray], np.ndarray]] = []
    at = 0
    for _ in range(hidden_layers(arrays)):   # the weights say how many (reused layers may differ from the file's)
        kernel, at = arrays[at], at + 1
        bias = None
        if bn != "before":
            bias, at = arrays[at], at + 1
        steps.append(_dense(kernel, bias))
        if bn == "before":
            steps.append(_norm(arrays[at:at + 4]))
            at += 4
        if act == "prelu":
            steps.append(_prelu(arrays[at]))
            at += 1
        else:
            steps.append(ACTIVATIONS[act](alpha))
        if bn == "after":
            steps.append(_norm(arrays[at:at + 4]))
            at += 4
    steps.append(_dense(arrays[at], arrays[at + 1]))
    if arrays[at].shape[1] > 1:
        steps.append(_softmax)

    def predict(x: np.ndarray) -> np.ndarray:
        for step in steps:
            x = step(x)
        return x

    return predict


def _dense(kernel: np.ndarray, bias: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    return (lambda x: x @ kernel) if bias is None else (lambda x: x @ kernel + bias)


def _norm(stats: list[np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    gamma, beta, mean, var = stats
    scale = gamma / np.sqrt(var + BN_EPSILON)
    shift = beta - mean * scale
    return lambda x: x * scale + shift


def _prelu(alpha: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: np.where(x > 0, x, alpha * x)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # Keras' gelu is the exact one

    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805

#: Each catalogue activation (but PReLU, which has weights) as a NumPy function, given ``alpha``.
ACTIVATIONS: dict[str, Callable[[float | None], Callable[[np.ndarray], np.ndarray]]] = {
    "relu": lambda a: lambda x: np.maximum(x, 0),
    "leaky_relu": lambda a: lambda x: np.where(x > 0, x, (0.2 if a is None else a) * x),
    "elu": lambda a: lambda x: np.where(x > 0, x, (1.0 if a is None else a) * np.expm1(np.minimum(x, 0))),
    "selu": lambda a: lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "gelu": lambda a: _gelu,
    "silu": lambda a: lambda x: x * _sigmoid(x),
    "swish": lambda a: lambda x: x * _sigmoid(x),
    "mish": lambda a: lambda x: x * np.tanh(np.logaddexp(0, x)),
    "tanh": lambda a: np.tanh,
    "sigmoid": lambda a: _sigmoid,
}
