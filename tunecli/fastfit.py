"""The fast trainer: the MLPs of ``build_mlp`` trained by a few lines of JAX instead of ``model.fit``.

Why: on small tabular data a Keras trial costs about a second of model building and tracing
before its first epoch, and 0.07-0.2 s per epoch after it. Here one compiled step function
serves every trial with the same *structure*; everything a sampler varies continuously (learning
rate, dropout rate, momentum, betas, L1/L2, max-norm, clipping, schedule parameters) is an input,
not a constant, and hidden widths are padded to a few buckets with masked units (exactly zero,
so the network is the one asked for). A trial whose structure was seen before starts at once.

The maths follows Keras: initializers (truncated normal for ``*_normal``), the activations (PReLU
with per-unit slopes), batch norm, dropout, alpha and MC dropout, the optimizers' update rules and
epsilons, per-variable ``clipnorm``, the schedules of ``tunecli.schedules``, reduce-on-plateau,
early stopping, the last partial batch. Configurations this trainer does not cover (``supported``
says why) are trained by Keras.
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import numpy as np

from tunecli import interrupt
from tunecli.catalogue import batch_norm_mode, initializer_for, layer_widths
from tunecli.trial import Fitted

if TYPE_CHECKING:
    from tunecli.data import Dataset
    from tunecli.objective import Objective
    from tunecli.space import Training

EVAL_CHUNK = 4096
SCAN_MIN_STEPS = 100  # epochs of at least this many batches run as one compiled loop
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
TRUNC_STD = 0.87962566103423978  # std of a unit normal truncated at +-2


def supported(p: dict[str, Any], training: Training, keep_model: bool = False) -> str | None:
    """``None`` when this trainer can train ``p`` (catalogue defaults filled in), else why not."""
    if training.trainer != "auto":
        return f"trainer: {training.trainer}"
    if keep_model:
        return "a Keras model is wanted"
    reasons = {"per-layer widths": isinstance(p["n_neurons"], list),
               "clipnorm with clipvalue": p["clipnorm"] is not None and p["clipvalue"] is not None}
    for reason, hit in reasons.items():
        if hit:
            return reason
    if importlib.util.find_spec("jax") is None:
        return "JAX is not installed"
    return None


class Structure(NamedTuple):
    """Everything that shapes the compiled program (the rest are inputs)."""

    widths: tuple[int, ...]     # padded hidden widths
    n_features: int
    n_out: int
    loss: str                   # sparse_ce | mse | huber | mae
    activation: str
    batch_norm: str             # none | before | after (the activation)
    dropout: str                # none | dropout | alpha
    mc_dropout: bool            # dropout stays on when evaluating
    l1: bool
    l2: bool
    max_norm: bool
    optimizer: str
    clip: str                   # none | norm | value
    schedule: str
    n_boundaries: int
    batch: int


def bucket(width: int) -> int:
    """Round a width up to 8, 12, 16, 24, 32, 48, 64, then to a multiple of 32 (at most 1.5x the units
    asked for; about 1.1x above 64 units, where the compute a padded unit wastes starts to matter)."""
    if width > 64:
        return -(-width // 32) * 32
    size = 8
    while size < width:
        size = size * 3 // 2 if (size & (size - 1)) == 0 else size * 4 // 3
    return size


def _activate(name: str, z: Any, alpha: Any) -> Any:
    import jax
    import jax.numpy as jnp

    if name == "leaky_relu":
        return jnp.where(z >= 0, z, alpha * z)
    if name == "elu":
        return jnp.where(z > 0, z, alpha * (jnp.exp(jnp.minimum(z, 0.0)) - 1.0))
    if name == "gelu":
        return jax.nn.gelu(z, approximate=False)
    if name == "mish":
        return z * jnp.tanh(jax.nn.softplus(z))
    return {"relu": jax.nn.relu, "selu": jax.nn.selu, "silu": jax.nn.silu, "swish": jax.nn.silu,
            "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[name](z)


def layer_shapes(st: Structure) -> list[tuple[int, int]]:
    """(inputs, units) of every Dense layer, padded."""
    sizes = [st.n_features, *st.widths, st.n_out]
    return list(zip(sizes[:-1], sizes[1:]))


def layout(st: Structure) -> list[tuple[str, int, tuple[int, ...]]]:
    """(name, layer, shape) of each Keras variable in the flat parameter vector, in order."""
    out: list[tuple[str, int, tuple[int, ...]]] = []
    shapes = layer_shapes(st)
    for i, (n_in, n_out) in enumerate(shapes):
        out += [("kernel", i, (n_in, n_out)), ("bias", i, (n_out,))]
        if i < len(shapes) - 1 and st.activation == "prelu":
            out.append(("alpha", i, (n_out,)))
        if i < len(shapes) - 1 and st.batch_norm != "none":
            out += [("gamma", i, (n_out,)), ("beta", i, (n_out,))]
    return out


def _unflatten(st: Structure, theta: Any) -> list[dict[str, Any]]:
    """The flat vector as one dict of variables per Dense layer."""
    layers: list[dict[str, Any]] = [{} for _ in layer_shapes(st)]
    at = 0
    for name, i, shape in layout(st):
        size = math.prod(shape)
        layers[i][name] = theta[at:at + size].reshape(shape)
        at += size
    return layers


BN_MOMENTUM, BN_EPSILON = 0.99, 1e-3  # Keras' BatchNormalization defaults


def _batch_norm(h: Any, layer: dict, stats: tuple, row_w: Any) -> tuple[Any, tuple]:
    """Keras' BatchNormalization: batch moments (of the weighted rows) when training, else the moving ones."""
    import jax.numpy as jnp

    mean, var = stats
    if row_w is not None:
        n = jnp.sum(row_w)
        batch_mean = jnp.sum(h * row_w[:, None], axis=0) / n
        batch_var = jnp.sum((h - batch_mean) ** 2 * row_w[:, None], axis=0) / n
        stats = (mean * BN_MOMENTUM + batch_mean * (1 - BN_MOMENTUM), var * BN_MOMENTUM + batch_var * (1 - BN_MOMENTUM))
        mean, var = batch_mean, batch_var
    return (h - mean) / jnp.sqrt(var + BN_EPSILON) * layer["gamma"] + layer["beta"], stats


