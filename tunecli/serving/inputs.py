"""The raw inputs of a shipped model and the search's preprocessing on them, built from Keras' own layers and ops.

A table (.csv, .parquet) gets one input per column the model uses, named after the column (``input_names``): numbers
as float32 of shape (rows, 1), NaN for a missing cell; text as strings of shape (rows, 1), ``""`` for a missing cell.
An array source (built-in sets, .npz, MNIST) gets one input ``x`` of every feature the source has, in order.
What ``FeatureTransform`` does (``tunecli.data.transform``) is then done again inside the model: numbers first, each
text column one-hot in the stored value order (``StringLookup``; a missing or unknown value is all zeros), the whole
vector standardized (``Normalization``), a missing or infinite number replaced by its training median, standardized.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tunecli.data import Dataset
    from tunecli.data.transform import FeatureTransform

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
ARRAY_INPUT = "x"
#: Names the model's outputs take (an input named after a column never takes them).
OUTPUT_NAMES = ("probabilities", "values")
#: Names Keras gives the operations a shipped model applies (``where``, ``where_1``, ...): no input takes them.
OPERATIONS = re.compile(r"(isfinite|where|take|get_item|expand_dims|multiply|add|reshape|mean)(_\d+)?")


@dataclass
class RawInputs:
    """The Keras inputs by name (the model is called with a dict), the preprocessed float32 vector they give, and the
    record of each column."""

    inputs: dict[str, Any]
    features: Any
    columns: list[dict[str, str]] = field(default_factory=list)  # {"name", "input", "kind"}, as metadata stores them
    layout: str = "table"  # table: one input per column | array: one input "x" of every feature


def is_table(dataset: Dataset, source: str) -> bool:
    """Whether the model takes one input per column (a .csv / .parquet source) rather than one array ``x``."""
    transform = dataset.transform
    return transform is not None and (bool(transform.categories) or Path(source).suffix.lower() in TABLE_SUFFIXES)


def raw_inputs(dataset: Dataset, source: str) -> RawInputs:
    """The inputs a user feeds (raw columns) and the preprocessed vector the trained network takes.

    Args:
        dataset: the data the network trained on (its ``transform`` says how the columns became its inputs).
        source: ``data.source`` as the space file names it (a table's suffix gives one input per column).
    """
    transform = dataset.transform
    if transform is None:  # no record of the preprocessing: the network's own inputs
        import keras

        x = keras.Input(shape=(dataset.n_features,), name=ARRAY_INPUT, dtype="float32")
        names = dataset.feature_names or [f"x{i}" for i in range(dataset.n_features)]
        return RawInputs({ARRAY_INPUT: x}, x, [_column(n, ARRAY_INPUT, "number") for n in names], "array")
    if is_table(dataset, source):
        return _table(transform)
    return _array(transform)


def input_names(columns: list[str]) -> dict[str, str]:
    """A Keras and SavedModel input name for each column: letters, digits and ``_``, starting with a letter,
    distinct even ignoring case, none an operation's (``sepal length (cm)`` -> ``sepal_length_cm``, ``1st`` -> ``c_1st``,
    ``where`` -> ``where_column``)."""
    taken = {name.lower() for name in OUTPUT_NAMES}
    names = {}
    for column in columns:
        base = re.sub(r"[^0-9A-Za-z_]+", "_", column).strip("_")
        if not base or not ("a" <= base[0].lower() <= "z"):
            base = f"c_{base}"
        if OPERATIONS.fullmatch(base.lower()):
            base = f"{base}_column"
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        names[column] = name
    return names


def fill_values(transform: FeatureTransform, x_train: np.ndarray) -> np.ndarray:
    """What a missing or infinite cell becomes once standardized: the training median of its column, standardized
    (the median of ``x_train``'s column where the training rows had no missing cell)."""
    s = transform.scaling
    if s.medians is not None:
        return ((s.medians - s.mean) / s.std).astype("float32")
    return np.median(x_train, axis=0).astype("float32")


def _table(transform: FeatureTransform) -> RawInputs:
    import keras

    layers = keras.layers
    names = input_names(transform.used)
    inputs = {names[c]: keras.Input(shape=(1,), name=names[c], dtype="float32") for c in transform.numeric}
    blocks = [inputs[names[c]] for c in transform.numeric]
    for column, values in transform.categories:
        text = inputs[names[column]] = keras.Input(shape=(1,), name=names[column], dtype="string")
        lookup = layers.StringLookup(vocabulary=list(values), output_mode="one_hot", num_oov_indices=1,
                                     name=f"one-hot-{names[column]}")
        blocks.append(lookup(text)[:, 1:])  # the first column counts unknown and missing values: dropped
    joined = layers.Concatenate(name="columns-joined")(blocks) if len(blocks) > 1 else blocks[0]
    columns = [_column(c, names[c], "number") for c in transform.numeric]
    columns += [_column(c, names[c], "text") for c, _ in transform.categories]
    return RawInputs(inputs, joined, columns, "table")


def _array(transform: FeatureTransform) -> RawInputs:
    import keras

    x = keras.Input(shape=(len(transform.columns),), name=ARRAY_INPUT, dtype="float32")
    used = list(transform.numeric)
    features = x
    if used != list(transform.columns):  # columns left out (data.drop, empty ones): the model ignores them
        where = {name: i for i, name in enumerate(transform.columns)}
        features = keras.ops.take(x, np.array([where[name] for name in used], dtype="int32"), axis=1)
    return RawInputs({ARRAY_INPUT: x}, features, [_column(c, ARRAY_INPUT, "number") for c in transform.columns],
                     "array")


def preprocess(raw: RawInputs, transform: FeatureTransform | None, x_train: np.ndarray) -> Any:
    """The standardized vector with missing cells filled: what the network was trained on."""
    if transform is None:
        return raw.features
    import keras

    s = transform.scaling
    scaled = keras.layers.Normalization(mean=s.mean.astype("float32"), variance=(s.std ** 2).astype("float32"),
                                        name="standardize")(raw.features)
    return keras.ops.where(keras.ops.isfinite(scaled), scaled, fill_values(transform, x_train))


def _column(name: str, input_name: str, kind: str) -> dict[str, str]:
    return {"name": name, "input": input_name, "kind": kind}
