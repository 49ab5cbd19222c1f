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


def predict_mc(model: keras.Model, x: np.ndarray, passes: int, batch_size: int = 2048) -> np.ndarray:
    """``passes`` Monte Carlo predictions: only dropout is stochastic; batch norm stays in inference mode
    (moving statistics used, never updated).

    Returns:
        An array of shape (passes, rows, outputs).
    """
    dropout = (layers.Dropout, layers.AlphaDropout)
    out = []
    for _ in range(passes):
        chunks = []
        for start in range(0, len(x), batch_size):
            h = keras.ops.convert_to_tensor(x[start:start + batch_size])
            for layer in model.layers:
                if isinstance(layer, layers.InputLayer):
                    continue
                h = layer(h, training=isinstance(layer, dropout))
            chunks.append(keras.ops.convert_to_numpy(h))
        out.append(np.concatenate(chunks))
    return np.stack(out)


def uses_mc_dropout(params: dict[str, Any]) -> bool:
    """True when the model keeps dropout on at inference (``mc_dropout`` with a dropout rate)."""
    p = with_defaults(params)
    return bool(p["mc_dropout"]) and bool(p["dropout"])