def _forward(st: Structure, theta: Any, hp: dict, x: Any, noise: Any, bn: tuple,
             row_w: Any = None) -> tuple[Any, tuple]:
    """Logits (classification) or predictions, and the batch-norm moving statistics.

    Training mode when ``noise`` (uint16 per hidden unit, for dropout) and ``row_w`` are given.
    """
    import jax.numpy as jnp

    layers = _unflatten(st, theta * hp["mask"])  # padded rows and columns are zero: no effect, no gradient
    h, col, new_bn = x, 0, []
    for i, layer in enumerate(layers[:-1]):
        z = h @ layer["kernel"] + layer["bias"]
        if st.batch_norm == "before":
            z, stats = _batch_norm(z, layer, bn[i], row_w)
            new_bn.append(stats)
        h = jnp.where(z >= 0, z, layer["alpha"] * z) if st.activation == "prelu" else _activate(
            st.activation, z, hp["alpha"])
        if st.batch_norm == "after":
            h, stats = _batch_norm(h, layer, bn[i], row_w)
            new_bn.append(stats)
        if noise is not None and st.dropout != "none":
            width = layer["kernel"].shape[1]
            keep = noise[:, col:col + width].astype(jnp.float32) >= hp["rate"] * 65536.0
            col += width
            if st.dropout == "alpha":
                alpha_p = -SELU_ALPHA * SELU_SCALE
                a = ((1 - hp["rate"]) * (1 + hp["rate"] * alpha_p**2)) ** -0.5
                h = a * jnp.where(keep, h, alpha_p) - a * alpha_p * hp["rate"]
            else:
                h = jnp.where(keep, h / (1.0 - hp["rate"]), 0.0)
    return h @ layers[-1]["kernel"] + layers[-1]["bias"], tuple(new_bn)


