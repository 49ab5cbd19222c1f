"""The hidden layers of a Keras 3 ``.keras`` file, read without Keras: the file is a zip holding ``config.json`` (the
layer list) and ``model.weights.h5`` (read with h5py).

What a model may hold: a Sequential or a functional model that is one plain stack of layers, of Dense layers
(the last is the output, never reused) with, between them, activation layers (which give the Dense before them its
activation), BatchNormalization (folded into the Dense weights: a normalization before the activation into the Dense
it follows, one after the activation or before the first Dense into the next Dense's; one after the last hidden
layer goes with the output layer), dropout and noise layers (dropped: they do nothing at inference) and an input
or Flatten layer. Anything else is refused with a ``NotReusable`` naming the layer.

A model ``tunecli train`` shipped (its ``tunecli.json`` member says so) takes raw columns: its preprocessing, before
the first Dense layer, is skipped (the reused layers take the preprocessed features, as in any tunecli model), and so
are the fixed MC dropout masks between its layers (dropout does nothing at inference).
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_CONFIG_BYTES = 64 * 2**20
MAX_UNITS = 16_384  # tunecli builds no wider layer (catalogue.POSITIVE_INTS["n_neurons"])
MAX_WEIGHTS = 2**27  # values in one kernel: a hostile file declaring more is refused before it is read
#: Layers that do nothing at inference, or only reshape the input of the first layer.
PASS_THROUGH = ("InputLayer", "Flatten", "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise",
                "SpatialDropout1D", "ActivityRegularization", "MCDropout", "MCAlphaDropout")
#: Activation layers, and the activation each one is.
ACTIVATION_LAYERS = {"LeakyReLU": "leaky_relu", "PReLU": "prelu", "ELU": "elu", "ReLU": "relu"}
#: Keras' activation names as tunecli's catalogue names them (Keras saves swish as silu).
KERAS_ACTIVATIONS = {"relu": "relu", "leaky_relu": "leaky_relu", "elu": "elu", "selu": "selu", "gelu": "gelu",
                     "silu": "silu", "swish": "silu", "mish": "mish", "tanh": "tanh", "sigmoid": "sigmoid"}
MODELS = ("Sequential", "Functional", "Model")
#: The operations that apply a shipped model's fixed MC dropout masks (``tunecli.serving.shipped``).
MASK_OPS = ("ExpandDims", "Multiply", "Add", "Reshape")
SHIPPED_MEMBER = "tunecli.json"


class NotReusable(ValueError):
    """The file is not a Keras model, or holds layers tunecli cannot reuse (the message says which)."""


@dataclass
class Layer:
    """One Dense layer as read, BatchNormalization folded in: its activation is None while linear."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray
    activation: str | None


def read_keras_file(path: Path) -> list[Layer]:
    """Every Dense layer of the model at ``path``, input side first (the last one is its output layer)."""
    try:
        with zipfile.ZipFile(path) as archive:
            shipped = SHIPPED_MEMBER in archive.namelist()
            entries = _layer_entries(_config(archive), shipped)
            if "model.weights.h5" not in archive.namelist():
                raise NotReusable("the archive holds no model.weights.h5 (save the model with model.save('x.keras'))")
            with archive.open("model.weights.h5") as handle:
                return _read_layers(entries, handle, shipped)
    except zipfile.BadZipFile:
        raise NotReusable("not a Keras model file (a .keras file is a zip archive holding config.json)") from None
    except OSError as exc:
        raise NotReusable(f"cannot read the file: {type(exc).__name__}: {str(exc)[:120]}") from None


