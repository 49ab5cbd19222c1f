"""The space file's ``transfer:`` and ``pretrain:`` sections, the reuse parameters, ``data.classes`` / ``data.train_rows``."""

from __future__ import annotations

from typing import Any

import pytest

from tunecli.config.catalogue import DEFAULTS, same_activation, with_defaults
from tunecli.config.params import ChoiceParam, FixedParam, FloatParam, IntParam
from tunecli.config.space import Pretrain, Transfer, validate_space
from tunecli.errors import SpaceError

TRANSFER = {"transfer": {"from": "models/a.keras"}}


def test_a_transfer_space_with_every_form_of_the_reuse_parameters() -> None:
    space = validate_space({**TRANSFER, "space": {
        "reuse_layers": {"int": [1, 3]}, "freeze_epochs": {"choice": [0, 5]},
        "fine_tune_lr_factor": {"float": [0.01, 1.0], "log": True}}})
    assert space.transfer == Transfer(source="models/a.keras") and space.pretrain is None
    assert isinstance(space.space["reuse_layers"], IntParam)
    assert isinstance(space.space["freeze_epochs"], ChoiceParam)
    assert isinstance(space.space["fine_tune_lr_factor"], FloatParam)
    fixed = validate_space({**TRANSFER, "space": {"reuse_layers": 2, "freeze_epochs": 0, "fine_tune_lr_factor": 0.1}})
    assert fixed.fixed_values() == {"reuse_layers": 2, "freeze_epochs": 0, "fine_tune_lr_factor": 0.1}
    assert validate_space({**TRANSFER, "space": {"reuse_layers": None}}).space["reuse_layers"] == FixedParam(value=None)


def test_defaults() -> None:
    assert DEFAULTS["reuse_layers"] is None and DEFAULTS["freeze_epochs"] == 0 and DEFAULTS["fine_tune_lr_factor"] == 1.0
    params = with_defaults({"n_hidden": 3})
    assert params["reuse_layers"] is None and params["freeze_epochs"] == 0 and params["fine_tune_lr_factor"] == 1.0
    assert with_defaults({"reuse_layers": 2})["reuse_layers"] == 2


def test_pretrain_defaults_and_values() -> None:
    assert validate_space({"pretrain": {}}).pretrain == Pretrain(kind="autoencoder", layers=[128, 64], activation="relu",
                                                                 epochs=20, unlabeled=None)
    space = validate_space({"pretrain": {"layers": [32], "activation": "selu", "epochs": 3, "unlabeled": "rest"},
                            "space": {"reuse_layers": 1}})
    assert space.pretrain is not None and space.pretrain.layers == [32] and space.pretrain.unlabeled == "rest"


def test_data_classes_and_train_rows() -> None:
    space = validate_space({"data": {"classes": [4, 9], "train_rows": 200}})
    assert space.data.classes == [4, 9] and space.data.train_rows == 200
    assert validate_space({"data": {"classes": ["yes", "no"]}}).data.classes == ["yes", "no"]
    assert validate_space({}).data.classes is None and validate_space({}).data.train_rows is None


def test_silu_and_swish_are_the_same_activation() -> None:
    assert same_activation("swish", "silu") and same_activation("elu", "elu") and not same_activation("relu", "elu")
    assert not same_activation(["relu"], "relu")


@pytest.mark.parametrize("raw,field,fragment", [
    ({"space": {"reuse_layers": 2}}, "space.reuse_layers", "needs a `transfer:`"),
    ({"space": {"freeze_epochs": {"int": [0, 5]}}}, "space.freeze_epochs", "`pretrain:`"),
    ({"space": {"fine_tune_lr_factor": 0.5}}, "space.fine_tune_lr_factor", "`transfer:`"),
    ({**TRANSFER, "pretrain": {}}, "pretrain", "together"),
    ({**TRANSFER, "space": {"reuse_layers": 0}}, "space.reuse_layers", "from 1 to 64"),
    ({**TRANSFER, "space": {"reuse_layers": {"int": [0, 2]}}}, "space.reuse_layers", "got 0"),
    ({**TRANSFER, "space": {"reuse_layers": 1.5}}, "space.reuse_layers", "whole number"),
    ({**TRANSFER, "space": {"reuse_layers": {"float": [1, 2]}}}, "space.reuse_layers", "whole number"),
    ({**TRANSFER, "space": {"freeze_epochs": -1}}, "space.freeze_epochs", "from 0 to"),
    ({**TRANSFER, "space": {"freeze_epochs": "two"}}, "space.freeze_epochs", "whole number"),
    ({**TRANSFER, "space": {"fine_tune_lr_factor": 0}}, "space.fine_tune_lr_factor", "> 0"),
    ({**TRANSFER, "space": {"fine_tune_lr_factor": {"float": [-1, 1]}}}, "space.fine_tune_lr_factor", "> 0"),
    ({**TRANSFER, "space": {"fine_tune_lr_factor": True}}, "space.fine_tune_lr_factor", "> 0"),
    ({"transfer": {"frm": "a.keras"}}, "transfer.frm", "did you mean 'from'"),
    ({"transfer": {}}, "transfer.from", "required"),
    ({"transfer": {"from": ""}}, "transfer.from", "at least 1"),
    ({"transfer": "a.keras"}, "transfer", "dictionary"),
    ({"pretrain": {"kind": "vae"}}, "pretrain.kind", "'autoencoder'"),
    ({"pretrain": {"layers": [64, 0]}}, "pretrain.layers", "from 1 to"),
    ({"pretrain": {"layers": []}}, "pretrain.layers", "at least 1"),
    ({"pretrain": {"activation": "relux"}}, "pretrain.activation", "did you mean 'relu'"),
    ({"pretrain": {"epochs": 0}}, "pretrain.epochs", "greater than or equal to 1"),
    ({"pretrain": {"unlabeled": ""}}, "pretrain.unlabeled", "at least 1"),
    ({"pretrain": {"layer": [3]}}, "pretrain.layer", "did you mean 'layers'"),
    ({"data": {"classes": [4]}}, "data.classes", "at least 2"),
    ({"data": {"classes": "4,9"}}, "data.classes", "list"),
    ({"data": {"train_rows": 0}}, "data.train_rows", "greater than or equal to 1"),
    ({"transferr": {}}, "transferr", "did you mean 'transfer'"),
])
def test_bad_reuse_settings(raw: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(SpaceError) as info:
        validate_space(raw, source="space.yaml")
    text = str(info.value)
    assert text.startswith("space.yaml") and field in text and fragment in text, text
