"""Tiny data and base networks for the transfer-learning tests (arrays built here, no base-model file)."""

from __future__ import annotations

import numpy as np

from tunecli.data import BaseLayer, BaseNetwork, Dataset

N_FEATURES = 6


def tiny(n_classes: int = 3, rows: int = 240, base: BaseNetwork | None = None, task: str = "classification") -> Dataset:
    """``rows`` training and ``rows // 2`` validation rows of a smooth, learnable target."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows + rows // 2, N_FEATURES)).astype("float32")
    scores = np.tanh(x @ rng.normal(size=(N_FEATURES, max(n_classes, 1))))
    if task == "classification":
        y = np.argmax(scores + 0.1 * rng.normal(size=scores.shape), axis=1).astype("int64")
    else:
        y = scores[:, 0].astype("float32")
    xt, yt, xv, yv = x[:rows], y[:rows], x[rows:], y[rows:]
    return Dataset("tiny", task, xt, yt, xv, yv, xv, yv, n_classes=n_classes if task == "classification" else 0,
                   base=base)


def random_base(widths: tuple[int, ...] = (10, 7), activation: str = "elu", seed: int = 3,
                scale: float = 0.6) -> BaseNetwork:
    """A base of random layers (column norms above 1: max-norm would change them if it touched them)."""
    rng = np.random.default_rng(seed)
    sizes = [N_FEATURES, *widths]
    layers = tuple(BaseLayer(rng.normal(0, scale, (n_in, n_out)).astype("float32"),
                             rng.normal(0, 0.2, n_out).astype("float32"), activation)
                   for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    return BaseNetwork(N_FEATURES, layers, "random test base")