def _config(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        info = archive.getinfo("config.json")
    except KeyError:
        raise NotReusable("not a Keras model file: the archive holds no config.json") from None
    if info.file_size > MAX_CONFIG_BYTES:
        raise NotReusable(f"config.json is {info.file_size} bytes; a model's layer list is far smaller")
    try:
        config = json.loads(archive.read(info))
    except (ValueError, RecursionError):
        raise NotReusable("config.json is not valid JSON") from None
    if not isinstance(config, dict):
        raise NotReusable("config.json does not describe a model")
    return config


def _layer_entries(config: dict[str, Any], shipped: bool = False) -> list[tuple[str, str, dict[str, Any]]]:
    """``(class name, weights key, layer config)`` of each layer, in order; the key names its group in the weights.
    A shipped model's layers start at its first Dense layer (its preprocessing comes before)."""
    kind = config.get("class_name")
    if kind not in MODELS:
        raise NotReusable(f"a {_kind(kind)} model: only Sequential and functional models (a plain stack of layers) "
                          "can be reused")
    layers = (config.get("config") or {}).get("layers")
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise NotReusable("config.json holds no layer list")
    if shipped:
        first = next((i for i, layer in enumerate(layers) if layer.get("class_name") == "Dense"), 0)
        layers = layers[first:]
    _check_stack(layers)
    used: dict[str, int] = {}
    entries = []
    for layer in layers:
        kind = str(layer.get("class_name"))
        entries.append((kind, _unique(_snake_case(kind), used), layer.get("config") or {}))
    return entries


def _check_stack(layers: list[dict[str, Any]]) -> None:
    """A functional model must be one chain: each layer takes one input, the layer before it."""
    previous = None
    for layer in layers:
        nodes = layer.get("inbound_nodes")
        name = layer.get("name") or (layer.get("config") or {}).get("name")
        if nodes:
            sources = _input_layers(nodes)
            if len(nodes) > 1 or len(sources) != 1 or (previous is not None and sources[0] != previous):
                raise NotReusable(f"layer {_name(name)} does not simply follow the layer before it: only a plain "
                                  "stack of layers can be reused")
        previous = name


def _input_layers(value: Any) -> list[Any]:
    """The layers whose outputs a node takes (each ``__keras_tensor__``'s history)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [((value.get("config") or {}).get("keras_history") or [None])[0]]
        return [name for item in value.values() for name in _input_layers(item)]
    if isinstance(value, list):
        return [name for item in value for name in _input_layers(item)]
    return []


def _snake_case(name: str) -> str:
    """Keras' name for a layer's group in the weights file (``keras.src.utils.naming.to_snake_case``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _read_layers(entries: list[tuple[str, str, dict[str, Any]]], handle: Any, shipped: bool = False) -> list[Layer]:
    import h5py

    dense = [i for i, (kind, _, _) in enumerate(entries) if kind == "Dense"]
    if not dense:
        raise NotReusable("the model has no Dense layer")
    try:
        with h5py.File(handle, "r") as weights:
            return _Walk(weights).run(entries[: dense[-1] + 1], shipped)
    except OSError as exc:
        raise NotReusable(f"cannot read model.weights.h5: {str(exc)[:120]}") from None


class _Walk:
    """Reads the layers in order, folding each BatchNormalization into a Dense layer's weights."""

    def __init__(self, weights: Any) -> None:
        self.weights = weights
        self.layers: list[Layer] = []
        self.pending: tuple[np.ndarray, np.ndarray] | None = None  # x -> x * scale + shift, before the next Dense

    def run(self, entries: list[tuple[str, str, dict[str, Any]]], shipped: bool = False) -> list[Layer]:
        for kind, key, config in entries:
            if shipped and kind in MASK_OPS:
                continue
            if kind == "Dense":
                self._dense(key, config)
            elif kind == "BatchNormalization":
                self._batch_norm(key, config)
            elif kind in ACTIVATION_LAYERS or kind == "Activation":
                self._activation(kind, config)
            elif kind in MODELS:
                raise NotReusable(f"layer {_name(config.get('name'))} is a nested model: only a plain stack of layers "
                                  "can be reused")
            elif kind not in PASS_THROUGH:
                raise NotReusable(f"layer {_name(config.get('name'))} ({_kind(kind)}) cannot be reused: tunecli reuses "
                                  "Dense layers with activation, BatchNormalization and dropout layers between them")
        return self.layers

    def _vars(self, key: str, name: Any) -> list[np.ndarray]:
        group = self.weights.get(f"layers/{key}/vars")
        if group is None:
            raise NotReusable(f"model.weights.h5 holds no weights for layer {_name(name)}")
        stored = [group[str(i)] for i in range(len(group))]
        if any(int(np.prod(value.shape)) > MAX_WEIGHTS for value in stored):
            raise NotReusable(f"layer {_name(name)} holds more than {MAX_WEIGHTS} weights in one array")
        return [np.asarray(value, dtype="float64") for value in stored]

    def _dense(self, key: str, config: dict[str, Any]) -> None:
        name = config.get("name")
        units = config.get("units")
        if not isinstance(units, int) or not 1 <= units <= MAX_UNITS:
            raise NotReusable(f"layer {_name(name)} has {_kind(units)} units; tunecli builds layers of 1 to {MAX_UNITS}")
        values = self._vars(key, name)
        if not values or values[0].ndim != 2 or values[0].shape[1] != units:
            raise NotReusable(f"the weights of layer {_name(name)} do not match its {units} units")
        kernel = values[0]
        bias = values[1] if config.get("use_bias", True) and len(values) > 1 else np.zeros(kernel.shape[1])
        if self.layers and kernel.shape[0] != self.layers[-1].kernel.shape[1]:
            raise NotReusable(f"layer {_name(name)} takes {kernel.shape[0]} inputs but the layer before it has "
                              f"{self.layers[-1].kernel.shape[1]} units")
        if self.pending is not None:  # a normalization of this layer's input
            scale, shift = self.pending
            kernel, bias = kernel * scale[:, None], bias + shift @ kernel
            self.pending = None
        self.layers.append(Layer(str(name), kernel, bias, activation_name(config.get("activation"))))

    def _batch_norm(self, key: str, config: dict[str, Any]) -> None:
        name = config.get("name")
        values = self._vars(key, name)
        count = 2 + bool(config.get("scale", True)) + bool(config.get("center", True))
        if len(values) != count or config.get("axis", -1) not in (-1, 1, [-1], [1]):
            raise NotReusable(f"layer {_name(name)} (BatchNormalization) is not one over the features of each row")
        gamma = values.pop(0) if config.get("scale", True) else 1.0
        beta = values.pop(0) if config.get("center", True) else 0.0
        mean, variance = values
        scale = gamma / np.sqrt(variance + float(config.get("epsilon", 1e-3)))
        shift = beta - mean * scale
        last = self.layers[-1] if self.layers else None
        if last is not None and last.activation is None and self.pending is None:  # between a Dense and its activation
            last.kernel, last.bias = last.kernel * scale, last.bias * scale + shift
        elif self.pending is None:
            self.pending = (scale, shift)
        else:  # two in a row
            self.pending = (self.pending[0] * scale, self.pending[1] * scale + shift)

    def _activation(self, kind: str, config: dict[str, Any]) -> None:
        name = ACTIVATION_LAYERS.get(kind) or activation_name(config.get("activation"))
        if name is None:  # Activation("linear")
            return
        last = self.layers[-1] if self.layers else None
        if last is None or self.pending is not None:
            where = "before the first Dense layer" if last is None else f"after a normalization of {_name(last.name)}'s output"
            raise NotReusable(f"layer {_name(config.get('name'))} ({name}) comes {where}: it belongs to no Dense layer")
        if last.activation is not None:
            raise NotReusable(f"layer {_name(last.name)} has two activations ({last.activation}, then {name})")
        last.activation = name


def activation_name(value: Any) -> str | None:
    """Keras' serialized activation as a name (``"relu"``, or a mapping naming a function or a layer); None: linear."""
    if isinstance(value, dict):
        kind = value.get("class_name")
        value = ACTIVATION_LAYERS.get(kind) or value.get("config")
        if isinstance(value, dict):
            value = value.get("name") if kind == "Activation" else kind
    if value in (None, "linear"):
        return None
    return str(value)


def _kind(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _name(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:39] + "…")