def _losses(st: Structure, out: Any, y: Any) -> tuple[Any, Any]:
    """Per-row loss and per-row score (correct 0/1, or squared error)."""
    import jax
    import jax.numpy as jnp

    if st.loss == "sparse_ce":
        logp = jax.nn.log_softmax(out)
        loss = -jnp.take_along_axis(logp, y[:, None], axis=1)[:, 0]
        return loss, (jnp.argmax(out, axis=1) == y).astype(jnp.float32)
    err = out[:, 0] - y
    if st.loss == "huber":
        loss = jnp.where(jnp.abs(err) <= 1.0, 0.5 * err**2, jnp.abs(err) - 0.5)
    else:
        loss = jnp.abs(err) if st.loss == "mae" else err**2
    return loss, err


def _penalty(st: Structure, theta: Any, hp: dict) -> Any:
    """L1/L2 on the hidden kernels (``hp["reg"]`` marks their entries)."""
    import jax.numpy as jnp

    total = 0.0
    if st.l1:
        total = total + hp["l1"] * jnp.sum(jnp.abs(theta) * hp["reg"])
    if st.l2:
        total = total + hp["l2"] * jnp.sum(theta * theta * hp["reg"])
    return total


def _learning_rate(st: Structure, hp: dict, step: Any) -> Any:
    """The schedule at optimizer step ``step`` (0-based), as in ``tunecli.schedules``."""
    import jax.numpy as jnp

    lr, epoch = hp["lr"] * hp["lr_scale"], step / hp["steps_per_epoch"]
    if st.schedule == "power":
        return lr / (1.0 + epoch / hp["s"]) ** hp["c"]
    if st.schedule == "exponential":
        return lr * hp["rate_decay"] ** (epoch / hp["s"])
    if st.schedule == "piecewise":
        passed = jnp.sum((epoch >= hp["boundaries"]).astype(jnp.float32)) if st.n_boundaries else 0.0
        return lr * hp["factor"] ** passed
    if st.schedule == "one_cycle":
        t = jnp.clip(epoch / hp["epochs"], 0.0, 1.0)
        low, last = lr / hp["div"], lr / (hp["div"] * 1000.0)
        up = low + (lr - low) * t / 0.45
        down = lr - (lr - low) * (t - 0.45) / 0.45
        tail = low - (low - last) * (t - 0.9) / 0.1
        return jnp.where(t < 0.45, up, jnp.where(t < 0.9, down, tail))
    if st.schedule == "cosine":
        frac = jnp.minimum(step, hp["decay_steps"]) / hp["decay_steps"]
        return lr * ((1 - hp["cosine_alpha"]) * 0.5 * (1 + jnp.cos(jnp.pi * frac)) + hp["cosine_alpha"])
    return lr


