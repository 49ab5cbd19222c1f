"""Unsupervised pretraining (Géron, "Hands-On ML" ch. 11): an autoencoder trained on the features alone,
whose encoder becomes the base network the trials reuse (``tunecli.trainers.transfer``). Imports Keras."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tunecli.config.catalogue import initializer_for
from tunecli.data.dataset import BaseLayer, BaseNetwork
from tunecli.trainers.keras.model import activation_layer, keras
from tunecli.transfer.base_model import PRETRAINED


class Pretrained(NamedTuple):
    """The encoder as a base network, and the reconstruction loss (MSE) at the end of each epoch."""

    base: BaseNetwork
    losses: list[float]


def fit_autoencoder(x: np.ndarray, widths: list[int], activation: str, epochs: int, seed: int | None,
                    batch_size: int = 64) -> Pretrained:
    """Train a Dense autoencoder on ``x`` and keep its encoder.

    The encoder has one Dense layer per width (the catalogue's initializer for ``activation``), the decoder
    mirrors it (the widths before the last, in reverse) and ends in a linear layer of ``x.shape[1]`` units;
    MSE, Adam (learning rate 1e-3), rows shuffled at each epoch, in a fresh Keras session. PReLU slopes are
    not kept (a base layer holds a kernel and a bias).

    Args:
        x: the rows to reconstruct (preprocessed features; labels are not used).
        widths: the encoder's hidden widths, input side first.
        activation: a catalogue activation, for every hidden layer of both halves.
        epochs: passes over ``x``.
        seed: seeds the weights and the shuffling (None: not seeded).
        batch_size: rows per step.

    Raises:
        ValueError: no widths, or no rows.
    """
    x = np.asarray(x, np.float32)
    if not widths or x.ndim != 2 or not len(x):
        raise ValueError("an autoencoder needs at least one hidden width and a 2-D array of rows")
    keras.backend.clear_session()
    if seed is not None:
        keras.utils.set_random_seed(seed)
    init = initializer_for(activation, "auto")
    inputs = keras.Input(shape=(x.shape[1],))
    h, encoder = inputs, []
    for width in widths:
        encoder.append(keras.layers.Dense(int(width), kernel_initializer=init))
        h = activation_layer(activation, None)(encoder[-1](h))
    for width in reversed(widths[:-1]):
        h = activation_layer(activation, None)(keras.layers.Dense(int(width), kernel_initializer=init)(h))
    model = keras.Model(inputs, keras.layers.Dense(x.shape[1])(h))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    history = model.fit(x, x, batch_size=min(batch_size, len(x)), epochs=epochs, shuffle=True, verbose=0)
    layers = tuple(BaseLayer(*(np.asarray(w, np.float32) for w in dense.get_weights()), activation)
                   for dense in encoder)
    return Pretrained(BaseNetwork(int(x.shape[1]), layers, PRETRAINED), [float(v) for v in history.history["loss"]])


def train_autoencoder(x: np.ndarray, widths: list[int], activation: str, epochs: int, seed: int | None,
                      batch_size: int = 64) -> BaseNetwork:
    """The encoder of ``fit_autoencoder`` (same arguments) as a base network, source ``autoencoder pretraining``."""
    return fit_autoencoder(x, widths, activation, epochs, seed, batch_size).base

