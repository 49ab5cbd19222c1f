"""The model that ships: one functional Keras model from the user's raw columns to class probabilities, or to
values in the target's own units, with the search's preprocessing inside (``inputs``). Keras' own layers and ops
only, so the ``.keras`` file loads with Keras alone, ``safe_mode`` on.

MC dropout: Keras runs every layer in inference mode inside ``predict`` (a ``training=True`` stored in the model is
overridden), so the shipped model cannot draw dropout masks itself. It holds ``passes`` masks drawn once when it is
built (``trainers.keras.model.dropout_masks``, the same for every row) and averages the ``passes`` predictions they
give: a fixed sample of MC dropout, so the file predicts the same each time. ``tunecli train`` scores a model with
the same masks (``predict_mc`` with a seed), so the file predicts what ``train`` scored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.serving.inputs import OUTPUT_NAMES, RawInputs, preprocess, raw_inputs

if TYPE_CHECKING:
    from tunecli.data import Dataset


def ship(network: Any, dataset: Dataset, *, source: str, target_scale: float = 1.0, passes: int = 0,
         seed: int | None = None, nested: bool = False) -> tuple[Any, RawInputs]:
    """The network with the preprocessing in front and the target's scale behind.

    Args:
        network: the trained Keras model (``build_mlp``: a chain of layers on the preprocessed float32 vector).
        dataset: the data it trained on (``transform``, ``task``).
        source: ``data.source`` as the space file names it (a table: one input per column).
        target_scale: a regression's ``data.target_scale`` (its predictions are multiplied back by it).
        passes: MC dropout passes averaged inside the model (0: dropout off, one plain prediction).
        seed: seeds the MC dropout masks (None: ``trainers.keras.model.MASK_SEED``, as ``train`` scores them).
        nested: ``network`` is any model of Keras' own layers and ops on the preprocessed vector (an ensemble built
            with ``head``), called as it is; ``passes`` and ``seed`` are then its own business.

    Returns:
        The Keras model (not compiled) and its inputs (with the columns' record for the metadata).
    """
    import keras

    raw = raw_inputs(dataset, source)
    features = preprocess(raw, dataset.transform, dataset.x_train)
    outputs = network(features) if nested else head(network, features, passes, seed=seed)
    if dataset.task == "regression" and target_scale != 1.0:
        outputs = keras.layers.Rescaling(float(target_scale), name="target-scale")(outputs)
    name = OUTPUT_NAMES[0] if dataset.task == "classification" else OUTPUT_NAMES[1]
    outputs = keras.layers.Identity(name=name)(outputs)
    return keras.Model(raw.inputs, outputs, name="shipped"), raw


def head(network: Any, features: Any, passes: int = 0, *, seed: int | None = None, prefix: str = "net") -> Any:
    """The network's layers, copied (Keras' own classes, named ``prefix-i-name``), applied to ``features``; with
    ``passes``, each dropout layer applies ``passes`` fixed masks and the output is the mean of the passes: what
    ``predict_mc(network, x, passes, seed=MASK_SEED).mean(axis=0)`` computes, as a Keras graph."""
    import keras

    layers = [layer for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)]
    from tunecli.trainers.keras.model import MASK_SEED, dropout_masks

    masks = iter(dropout_masks(network, passes, MASK_SEED if seed is None else seed)) if passes else None
    h, width = features, None
    for i, layer in enumerate(layers):
        if isinstance(layer, (keras.layers.Dropout, keras.layers.AlphaDropout)):
            if masks is not None:
                h = _masked(h, *next(masks), first=width is None)
                width = h.shape[-1]
            continue  # inference: dropout does nothing
        copy = _copy(layer, f"{prefix}-{i}-{layer.name}")
        h = copy(h)
        copy.set_weights(layer.get_weights())
    if masks is None or width is None:
        return h
    k = h.shape[-1]
    return keras.ops.mean(keras.ops.reshape(h, (passes, -1, k)), axis=0)


def _masked(h: Any, scale: np.ndarray, shift: np.ndarray, *, first: bool) -> Any:
    """``h`` (rows, width) -> (passes * rows, width), pass-major; later masks keep that layout."""
    import keras

    ops = keras.ops
    passes, width = scale.shape[0], scale.shape[-1]
    h = ops.expand_dims(h, 0) if first else ops.reshape(h, (passes, -1, width))
    h = h * scale + shift if shift.any() else h * scale
    return ops.reshape(h, (-1, width))


def _copy(layer: Any, name: str) -> Any:
    """A fresh, unbuilt layer of the same Keras class (a tunecli subclass: its Keras base) and configuration."""
    keras_class = next(c for c in type(layer).__mro__ if c.__module__.startswith("keras."))
    return keras_class.from_config({**layer.get_config(), "name": name})