def _update(st: Structure, hp: dict, p: Any, g: Any, slots: tuple, t: Any, lr: Any, u_prod: Any) -> tuple:
    """Keras' update rule on the flat parameter vector; ``t`` counts steps from 1."""
    import jax
    import jax.numpy as jnp

    eps, b1, b2 = 1e-7, hp["beta_1"], hp["beta_2"]
    if st.clip == "norm":  # per variable, as Keras' clipnorm
        n_vars = len(layout(st))
        norms = jnp.sqrt(jax.ops.segment_sum(g * g, hp["var_id"], num_segments=n_vars))
        scale = jnp.where(norms > hp["clipnorm"], hp["clipnorm"] / jnp.maximum(norms, 1e-12), 1.0)
        g = g * scale[hp["var_id"]]
    elif st.clip == "value":
        g = jnp.clip(g, -hp["clipvalue"], hp["clipvalue"])
    name = st.optimizer
    if name == "sgd":
        return p - lr * g, slots
    if name in ("momentum", "nesterov"):
        m = hp["momentum"] * slots[0] - lr * g
        step = hp["momentum"] * m - lr * g if name == "nesterov" else m
        return p + step, (m,)
    if name == "adagrad":
        acc = slots[0] + g * g
        return p - lr * g / jnp.sqrt(acc + eps), (acc,)
    if name == "rmsprop":
        v = hp["rho"] * slots[0] + (1 - hp["rho"]) * g * g
        return p - lr * g / jnp.sqrt(v + eps), (v,)
    m = slots[0] + (g - slots[0]) * (1 - b1)
    if name == "adamax":
        u = jnp.maximum(b2 * slots[1], jnp.abs(g))
        return p - lr * m / ((1 - b1**t) * (u + eps)), (m, u)
    v = slots[1] + (g * g - slots[1]) * (1 - b2)
    if name == "nadam":
        u_t = b1 * (1.0 - 0.5 * 0.96**t)
        u_next = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        m_hat = u_next * m / (1 - u_prod * u_next) + (1 - u_t) * g / (1 - u_prod)
        return p - lr * m_hat / (jnp.sqrt(v / (1 - b2**t)) + eps), (m, v)
    if name == "adamw":
        p = p - p * hp["weight_decay"] * lr
    alpha = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
    return p - alpha * m / (jnp.sqrt(v) + eps), (m, v)


def _n_slots(optimizer: str) -> int:
    return {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1}.get(optimizer, 2)


def _train_step(st: Structure, state: dict, hp: dict, x: Any, y: Any, idx: Any, row_w: Any, noise: Any) -> dict:
    """One optimizer step on batch number ``state["pos"]`` of this epoch's ``idx``."""
    import jax
    import jax.numpy as jnp

    pos = state["pos"]
    rows, w = idx[pos], row_w[pos]

    def objective(theta: Any) -> tuple[Any, Any]:
        out, bn = _forward(st, theta, hp, x[rows], noise[pos], state["bn"], w)
        loss, score = _losses(st, out, y[rows])
        return jnp.sum(loss * w) / jnp.sum(w) + _penalty(st, theta, hp), (score, bn)

    (total, (score, bn)), grad = jax.value_and_grad(objective, has_aux=True)(state["theta"])
    t = state["t"] + 1.0
    lr = _learning_rate(st, hp, state["t"])
    u_prod = state["u_prod"] * hp["beta_1"] * (1.0 - 0.5 * 0.96**t)
    theta, slots = _update(st, hp, state["theta"], grad, state["slots"], t, lr, u_prod)
    if st.max_norm:
        theta = _max_norm(st, theta, hp["max_norm"])
    # Keras' "loss": the mean data loss plus the penalty, averaged over the epoch's rows
    sums = _sums(st, total * jnp.sum(w), score, w)
    return {**state, "theta": theta, "slots": slots, "t": t, "u_prod": u_prod, "pos": pos + 1,
            "stats": state["stats"] + sums, "bn": bn}


def _sums(st: Structure, loss_sum: Any, score: Any, row_w: Any) -> Any:
    """[loss, correct rows or squared error, absolute error, rows], summed over the weighted rows."""
    import jax.numpy as jnp

    if st.loss == "sparse_ce":
        return jnp.stack([loss_sum, jnp.sum(score * row_w), 0.0, jnp.sum(row_w)])
    return jnp.stack([loss_sum, jnp.sum(score * score * row_w), jnp.sum(jnp.abs(score) * row_w), jnp.sum(row_w)])


def _max_norm(st: Structure, theta: Any, limit: Any) -> Any:
    """Keras' MaxNorm on each hidden kernel (column norms at most ``limit``)."""
    import jax.numpy as jnp

    parts, at, last = [], 0, len(layer_shapes(st)) - 1
    for name, i, shape in layout(st):
        part = theta[at:at + math.prod(shape)]
        at += part.shape[0]
        if name == "kernel" and i < last:
            w = part.reshape(shape)
            norms = jnp.sqrt(jnp.sum(w * w, axis=0, keepdims=True))
            part = (w * jnp.clip(norms, 0.0, limit) / (1e-7 + norms)).ravel()
        parts.append(part)
    return jnp.concatenate(parts)


