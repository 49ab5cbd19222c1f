"""What shapes a compiled program: the ``Structure`` key, width buckets, the flat parameter layout."""

from __future__ import annotations

import importlib.util
import math
from typing import TYPE_CHECKING, Any, NamedTuple

from tunecli.config.catalogue import batch_norm_mode, layer_widths

if TYPE_CHECKING:
    from tunecli.config.space import Training
    from tunecli.data import Dataset


def supported(p: dict[str, Any], training: Training, keep_model: bool = False) -> str | None:
    """``None`` when this trainer can train ``p`` (catalogue defaults filled in), else why not. Reused layers
    (``tunecli.trainers.transfer``) are covered: their planned per-layer widths are the trainer's own doing."""
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
    freeze: bool = False        # reused layers start frozen (``transfer``): the freezing inputs exist


def bucket(width: int) -> int:
    """Round a width up to 8, 12, 16, 24, 32, 48, 64, then to a multiple of 32 (at most 1.5x the units
    asked for; about 1.1x above 64 units, where the compute a padded unit wastes starts to matter)."""
    if width > 64:
        return -(-width // 32) * 32
    size = 8
    while size < width:
        size = size * 3 // 2 if (size & (size - 1)) == 0 else size * 4 // 3
    return size


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


def split(st: Structure, flat: Any) -> list[Any]:
    """The flat vector as its variables, in ``layout`` order (what a compiled epoch carries: slicing the flat
    vector at every step costs about as much as the step's own maths on small networks)."""
    out, at = [], 0
    for _, _, shape in layout(st):
        size = math.prod(shape)
        out.append(flat[at:at + size].reshape(shape))
        at += size
    return out


def join(variables: list[Any]) -> Any:
    """The variables as one flat vector (``split``'s inverse)."""
    import jax.numpy as jnp

    return jnp.concatenate([v.ravel() for v in variables])


def by_layer(st: Structure, variables: list[Any]) -> list[dict[str, Any]]:
    """The variables as one dict per Dense layer."""
    layers: list[dict[str, Any]] = [{} for _ in layer_shapes(st)]
    for (name, i, _), value in zip(layout(st), variables):
        layers[i][name] = value
    return layers


def unflatten(st: Structure, theta: Any) -> list[dict[str, Any]]:
    """The flat vector as one dict of variables per Dense layer."""
    return by_layer(st, split(st, theta))


def structure_of(p: dict[str, Any], dataset: Dataset, batch: int, freeze: bool = False) -> tuple[Structure, list[int]]:
    """The structure of ``p`` on this data set, and its real (unpadded) hidden widths (``freeze``: some
    layers start frozen, see ``tunecli.trainers.transfer``)."""
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
                   bool(p["l1"]), bool(p["l2"]), bool(p["max_norm"]), p["optimizer"], clip, schedule, n_bounds, batch,
                   freeze)
    return st, widths


def forward_only(st: Structure) -> Structure:
    """The part of the structure evaluation depends on (shared across batch sizes, optimizers...)."""
    return st._replace(dropout=st.dropout if st.mc_dropout else "none", max_norm=False, optimizer="", clip="none",
                       schedule="", n_boundaries=0, batch=0, freeze=False)
