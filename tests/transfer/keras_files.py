"""Keras 3 ``.keras`` files written without Keras (a zip of config.json, metadata.json and model.weights.h5), for tests
that must stay fast; ``test_pretrained`` checks that Keras itself loads them."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np


def keras_bytes(widths: list[int], n_features: int, activation: str | list[str] = "relu", n_out: int = 1,
                seed: int = 0) -> bytes:
    """A Sequential MLP: ``widths`` hidden Dense layers (one activation, or one per layer), then ``n_out`` linear units."""
    acts = activation if isinstance(activation, list) else [activation] * len(widths)
    rng = np.random.default_rng(seed)
    fans = [n_features, *widths]
    shapes = list(zip(fans, [*widths, n_out]))
    weights = [(rng.normal(size=shape).astype("float32"), rng.normal(size=shape[1]).astype("float32")) for shape in shapes]
    layers = [_input(n_features)] + [_dense(i, units, act) for i, (units, act) in enumerate(zip([*widths, n_out],
                                                                                                 [*acts, "linear"]))]
    config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
              "config": {"name": "sequential", "trainable": True, "layers": layers}}
    return _archive(config, weights)


def weights_of(data: bytes) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (kernel, bias) of each Dense layer in a file ``keras_bytes`` wrote."""
    import h5py

    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("model.weights.h5") as handle, \
            h5py.File(handle, "r") as h5:
        names = sorted(h5["layers"], key=lambda n: int(n.rpartition("_")[2]) if n != "dense" else 0)
        return [(np.asarray(h5[f"layers/{n}/vars/0"]), np.asarray(h5[f"layers/{n}/vars/1"])) for n in names]


def _input(n_features: int) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
            "config": {"batch_shape": [None, n_features], "dtype": "float32", "sparse": False, "name": "input_layer"}}


def _dense(index: int, units: int, activation: str) -> dict[str, Any]:
    name = "dense" if index == 0 else f"dense_{index}"
    return {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
            "config": {"name": name, "trainable": True, "units": units, "activation": activation, "use_bias": True}}


def _archive(config: dict[str, Any], weights: list[tuple[np.ndarray, np.ndarray]]) -> bytes:
    import h5py

    h5 = io.BytesIO()
    with h5py.File(h5, "w") as out:
        out.create_group("vars")
        for index, (kernel, bias) in enumerate(weights):
            group = out.create_group(f"layers/{'dense' if index == 0 else f'dense_{index}'}/vars")
            group["0"], group["1"] = kernel, bias
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.0.0", "date_saved": "2024-01-01@00:00:00"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", h5.getvalue())
    return buffer.getvalue()