def _evaluate(st: Structure, theta: Any, bn: tuple, hp: dict, x: Any, y: Any, row_w: Any, noise: Any) -> Any:
    """``_sums`` over the chunk. ``noise`` drives dropout under MC dropout (on at inference), else unused."""
    import jax.numpy as jnp

    loss, score = _losses(st, _forward(st, theta, hp, x, noise if st.mc_dropout else None, bn)[0], y)
    return _sums(st, jnp.sum((loss + _penalty(st, theta, hp)) * row_w), score, row_w)


def _train_epoch(st: Structure, state: dict, hp: dict, x: Any, y: Any, idx: Any, row_w: Any, noise: Any) -> dict:
    """Every step of one epoch in one compiled loop (for long epochs: each call of a compiled program
    costs ~0.3 ms on CPU, more than a small step's compute; the loop costs ~0.2 s more to compile)."""
    import jax

    def body(carry: dict, _: Any) -> tuple[dict, None]:
        return _train_step(st, carry, hp, x, y, idx, row_w, noise), None

    return jax.lax.scan(body, state, None, length=idx.shape[0])[0]


@lru_cache(maxsize=None)
def _jax() -> Any:
    """Import JAX with tunecli's XLA flags and persistent compile cache (if any)."""
    from tunecli.runtime import compilation_cache_dir, configure_xla

    configure_xla()
    import jax

    cache = compilation_cache_dir()
    if cache and not jax.config.jax_compilation_cache_dir:
        try:
            os.makedirs(cache, exist_ok=True)
            jax.config.update("jax_compilation_cache_dir", cache)
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        except OSError:
            pass  # an unwritable cache folder only costs compile time
    return jax


_EXECUTABLES: OrderedDict[tuple, Any] = OrderedDict()
_LOCK = threading.Lock()
MAX_EXECUTABLES = 512
#: Evaluation runs once an epoch: compiled for compile speed (LLVM -O0 halves its compile time).
_FAST_COMPILE = {"xla_backend_optimization_level": 0}


def executable(fn: Callable, st: Structure, *args: Any, fast_compile: bool = False) -> Callable:
    """``fn`` compiled for this structure and these argument shapes, reused across trials."""
    jax = _jax()
    key = (fn.__name__, st, jax.tree.structure(args),
           tuple((a.shape, str(a.dtype)) for a in jax.tree.leaves(args)))
    with _LOCK:
        if key in _EXECUTABLES:
            _EXECUTABLES.move_to_end(key)
            return _EXECUTABLES[key]
    lowered = jax.jit(fn, static_argnums=0).lower(st, *args)
    compiled = lowered.compile(_FAST_COMPILE) if fast_compile else lowered.compile()
    with _LOCK:
        _EXECUTABLES[key] = compiled
        while len(_EXECUTABLES) > MAX_EXECUTABLES:
            _EXECUTABLES.popitem(last=False)
    return compiled


def forward_only(st: Structure) -> Structure:
    """The part of the structure evaluation depends on (shared across batch sizes, optimizers...)."""
    return st._replace(dropout=st.dropout if st.mc_dropout else "none", max_norm=False, optimizer="", clip="none",
                       schedule="", n_boundaries=0, batch=0)


# ----------------------------------------------------------------------------------------- host side

