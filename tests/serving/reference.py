"""What the shipped model must predict, computed the way tunecli itself predicts: ``FeatureTransform.apply`` on the
raw rows, then the trained network (dropout as the shipped model's fixed masks), times the target's scale; and the
raw rows as a user feeds them (``feed``), read from the model's metadata record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from tunecli.data import Dataset


def pipeline(network: Any, dataset: Dataset, frame: pd.DataFrame, *, passes: int = 0, scale: float = 1.0) -> np.ndarray:
    """tunecli's own prediction for the raw rows of ``frame`` (a table's columns, or an array's as ``x0..``)."""
    x = dataset.transform.apply(frame, dataset.x_train)
    out = masked(network, x, passes) if passes else network.predict(x, verbose=0)
    return out * scale if dataset.task == "regression" else out


def masked(network: Any, x: np.ndarray, passes: int) -> np.ndarray:
    """The mean of ``passes`` predictions, each with one of the shipped model's dropout masks (layer by layer)."""
    import keras

    from tunecli.serving.shipped import dropout_masks

    masks = dropout_masks(network, passes)
    runs = []
    for p in range(passes):
        h, k = keras.ops.convert_to_tensor(x), 0
        for layer in network.layers[1:]:
            if isinstance(layer, (keras.layers.Dropout, keras.layers.AlphaDropout)):
                scale, shift = masks[k]
                h, k = h * scale[p, 0] + shift[p, 0], k + 1
            else:
                h = layer(h, training=False)
        runs.append(keras.ops.convert_to_numpy(h))
    return np.mean(runs, axis=0)


def feed(record: dict, frame: pd.DataFrame) -> Any:
    """The raw rows as the model takes them (numbers as float32, text as ``tf.constant`` strings, "" missing)."""
    import tensorflow as tf

    if record["layout"] == "array":
        return frame.to_numpy("float32")
    inputs = {}
    for column in record["columns"]:
        cells = frame[column["name"]]
        inputs[column["input"]] = (cells.to_numpy("float32", na_value=np.nan).reshape(-1, 1) if column["kind"] == "number"
                                   else tf.constant(cells.map(str, na_action="ignore").fillna("").to_numpy(str).reshape(-1, 1)))
    return inputs
