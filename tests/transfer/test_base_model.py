"""Reading a saved Keras model's hidden layers without Keras (``read_base_model``): models saved by Keras itself."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.transfer.keras_files import keras_bytes, weights_of
from tunecli.errors import SpaceError
from tunecli.runtime import import_keras, init_backend
from tunecli.transfer.base_model import read_base_model

init_backend(None)


def forward(base: Any, x: np.ndarray) -> np.ndarray:
    """The base's hidden layers applied to ``x`` in NumPy (the activations these tests use)."""
    acts = {"relu": lambda z: np.maximum(z, 0), "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
            "tanh": np.tanh, "silu": lambda z: z / (1 + np.exp(-z))}
    for layer in base.layers:
        x = acts[layer.activation](x @ layer.kernel + layer.bias)
    return x


def hidden_output(model: Any, layer_name: str, x: np.ndarray) -> np.ndarray:
    keras = import_keras()
    return np.asarray(keras.Model(model.inputs, model.get_layer(layer_name).output)(x, training=False))


@pytest.fixture(scope="session")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Models saved by Keras: name -> (path, model)."""
    keras = import_keras()
    from keras import layers

    from tunecli.trainers.keras.model import build_mlp

    folder = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)
    inp = keras.Input((5,))
    x = layers.Dense(6)(inp)
    x = layers.Activation("tanh", name="act_a")(x)
    x = layers.Dense(4, activation="tanh", name="dense_b")(x)
    functional = keras.Model(inp, layers.Dense(1)(x))
    models: dict[str, Any] = {
        "sequential": keras.Sequential([keras.Input((5,)), layers.Dense(6, activation="elu"), layers.Dropout(0.2),
                                        layers.Dense(4, activation="elu", name="dense_b"),
                                        layers.Dense(3, activation="softmax")]),
        "functional": functional,
        "swish": keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="swish", name="dense_b"), layers.Dense(1)]),
        "output-only": keras.Sequential([keras.Input((5,)), layers.Dense(1)]),
        "mixed": keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="relu"), layers.Dense(4, activation="tanh"),
                                   layers.Dense(1)]),
        "softplus": keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="softplus"), layers.Dense(1)]),
        "linear": keras.Sequential([keras.Input((5,)), layers.Dense(4), layers.Dense(1)]),
        "two-activations": keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="relu"), layers.Activation("tanh"),
                                             layers.Dense(1)]),
        "leaky": keras.Sequential([keras.Input((5,)), layers.Dense(4), layers.LeakyReLU(), layers.Dense(3), layers.LeakyReLU(),
                                   layers.Dense(1)]),
        "layer-norm": keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="relu"), layers.LayerNormalization(),
                                        layers.Dense(1)]),
    }
    for bn in ("before", "after"):
        model = build_mlp({"n_hidden": 2, "n_neurons": 6, "batch_norm": bn, "dropout": 0.2, "activation": "swish"},
                          5, "classification", 3)
        _randomize_batch_norm(model)
        models[f"tunecli-bn-{bn}"] = model
    models["tunecli-mc-dropout"] = build_mlp({"n_hidden": 3, "n_neurons": 6, "shape": "funnel", "dropout": 0.3,
                                              "mc_dropout": True, "activation": "selu"}, 5, "regression")
    out = {}
    for name, model in models.items():
        path = folder / f"{name}.keras"
        model.save(path)
        out[name] = (path, model)
    return out


def _randomize_batch_norm(model: Any) -> None:
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = (w.shape for w in layer.get_weights())
            layer.set_weights([rng.uniform(0.5, 2, gamma), rng.normal(size=beta), rng.normal(size=mean),
                               rng.uniform(0.5, 2, var)])


X = np.random.default_rng(3).normal(size=(7, 5)).astype("float32")


def test_a_sequential_model_gives_its_hidden_layers(saved: dict[str, Any]) -> None:
    path, model = saved["sequential"]
    base = read_base_model(str(path), None)
    assert base.n_features == 5 and [layer.width for layer in base.layers] == [6, 4] and base.activation == "elu"
    assert base.source == str(path)
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    for layer, keras_layer in zip(base.layers, dense):
        kernel, bias = keras_layer.get_weights()
        np.testing.assert_array_equal(layer.kernel, kernel)
        np.testing.assert_array_equal(layer.bias, bias)
        assert layer.kernel.dtype == np.float32
    np.testing.assert_allclose(forward(base, X), hidden_output(model, "dense_b", X), rtol=1e-5, atol=1e-5)


def test_a_functional_model_with_an_activation_layer(saved: dict[str, Any]) -> None:
    path, model = saved["functional"]
    base = read_base_model(path.name, path.parent)  # found next to the space file
    assert base.activation == "tanh" and [layer.width for layer in base.layers] == [6, 4]
    np.testing.assert_allclose(forward(base, X), hidden_output(model, "dense_b", X), rtol=1e-5, atol=1e-5)


def test_swish_is_read_as_silu(saved: dict[str, Any]) -> None:
    path, model = saved["swish"]
    base = read_base_model(str(path), None)
    assert base.activation == "silu"
    np.testing.assert_allclose(forward(base, X), hidden_output(model, "dense_b", X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bn", ["before", "after"])
def test_a_model_saved_by_tunecli_with_batch_norm_and_dropout(saved: dict[str, Any], bn: str) -> None:
    """Batch norm is folded into the Dense weights: the reused layers compute what the model computed (in inference)."""
    path, model = saved[f"tunecli-bn-{bn}"]
    base = read_base_model(str(path), None)
    assert base.n_features == 5 and [layer.width for layer in base.layers] == [6, 6] and base.activation == "silu"
    activations = [layer.name for layer in model.layers if type(layer).__name__ == "Activation"]
    # before: the last hidden layer's activation; after: its batch norm goes with the output layer, which is not reused
    np.testing.assert_allclose(forward(base, X), hidden_output(model, activations[-1], X), rtol=1e-4, atol=1e-4)


def test_a_model_saved_by_tunecli_with_mc_dropout(saved: dict[str, Any]) -> None:
    """tunecli's own MC (alpha) dropout layers are skipped; the Dense weights are read as they are."""
    path, model = saved["tunecli-mc-dropout"]
    base = read_base_model(str(path), None)
    assert [layer.width for layer in base.layers] == [8, 8, 8] and base.activation == "selu"
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    for layer, keras_layer in zip(base.layers, dense):
        np.testing.assert_array_equal(layer.kernel, keras_layer.get_weights()[0])