def _initial_theta(p: dict[str, Any], st: Structure, widths: list[int], rng: np.random.Generator) -> dict:
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
            value[:fan_in, :fan_out] = _draw(init if i < last else "glorot_uniform", fan_in, fan_out, rng)
            mask[:fan_in, :fan_out] = 1.0
        else:  # bias, PReLU alpha, batch-norm beta start at 0, gamma at 1; no bias before batch norm
            value[:fan_out] = 1.0 if name == "gamma" else 0.0
            mask[:fan_out] = 0.0 if name == "bias" and i < last and st.batch_norm == "before" else 1.0
        parts["theta"].append(value.ravel())
        parts["mask"].append(mask.ravel())
        parts["reg"].append(mask.ravel() * (name == "kernel" and i < last))
        parts["var_id"].append(np.full(value.size, var_id, np.int32))
    return {k: np.concatenate(v) for k, v in parts.items()}


def _initial_bn(st: Structure) -> tuple:
    """Moving mean 0 and variance 1 for each batch-norm layer (Keras' initial values)."""
    if st.batch_norm == "none":
        return ()
    return tuple((np.zeros(w, np.float32), np.ones(w, np.float32)) for w in st.widths)


def _draw(kind: str, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    family, dist = kind.split("_")
    scale = {"glorot": 2.0 / (fan_in + fan_out), "he": 2.0 / fan_in, "lecun": 1.0 / fan_in}[family]
    if dist == "uniform":
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, (fan_in, fan_out))
    draws = rng.standard_normal((fan_in, fan_out))
    while (bad := np.abs(draws) > 2.0).any():
        draws[bad] = rng.standard_normal(int(bad.sum()))
    return draws * math.sqrt(scale) / TRUNC_STD


def _hyper(p: dict[str, Any], st: Structure, steps: int, max_epochs: int) -> dict[str, Any]:
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
    hp: dict[str, Any] = {k: np.float32(v) for k, v in values.items()}
    hp["boundaries"] = np.asarray(bounds, np.float32)
    return hp


def structure_of(p: dict[str, Any], dataset: Dataset, batch: int) -> tuple[Structure, list[int]]:
    """The structure of ``p`` on this data set, and its real (unpadded) hidden widths."""
    widths = layer_widths(p)
    if dataset.task == "classification":
        loss, n_out = "sparse_ce", dataset.n_classes
    else:
        loss, n_out = {"auto": "mse"}.get(p["loss"], p["loss"]), 1
    dropout = "none" if not p["dropout"] else ("alpha" if p["activation"] == "selu" else "dropout")
    clip = "norm" if p["clipnorm"] is not None else ("value" if p["clipvalue"] is not None else "none")
    schedule = "constant" if p["schedule"] == "performance" else p["schedule"]
    n_bounds = len(p["piecewise_boundaries"]) if schedule == "piecewise" else 0
    st = Structure(tuple(bucket(w) for w in widths), dataset.n_features, n_out, loss, p["activation"],
                   batch_norm_mode(p["batch_norm"]), dropout,
                   bool(p["mc_dropout"]) and dropout != "none",
                   bool(p["l1"]), bool(p["l2"]), bool(p["max_norm"]), p["optimizer"], clip, schedule, n_bounds, batch)
    return st, widths


class _Cached:
    """Device copies of one array pair, kept while the same arrays are trained on (the host arrays are
    held too, so that their ids cannot be reused by other arrays meanwhile)."""

    def __init__(self) -> None:
        self.host: tuple | None = None
        self.value: tuple | None = None

    def get(self, x: np.ndarray, y: np.ndarray, classification: bool) -> tuple[Any, Any]:
        import jax.numpy as jnp

        if self.host is None or not (self.host[0] is x and self.host[1] is y and self.host[2] == classification):
            self.value = (jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32 if classification else jnp.float32))
            self.host = (x, y, classification)
        return self.value


_TRAIN, _VAL = _Cached(), _Cached()


