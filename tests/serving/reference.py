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
    """The mean of ``passes`` predictions, each with one of the fixed dropout masks (layer by layer, as ``train``
    scores an MC dropout model)."""
    from tunecli.trainers.keras.model import MASK_SEED, predict_mc

    return predict_mc(network, x, passes, seed=MASK_SEED).mean(axis=0)


def feed(record: dict, frame: pd.DataFrame) -> Any:
    """The raw rows as the model takes them, by input name (numbers as float32, text as ``tf.constant`` strings, ""
    missing; an array's features as one input ``x``)."""
    import tensorflow as tf

    if record["layout"] == "array":
        return {"x": frame.to_numpy("float32")}
    inputs = {}
    for column in record["columns"]:
        cells = frame[column["name"]]
        inputs[column["input"]] = (cells.to_numpy("float32", na_value=np.nan).reshape(-1, 1) if column["kind"] == "number"
                                   else tf.constant(cells.map(str, na_action="ignore").fillna("").to_numpy(str).reshape(-1, 1)))
    return inputs
