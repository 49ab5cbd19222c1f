"""Small saved models built by hand as tunecli ships them (``tunecli.serving.metadata``): one input per column, class
probabilities or values out, the record in the file; and a model another tool saved (no record). Keras is imported
inside the builders only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunecli.serving import metadata

CLASSES = ["a", "b", "c"]
KINDS = ["p", "q"]


def record(**changes: Any) -> dict[str, Any]:
    """A complete record for the table model (``table_model``), with ``changes``."""
    base = {
        "tunecli_version": "0.1.0", "task": "classification", "target": "y", "classes": CLASSES,
        "columns": [{"name": "size", "input": "size", "kind": "number"}, {"name": "kind", "input": "kind", "kind": "text"}],
        "ignored": {"id": "identifier"}, "outputs": "probabilities", "mc_passes": 0,
        "config": {"n_hidden": 1, "n_neurons": 4, "learning_rate": 0.01}, "origin": {"study": "tiny", "trial": 3},
        "model": "refit", "scores": {"metric": "accuracy", "validation": 0.75, "test": 0.5},
        "data": {"source": "rows.csv", "rows": 40}, "members": [],
    }
    return {**base, **changes}


def table_model(path: Path) -> Path:
    """Columns ``size`` (a number) and ``kind`` (text, one-hot inside the model) in, three class probabilities out."""
    import keras

    keras.utils.set_random_seed(0)
    size = keras.Input(shape=(1,), name="size")
    kind = keras.Input(shape=(1,), dtype="string", name="kind")
    one_hot = keras.layers.StringLookup(vocabulary=KINDS, output_mode="one_hot")(kind)
    hidden = keras.layers.Dense(4, activation="tanh")(keras.layers.Concatenate()([size, one_hot]))
    out = keras.layers.Dense(len(CLASSES), activation="softmax")(hidden)
    keras.Model({"size": size, "kind": kind}, out).save(path)
    metadata.write(path, record())
    return path


def array_model(path: Path, width: int = 4) -> Path:
    """An array source's model: columns ``x0`` … feed one input ``x``; one value out (a regression)."""
    import keras

    keras.utils.set_random_seed(1)
    x = keras.Input(shape=(width,), name="x")
    out = keras.layers.Dense(1)(keras.layers.Dense(3, activation="relu")(x))
    keras.Model({"x": x}, out).save(path)
    columns = [{"name": f"x{i}", "input": "x", "kind": "number"} for i in range(width)]
    metadata.write(path, record(task="regression", target=None, classes=[], columns=columns, ignored={},
                                outputs="values", scores={"metric": "rmse", "validation": 1.5, "test": 2.0}))
    return path


def foreign_model(path: Path, width: int = 4, n_out: int = 3) -> Path:
    """A Sequential model saved by plain Keras: no tunecli record."""
    import keras

    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input(shape=(width,)), keras.layers.Dense(n_out, activation="softmax")])
    model.save(path)
    return path


def keras_predict(path: Path, inputs: Any) -> Any:
    """The saved model's own predictions (loaded afresh) for ``inputs`` as ``tunecli.serving.metadata`` describes."""
    import keras
    import numpy as np
    import tensorflow as tf

    model = keras.models.load_model(path, compile=False)
    if isinstance(inputs, dict):
        inputs = {k: tf.constant(v) if v.dtype == object else v for k, v in inputs.items()}
    return np.asarray(model.predict(inputs, verbose=0))