def _eval_chunks(x: np.ndarray, y: np.ndarray, classification: bool) -> list[tuple[Any, Any, Any]]:
    """Validation rows as equal chunks (the last one padded, with zero weights)."""
    import jax.numpy as jnp

    xd, yd = _VAL.get(x, y, classification)
    n = len(x)
    if n <= EVAL_CHUNK:
        return [(xd, yd, jnp.ones(n, jnp.float32))]
    chunks = []
    for start in range(0, n, EVAL_CHUNK):
        rows = np.arange(start, start + EVAL_CHUNK) % n
        chunks.append((xd[rows], yd[rows], jnp.asarray((np.arange(start, start + EVAL_CHUNK) < n).astype(np.float32))))
    return chunks


def fit(p: dict[str, Any], dataset: Dataset, training: Training, objective: Objective, *,
        on_epoch: Callable[[int, float, dict[str, float]], bool] | None = None, seed: int | None = None,
        x: np.ndarray | None = None, y: np.ndarray | None = None,
        validation: tuple[np.ndarray, np.ndarray] | None = None) -> Fitted:
    """Train ``p`` (defaults filled in) with early stopping, pruning and reduce-on-plateau."""
    jax = _jax()  # before any other JAX import: XLA flags and the compile cache
    import jax.numpy as jnp

    classification = dataset.task == "classification"
    x = dataset.x_train if x is None else x
    y = dataset.y_train if y is None else y
    x_val, y_val = (dataset.x_val, dataset.y_val) if validation is None else validation
    batch = min(int(p["batch_size"]), len(x))
    steps = max(1, math.ceil(len(x) / batch))
    st, widths = structure_of(p, dataset, int(p["batch_size"]))
    rng = np.random.default_rng(seed)
    xd, yd = _TRAIN.get(x, y, classification)
    chunks = _eval_chunks(x_val, y_val, classification)
    init = _initial_theta(p, st, widths, rng)
    hp = jax.device_put({**_hyper(p, st, steps, training.max_epochs),
                         **{k: init[k] for k in ("mask", "reg", "var_id")}})
    slot = np.full_like(init["theta"], 0.1 if st.optimizer == "adagrad" else 0.0)
    state = jax.device_put({"theta": init["theta"], "slots": (slot,) * _n_slots(st.optimizer), "t": np.float32(0),
                            "u_prod": np.float32(1), "pos": np.int32(0), "stats": np.zeros(4, np.float32),
                            "bn": _initial_bn(st)})
    zero_pos, zero_stats = jnp.int32(0), jnp.zeros(4, jnp.float32)
    row_w = np.ones((steps, st.batch), np.float32)
    row_w[-1, len(x) - (steps - 1) * batch:] = 0.0
    row_w[:, batch:] = 0.0
    row_w_d = jnp.asarray(row_w)
    units = sum(st.widths) if st.dropout != "none" else 1
    names = ("loss", "accuracy") if classification else ("loss", "rmse", "mae")
    history: dict[str, list[float]] = {k: [] for k in (*names, *(f"val_{n}" for n in names))}
    plateau = _Plateau(p, objective) if p["schedule"] == "performance" else None
    stopper = _EarlyStop(training, objective)
    pruned, diverged, first = False, None, None
    fit_start = time.perf_counter()

    def epoch_inputs() -> tuple[Any, Any]:
        order = np.concatenate([rng.permutation(len(x)), np.zeros(steps * st.batch - len(x), np.int64)])
        noise = np.frombuffer(rng.bytes(2 * steps * st.batch * units), np.uint16).reshape(steps, st.batch, units)
        return jnp.asarray(order.reshape(steps, st.batch).astype(np.int32)), jnp.asarray(noise)

    def eval_noise(rows: int) -> Any:
        if not st.mc_dropout:
            return no_noise
        return jnp.asarray(np.frombuffer(rng.bytes(2 * rows * units), np.uint16).reshape(rows, units))

    no_noise = jnp.zeros((len(chunks[0][2]), 1), jnp.uint16)
    idx, noise = epoch_inputs()
    train_fn = _train_epoch if steps >= SCAN_MIN_STEPS else _train_step
    with ThreadPoolExecutor(1) as pool:  # XLA compiles the two programs on two cores at once
        cx, cy, cw = chunks[0]
        pending = pool.submit(executable, _evaluate, forward_only(st), state["theta"], state["bn"], hp, cx, cy, cw,
                              eval_noise(len(cw)), fast_compile=True)
        train_exe = executable(train_fn, st, state, hp, xd, yd, idx, row_w_d, noise)
        eval_exe = pending.result()
    with interrupt.training():
        for epoch in range(training.max_epochs):
            if epoch:
                idx, noise = epoch_inputs()
            state = {**state, "pos": zero_pos, "stats": zero_stats}
            for _ in range(1 if train_fn is _train_epoch else steps):
                state = train_exe(state, hp, xd, yd, idx, row_w_d, noise)
            sums = np.asarray(state["stats"], np.float64)
            val = np.sum([np.asarray(eval_exe(state["theta"], state["bn"], hp, cx, cy, cw, eval_noise(len(cw))),
                                     np.float64)
                          for cx, cy, cw in chunks], axis=0)
            logs = _logs(classification, sums, val)
            for k in history:
                history[k].append(logs[k])
            if first is None:
                first = time.perf_counter() - fit_start
            if interrupt.requested():
                break
            if not math.isfinite(logs["loss"]):
                diverged = f"loss became {logs['loss']} at epoch {epoch + 1}"
                break
            value = logs.get(objective.metric)
            if value is not None and on_epoch is not None and on_epoch(epoch + 1, value, logs):
                pruned = True
                break
            if plateau is not None:
                hp["lr_scale"] = jnp.float32(plateau.scale(logs))
            if stopper.stop(logs, epoch):
                break
    return Fitted(history, pruned, diverged, first, time.perf_counter() - fit_start, trainer="jax")


