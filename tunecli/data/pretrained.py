"""Pretrained hidden layers a search starts from: a saved model's (``transfer``) or an autoencoder's encoder
(``pretrain``). Plain NumPy: reading and checking them imports no Keras."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class BaseLayer(NamedTuple):
    """One reusable hidden layer: its kernel (fan_in, width), bias (width,) and activation (a catalogue name)."""

    kernel: np.ndarray
    bias: np.ndarray
    activation: str

    @property
    def width(self) -> int:
        return int(self.kernel.shape[1])


class BaseNetwork(NamedTuple):
    """The hidden layers of a pretrained network, input side first (its output layer is never reused)."""

    n_features: int
    layers: tuple[BaseLayer, ...]
    source: str  # the file it came from, or what trained it ("autoencoder pretraining")

    @property
    def activation(self) -> str:
        return self.layers[0].activation if self.layers else "relu"
