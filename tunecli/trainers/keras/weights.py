"""A trained network's weights as Keras holds them, and as text to store: no Keras import (NumPy only).

One format serves both trainers: the list ``model.get_weights()`` returns for the model ``build_mlp``
makes (per layer, in order: Dense kernel and bias — no bias before batch norm —, batch norm's gamma,
beta, moving mean and moving variance, PReLU's alpha), so ``model.set_weights`` loads it whichever
trainer trained it. ``keras_weights`` turns the fast trainer's flat, padded layout into that list;
``to_text`` / ``from_text`` turn the list into a compact base64 ``.npz`` (a study attribute) and back.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import zipfile
from typing import Any

import numpy as np

from tunecli.trainers.contract import FlatWeights

#: Arrays in the ``.npz`` are named by their position in the list.
_NAME = "w{:03d}"


def keras_weights(weights: list[Any] | FlatWeights | None) -> list[np.ndarray] | None:
    """The arrays ``model.set_weights`` takes for the ``build_mlp`` model, from either trainer's weights."""
    if weights is None:
        return None
    if not isinstance(weights, FlatWeights):
        return [np.asarray(w) for w in weights]
    theta = np.asarray(weights.theta)
    layers: list[dict[str, np.ndarray]] = [{} for _ in weights.sizes[1:]]
    at = 0
    for name, i, shape in weights.layout:
        size = math.prod(shape)
        layers[i][name] = theta[at:at + size].reshape(shape)
        at += size
    out: list[np.ndarray] = []
    last = len(layers) - 1
    for i, layer in enumerate(layers):
        n_in, n_out = weights.sizes[i], weights.sizes[i + 1]
        out.append(layer["kernel"][:n_in, :n_out])
        norm = [layer["gamma"][:n_out], layer["beta"][:n_out], np.asarray(weights.bn[i][0])[:n_out],
                np.asarray(weights.bn[i][1])[:n_out]] if i < last and weights.batch_norm != "none" else []
        if i == last or weights.batch_norm != "before":  # Keras' Dense has no bias before batch norm
            out.append(layer["bias"][:n_out])
        if weights.batch_norm == "before":
            out += norm
        if "alpha" in layer:
            out.append(layer["alpha"][:n_out])
        if weights.batch_norm == "after":
            out += norm
    return [np.array(w, np.float32) for w in out]  # copies: not views of the whole flat vector


def to_text(weights: list[np.ndarray]) -> str:
    """The arrays as base64 text of a compressed ``.npz`` (float32 kept exactly)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{_NAME.format(i): np.asarray(w) for i, w in enumerate(weights)})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def from_text(text: str) -> list[np.ndarray]:
    """The arrays ``to_text`` stored, in order.

    Raises:
        ValueError: the text is no such archive (garbled, or not base64 ``.npz``).
    """
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            names = [_NAME.format(i) for i in range(len(archive.files))]
            if set(names) != set(archive.files):
                raise ValueError("not a stored weights archive (unexpected arrays)")
            return [archive[name] for name in names]
    except (binascii.Error, UnicodeError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"not a stored weights archive ({type(exc).__name__})") from None