def _logs(classification: bool, train: np.ndarray, val: np.ndarray) -> dict[str, float]:
    n, m = max(train[3], 1.0), max(val[3], 1.0)
    if classification:
        return {"loss": train[0] / n, "accuracy": train[1] / n, "val_loss": val[0] / m, "val_accuracy": val[1] / m}
    return {"loss": train[0] / n, "rmse": math.sqrt(train[1] / n), "mae": train[2] / n,
            "val_loss": val[0] / m, "val_rmse": math.sqrt(val[1] / m), "val_mae": val[2] / m}


def _improved(objective: Objective, value: float, best: float | None, delta: float) -> bool:
    """Keras' rule: better than the best so far by more than ``delta``."""
    shifted = value - delta if objective.direction == "maximize" else value + delta
    return best is None or objective.better(shifted, best)


class _EarlyStop:
    """Keras' EarlyStopping rule (patience, min_delta, mode)."""

    def __init__(self, training: Training, objective: Objective) -> None:
        es = training.early_stopping
        self.enabled, self.patience, self.delta = es.enabled, es.patience, abs(es.min_delta)
        self.metric, self.objective = objective.metric, objective
        self.best: float | None = None
        self.wait = 0

    def stop(self, logs: dict[str, float], epoch: int) -> bool:
        value = logs.get(self.metric)
        if not self.enabled or value is None:
            return False
        self.wait += 1
        if _improved(self.objective, value, self.best, self.delta):
            self.best, self.wait = value, 0
            return False
        return self.wait >= self.patience and epoch > 0


class _Plateau:
    """Keras' ReduceLROnPlateau (min_delta 1e-4, no cooldown) as a multiplier of the learning rate."""

    def __init__(self, p: dict[str, Any], objective: Objective) -> None:
        self.factor, self.patience = float(p["plateau_factor"]), int(p["plateau_patience"])
        self.objective = objective
        self.best: float | None = None
        self.wait, self.multiplier = 0, 1.0

    def scale(self, logs: dict[str, float]) -> float:
        value = logs.get(self.objective.metric)
        if value is None:
            return self.multiplier
        if _improved(self.objective, value, self.best, 1e-4):
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.multiplier *= self.factor
                self.wait = 0
        return self.multiplier


