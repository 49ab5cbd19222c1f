from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tunecli.config.params import ChoiceParam, FixedParam, FloatParam, IntParam, LrFinderParam
from tunecli.config.space import load_space, parse_duration, validate_space
from tunecli.errors import SpaceError


def test_example_files_are_valid() -> None:
    for path in sorted((ROOT / "search_spaces").glob("*.yaml")):
        space = load_space(path)
        assert space.space, path


def test_param_kinds_and_order() -> None:
    space = validate_space({"space": {
        "momentum": {"float": [0.8, 0.99], "when": {"optimizer": ["momentum", "nesterov"]}},
        "optimizer": {"choice": ["adam", "momentum"]},
        "n_hidden": {"int": [1, 4], "step": 1},
        "n_neurons": {"int": [16, 256], "log": True},
        "dropout": 0.2,
        "learning_rate": {"lr_finder": {"rule": "steep"}},
    }})
    assert isinstance(space.space["n_hidden"], IntParam)
    assert space.space["n_neurons"].log
    assert isinstance(space.space["optimizer"], ChoiceParam)
    assert isinstance(space.space["dropout"], FixedParam)
    assert isinstance(space.space["learning_rate"], LrFinderParam)
    assert isinstance(space.space["momentum"], FloatParam)
    order = space.order()
    assert order.index("optimizer") < order.index("momentum")
    assert space.fixed_values() == {"dropout": 0.2}


def test_overrides_win_over_the_file(write_space) -> None:
    path = write_space({"search": {"trials": 50}, "space": {"n_hidden": 1}})
    space = load_space(path, {"search.trials": 3, "training.max_epochs": 2, "data.source": "wine", "study": None})
    assert space.search.trials == 3
    assert space.training.max_epochs == 2
    assert space.data.source == "wine"
    assert space.study == "tunecli-study"


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("10m", 600), ("1.5h", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_grid_values() -> None:
    assert IntParam(low=1, high=5, step=2).values() == [1, 3, 5]
    assert FloatParam(low=0.0, high=0.3, step=0.1).values() == [0.0, 0.1, 0.2, 0.3]


@pytest.mark.parametrize("raw,field,fragment", [
    ({"space": {"activation": {"choice": ["relu", "relux"]}}}, "space.activation", "allowed: relu"),
    ({"space": {"optimizer": "adamx"}}, "space.optimizer", "nadam"),
    ({"space": {"schedule": "linear"}}, "space.schedule", "one_cycle"),
    ({"space": {"n_neurons": {"int": [300, 10]}}}, "space.n_neurons", "low <= high"),
    ({"space": {"learning_rate": {"float": [0, 1], "log": True}}}, "space.learning_rate", "low > 0"),
    ({"space": {"activation": {"choice": []}}}, "space.activation", "at least 1"),
    ({"space": {"momentum": {"float": [0.8, 0.9], "when": {"optimiser": ["momentum"]}}}},
     "space.momentum.when.optimiser", "unknown parameter"),
    ({"space": {"neurons": 3}}, "space.neurons", "unknown parameter"),
    ({"space": {"activaton": "relu"}}, "space.activaton", "did you mean 'activation'?"),
    ({"space": {"activation": "rleu"}}, "space.activation", "did you mean 'relu'?"),
    ({"serch": {}}, "serch", "did you mean 'search'?"),
    ({"search": {"trials": 0}}, "search.trials", "greater than or equal to 1"),
    ({"search": {"trails": 3}}, "search.trails", "unknown key"),
    ({"training": {"max_epochs": "ten"}}, "training.max_epochs", "integer"),
    ({"space": {"n_neurons": 1_000_000_000}}, "space.n_neurons", "from 1 to"),
])
def test_bad_spaces_name_the_field(raw: dict, field: str, fragment: str) -> None:
    with pytest.raises(SpaceError) as info:
        validate_space(raw, source="bad.yaml")
    text = info.value.render()
    assert text.startswith("bad.yaml: ")
    assert field in text
    assert fragment in text


def test_python_tags_never_execute(write_space, tmp_path) -> None:
    marker = tmp_path / "pwned"
    path = write_space(f"study: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(SpaceError, match="invalid YAML"):
        load_space(path)
    assert not marker.exists()


def test_yaml_syntax_error_names_the_line(write_space) -> None:
    path = write_space("study: x\nspace:\n  n_hidden: {int: [1, 2]\n")
    with pytest.raises(SpaceError, match=r"line \d+"):
        load_space(path)