def test_activation_layers_give_the_dense_layer_before_them_its_activation(saved: dict[str, Any]) -> None:
    base = read_base_model(str(saved["leaky"][0]), None)
    assert base.activation == "leaky_relu" and [layer.width for layer in base.layers] == [4, 3]


@pytest.mark.parametrize("name,fragment", [
    ("output-only", "no hidden Dense layer"),
    ("mixed", "different activations"),
    ("softplus", "'softplus'"),
    ("linear", "no activation (linear)"),
    ("layer-norm", "(LayerNormalization) cannot be reused"),
    ("two-activations", "two activations (relu, then tanh)"),
])
def test_models_that_cannot_be_reused(saved: dict[str, Any], name: str, fragment: str) -> None:
    path, _ = saved[name]
    with pytest.raises(SpaceError) as info:
        read_base_model(str(path), None, space_file="space.yaml")
    text = str(info.value)
    assert info.value.field == "transfer.from" and fragment in text and path.name in text and text.startswith("space.yaml")


def test_branches_and_nested_models_are_refused(tmp_path: Path) -> None:
    keras = import_keras()
    from keras import layers

    inp = keras.Input((5,))
    joined = layers.Concatenate()([layers.Dense(3, activation="relu")(inp), layers.Dense(3, activation="relu")(inp)])
    branched = keras.Model(inp, layers.Dense(1)(joined))
    inner = keras.Sequential([keras.Input((5,)), layers.Dense(3, activation="relu")])
    nested = keras.Model(inp, layers.Dense(1)(inner(inp)))
    for name, model, fragment in (("branched", branched, "does not simply follow"), ("nested", nested, "nested model")):
        model.save(tmp_path / f"{name}.keras")
        with pytest.raises(SpaceError, match=fragment):
            read_base_model(str(tmp_path / f"{name}.keras"), None)


def test_files_written_without_keras_load_in_keras(tmp_path: Path) -> None:
    """The test helper's files (used where Keras would be too slow to import) are files Keras reads the same way."""
    keras = import_keras()
    data = keras_bytes([6, 4], 5, "relu", n_out=2)
    (tmp_path / "hand.keras").write_bytes(data)
    model = keras.saving.load_model(tmp_path / "hand.keras")
    base = read_base_model(str(tmp_path / "hand.keras"), None)
    kernel, bias = weights_of(data)[-1]
    np.testing.assert_allclose(forward(base, X) @ kernel + bias, np.asarray(model(X)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,content,fragment", [
    ("absent.keras", None, "no such file"),
    ("text.keras", b"just some text\n", "not a Keras model"),
    ("empty.keras", b"", "not a Keras model"),
    ("no-config.keras", "zip", "no config.json"),
    ("bad-json.keras", "bad-json", "not valid JSON"),
    ("folder.keras", "dir", "not a file"),
])
def test_files_that_are_not_models(tmp_path: Path, name: str, content: Any, fragment: str) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content in ("zip", "bad-json"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("config.json" if content == "bad-json" else "other.txt", "{not json")
        path.write_bytes(buffer.getvalue())
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(SpaceError) as info:
        read_base_model(name, tmp_path, space_file="space.yaml")
    assert info.value.field == "transfer.from" and fragment in str(info.value) and name in str(info.value)
    assert "\n" not in str(info.value)


def test_weights_that_do_not_match_the_layer_list(tmp_path: Path) -> None:
    data = keras_bytes([4], 3)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        config = archive.read("config.json").replace(b'"units": 4', b'"units": 5')
        weights = archive.read("model.weights.h5")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", config)
        archive.writestr("model.weights.h5", weights)
    (tmp_path / "m.keras").write_bytes(buffer.getvalue())
    with pytest.raises(SpaceError, match="do not match its 5 units"):
        read_base_model(str(tmp_path / "m.keras"), None)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", config.replace(b'"units": 5', b'"units": 1000000000'))
        archive.writestr("model.weights.h5", weights)
    (tmp_path / "m.keras").write_bytes(buffer.getvalue())
    with pytest.raises(SpaceError, match="has 1000000000 units; tunecli builds layers of 1 to 16384"):
        read_base_model(str(tmp_path / "m.keras"), None)
