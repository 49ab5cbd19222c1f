"""``attach_base``: a space that reuses layers, checked against its data before anything is trained or stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.transfer.keras_files import keras_bytes, weights_of
from tunecli.config.space import SearchSpace, validate_space
from tunecli.data import load_data
from tunecli.errors import SpaceError
from tunecli.transfer import attach_base

IRIS_FEATURES = 4


def space_in(folder: Path, **sections: Any) -> SearchSpace:
    return validate_space({"data": {"source": "iris"}, **sections}, source=str(folder / "space.yaml"))


@pytest.fixture
def base_file(tmp_path: Path) -> Path:
    path = tmp_path / "base.keras"
    path.write_bytes(keras_bytes([8, 6], IRIS_FEATURES, "elu", n_out=3))
    return path


def test_transfer_attaches_the_base_to_a_copy_of_the_data(tmp_path: Path, base_file: Path) -> None:
    space = space_in(tmp_path, transfer={"from": "base.keras"}, space={"reuse_layers": {"int": [1, 2]}})
    data = load_data(space.data)
    attached = attach_base(space, data)
    assert data.base is None and attached is not data  # the cached data set is left as it was
    base = attached.base
    assert base is not None and base.n_features == IRIS_FEATURES and base.activation == "elu"
    assert [layer.width for layer in base.layers] == [8, 6] and base.source == "base.keras"
    np.testing.assert_array_equal(base.layers[1].kernel, weights_of(base_file.read_bytes())[1][0])
    np.testing.assert_array_equal(attached.x_train, data.x_train)


def test_without_transfer_or_pretrain_the_data_is_returned_as_it_is(tmp_path: Path) -> None:
    space = space_in(tmp_path)
    data = load_data(space.data)
    assert attach_base(space, data) is data


def test_an_input_width_mismatch_names_both_widths_and_both_sources(tmp_path: Path) -> None:
    (tmp_path / "wide.keras").write_bytes(keras_bytes([8], 10))
    space = space_in(tmp_path, transfer={"from": "wide.keras"})
    with pytest.raises(SpaceError) as info:
        attach_base(space, load_data(space.data))
    text = str(info.value)
    assert info.value.field == "transfer.from" and "space.yaml" in text
    assert "wide.keras" in text and "10 inputs" in text and "iris" in text and "4 features" in text


@pytest.mark.parametrize("reuse,ok", [
    (2, True), (None, True), ({"int": [1, 2]}, True), ({"choice": [1, 2, None]}, True),
    (3, False), ({"int": [1, 3]}, False), ({"choice": [1, 4]}, False), ({"int": [1, 5], "step": 2}, False),
])
def test_reuse_layers_never_asks_for_more_layers_than_the_base_has(tmp_path: Path, base_file: Path, reuse: Any,
                                                                  ok: bool) -> None:
    space = space_in(tmp_path, transfer={"from": "base.keras"}, space={"reuse_layers": reuse})
    data = load_data(space.data)
    if ok:
        assert attach_base(space, data).base is not None
        return
    with pytest.raises(SpaceError) as info:
        attach_base(space, data)
    assert info.value.field == "space.reuse_layers" and "has 2 hidden layers" in str(info.value)


@pytest.mark.parametrize("activation,ok", [
    ("elu", True), ({"value": "elu"}, True), ("relu", False), ({"choice": ["elu", "relu"]}, False), ({"choice": ["elu"]}, False),
])
def test_the_space_cannot_tune_the_activation_of_reused_layers(tmp_path: Path, base_file: Path, activation: Any,
                                                               ok: bool) -> None:
    space = space_in(tmp_path, transfer={"from": "base.keras"}, space={"activation": activation})
    data = load_data(space.data)
    if ok:
        attach_base(space, data)
        return
    with pytest.raises(SpaceError) as info:
        attach_base(space, data)
    assert info.value.field == "space.activation"
    assert str(info.value).endswith("reused layers keep the base model's activation (elu); remove activation from the "
                                    "space or fix it to elu")


def test_silu_and_swish_are_one_activation(tmp_path: Path) -> None:
    (tmp_path / "silu.keras").write_bytes(keras_bytes([5], IRIS_FEATURES, "silu"))
    space = space_in(tmp_path, transfer={"from": "silu.keras"}, space={"activation": "swish"})
    assert attach_base(space, load_data(space.data)).base.activation == "silu"


def test_a_missing_base_model_names_the_space_file_and_the_model(tmp_path: Path) -> None:
    space = space_in(tmp_path, transfer={"from": "nowhere/base.keras"})
    with pytest.raises(SpaceError) as info:
        attach_base(space, load_data(space.data))
    assert str(info.value).startswith(str(tmp_path / "space.yaml")) and "nowhere/base.keras" in str(info.value)


def test_pretrain_checks_its_settings_and_attaches_nothing(tmp_path: Path) -> None:
    space = space_in(tmp_path, pretrain={"layers": [16, 8], "activation": "selu"},
                     space={"reuse_layers": {"int": [1, 2]}, "activation": "selu"})
    data = load_data(space.data)
    assert attach_base(space, data) is data


@pytest.mark.parametrize("pretrain,params,field,fragment", [
    ({"layers": [16]}, {"reuse_layers": 2}, "space.reuse_layers", "the autoencoder (pretrain.layers) has 1 hidden layer;"),
    ({}, {"activation": {"choice": ["relu", "elu"]}}, "space.activation", "keep the autoencoder's activation (relu)"),
    ({"activation": "elu"}, {"activation": "relu"}, "space.activation", "fix it to elu"),
    ({"unlabeled": "rest"}, {}, "pretrain.unlabeled", "data.classes or data.train_rows"),
    ({"unlabeled": "more.csv"}, {}, "pretrain.unlabeled", "no such file"),
])
def test_pretrain_settings_that_do_not_fit(tmp_path: Path, pretrain: dict, params: dict, field: str, fragment: str) -> None:
    space = space_in(tmp_path, pretrain=pretrain, space=params)
    with pytest.raises(SpaceError) as info:
        attach_base(space, load_data(space.data))
    assert info.value.field == field and fragment in str(info.value), str(info.value)


def test_pretrain_on_the_rest(tmp_path: Path) -> None:
    space = validate_space({"data": {"source": "iris", "train_rows": 30}, "pretrain": {"unlabeled": "rest"}},
                           source=str(tmp_path / "space.yaml"))
    data = load_data(space.data)
    assert attach_base(space, data) is data and data.x_rest is not None
