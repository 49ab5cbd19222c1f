"""``build_mlp``: an MLP from plain parameter values (no Optuna trial, no Keras Tuner hp)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tunecli.config.catalogue import batch_norm_mode, initializer_for, layer_widths, with_defaults
from tunecli.runtime import import_keras

keras = import_keras()
layers = keras.layers


@keras.saving.register_keras_serializable("tunecli")
class MCDropout(layers.Dropout):
    """Dropout that stays on at inference (Monte Carlo dropout)."""

    def call(self, inputs, training=None):  # noqa: ANN001, ANN201, ARG002
        return super().call(inputs, training=True)


@keras.saving.register_keras_serializable("tunecli")
class MCAlphaDropout(layers.AlphaDropout):
    """Alpha dropout (for SELU) that stays on at inference."""

    def call(self, inputs, training=None):  # noqa: ANN001, ANN201, ARG002
        return super().call(inputs, training=True)


def activation_layer(name: str, alpha: float | None) -> layers.Layer:
    """The layer for a catalogue activation (``alpha``: leaky_relu's slope or elu's alpha; None: the default)."""
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.2 if alpha is None else alpha)
    if name == "prelu":
        return layers.PReLU()
    if name == "elu":
        return layers.ELU(alpha=1.0 if alpha is None else alpha)
    return layers.Activation("silu" if name == "swish" else name)


def _dropout_layer(rate: float, activation: str, mc: bool) -> layers.Layer:
    if activation == "selu":
        return MCAlphaDropout(rate) if mc else layers.AlphaDropout(rate)
    return MCDropout(rate) if mc else layers.Dropout(rate)


def build_mlp(params: dict[str, Any], n_features: int, task: str, n_classes: int = 0) -> keras.Model:
    """Build (not compile) an MLP.

    Args:
        params: plain values; missing keys take the catalogue defaults.
        n_features: input width.
        task: ``classification`` (softmax over ``n_classes``) or ``regression`` (one linear unit).
        n_classes: number of classes for classification.

    Returns:
        An uncompiled ``keras.Model``.

    Example:
        >>> model = build_mlp({"n_hidden": 2, "n_neurons": 32}, n_features=8, task="regression")
    """
    p = with_defaults(params)
    act = p["activation"]
    init = initializer_for(act, p["initializer"])
    regularizer = keras.regularizers.L1L2(l1=float(p["l1"]), l2=float(p["l2"])) if (p["l1"] or p["l2"]) else None
    constraint = keras.constraints.MaxNorm(float(p["max_norm"])) if p["max_norm"] else None
    bn = batch_norm_mode(p["batch_norm"])
    inputs = keras.Input(shape=(n_features,))
    x = inputs
    for width in layer_widths(p):
        x = layers.Dense(width, kernel_initializer=init, kernel_regularizer=regularizer,
                         kernel_constraint=constraint, use_bias=bn != "before")(x)
        if bn == "before":
            x = layers.BatchNormalization()(x)
        x = activation_layer(act, p["alpha"])(x)
        if bn == "after":
            x = layers.BatchNormalization()(x)
        if p["dropout"]:
            x = _dropout_layer(float(p["dropout"]), act, bool(p["mc_dropout"]))(x)
    if task == "classification":
        outputs = layers.Dense(n_classes, activation="softmax")(x)
    else:
        outputs = layers.Dense(1)(x)
    return keras.Model(inputs, outputs)


def load_base(model: keras.Model, reused: tuple, frozen: bool) -> None:
    """Copy the reused layers' kernels and biases (``BaseLayer``) into the first hidden Dense layers of a
    ``build_mlp`` model (no bias before batch norm: the base's is dropped), then freeze them or not."""
    for layer, base in zip(_hidden_dense(model), reused):
        layer.set_weights([base.kernel] + ([base.bias] if layer.use_bias else []))
    freeze(model, len(reused), frozen)


def freeze(model: keras.Model, n_layers: int, frozen: bool = True) -> None:
    """Freeze (or unfreeze) the first ``n_layers`` hidden Dense layers: their kernels and biases only (their
    batch norm and PReLU train on); recompile for it to take effect."""
    for layer in _hidden_dense(model)[:n_layers]:
        layer.trainable = not frozen


def _hidden_dense(model: keras.Model) -> list[layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, layers.Dense)][:-1]


#: The seed of the fixed dropout masks ``predict_mc`` draws when asked (``tunecli train``'s scores, and the masks a
#: shipped MC dropout model holds: ``tunecli.serving.shipped``).
MASK_SEED = 0
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def predict_mc(model: keras.Model, x: np.ndarray, passes: int, batch_size: int = 2048,
               seed: int | None = None) -> np.ndarray:
    """``passes`` Monte Carlo predictions: only dropout is stochastic; batch norm stays in inference mode
    (moving statistics used, never updated).

    Args:
        seed: None: each pass draws fresh masks for every row (Keras' dropout); a number: each pass applies one
            of ``dropout_masks(model, passes, seed)`` to every row, as a shipped MC dropout model does.

    Returns:
        An array of shape (passes, rows, outputs).
    """
    dropout = (layers.Dropout, layers.AlphaDropout)
    masks = dropout_masks(model, passes, seed) if seed is not None else None
    out = []
    for p in range(passes):
        chunks = []
        for start in range(0, len(x), batch_size):
            h, k = keras.ops.convert_to_tensor(x[start:start + batch_size]), 0
            for layer in model.layers:
                if isinstance(layer, layers.InputLayer):
                    continue
                if masks is not None and isinstance(layer, dropout):
                    scale, shift = masks[k]
                    h, k = h * scale[p, 0] + shift[p, 0], k + 1
                    continue
                h = layer(h, training=isinstance(layer, dropout))
            chunks.append(keras.ops.convert_to_numpy(h))
        out.append(np.concatenate(chunks))
    return np.stack(out)


def dropout_masks(model: keras.Model, passes: int, seed: int = MASK_SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each dropout layer of ``model``, the (scale, shift) of ``passes`` fixed masks, each of shape
    (passes, 1, width): a pass maps a unit to ``h * scale + shift`` (Dropout: 0 or 1 / (1 - rate), no shift;
    AlphaDropout: SELU's saturation value for a dropped unit, then its affine correction, as Keras computes them)."""
    rng = np.random.default_rng(seed)
    found = []
    for layer in model.layers:
        if not isinstance(layer, (layers.Dropout, layers.AlphaDropout)):
            continue
        rate, width = float(layer.rate), int(layer.output.shape[-1])
        kept = (rng.random((passes, 1, width)) >= rate).astype("float64")
        if isinstance(layer, layers.AlphaDropout):
            alpha_p = -SELU_ALPHA * SELU_SCALE
            a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
            b = -a * alpha_p * rate
            found.append(((a * kept).astype("float32"), (a * alpha_p * (1 - kept) + b).astype("float32")))
        else:
            scale = kept / (1 - rate) if rate < 1 else kept * 0
            found.append((scale.astype("float32"), np.zeros_like(scale, dtype="float32")))
    return found


def uses_mc_dropout(params: dict[str, Any]) -> bool:
    """True when the model keeps dropout on at inference (``mc_dropout`` with a dropout rate)."""
    p = with_defaults(params)
    return bool(p["mc_dropout"]) and bool(p["dropout"])
