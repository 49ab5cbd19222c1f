from __future__ import annotations

import pytest

from tests.helpers import ROOT
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


def test_anchors_and_aliases_of_a_normal_file_still_load(write_space) -> None:
    path = write_space("study: x\norigin: {acts: &acts [relu, elu]}\n"
                       "space:\n  activation: {choice: *acts}\n  initializer: {choice: [auto, he]}\n")
    space = load_space(path)
    assert space.space["activation"].choices == ["relu", "elu"]
    assert space.origin == {"acts": ["relu", "elu"]}


def test_an_alias_bomb_is_refused_at_once(write_space) -> None:
    import time

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    path = write_space("\n".join(lines) + "\nstudy: *a8\n")
    start = time.perf_counter()
    with pytest.raises(SpaceError, match="aliases") as info:
        load_space(path)
    assert time.perf_counter() - start < 1.0
    assert len(info.value.render()) < 300


@pytest.mark.parametrize("text,fragment", [
    ("study: x\nspace: &s {n_hidden: *s}\n", "recursive"),
    ("study: " + "[" * 40 + "]" * 40 + "\n", "nested more than"),
    ("study: " + "[" * 3000 + "]" * 3000 + "\n", "nested more than"),
    ("study: " + "9" * 5000 + "\n", "cannot read this value"),
    ("study: 2024-02-30\n", "cannot read this value"),
])
def test_hostile_yaml_is_refused_with_a_short_message(write_space, text: str, fragment: str) -> None:
    with pytest.raises(SpaceError, match=fragment) as info:
        load_space(write_space(text))
    assert len(info.value.render()) < 300 and "\n" not in info.value.render()


@pytest.mark.parametrize("raw,field", [
    ({"study": "s" * 1_000_000}, "study"),
    ({"search": {"algorithm": "a" * 1_000_000}}, "search.algorithm"),
    ({"search": {"timeout": "9" * 1_000_000 + "x"}}, "search.timeout"),
    ({"data": {"drop": list(range(10_000))}}, "data.drop.0"),
    ({"space": {"activation": "r" * 1_000_000}}, "space.activation"),
    ({"space": {"p" * 1_000_000: 1}}, "space.ppp"),
    ({"space": {"n_hidden": {"int": [1, "x" * 1_000_000]}}}, "space.n_hidden.high"),
    ({"space": {"momentum": {"float": [0.8, 0.9], "when": {"optimizer": [["x" * 1_000_000]]}}}}, "space.momentum.when"),
])
def test_echoed_values_are_capped(raw: dict, field: str) -> None:
    with pytest.raises(SpaceError) as info:
        validate_space(raw, source="bad.yaml")
    text = info.value.render()
    assert field in text and len(text) < 500 and "\n" not in text, text
    assert "…" in text or "more" in text


@pytest.mark.parametrize("raw,field", [
    ({"search": {"seed": 2**40}}, "search.seed"),
    ({"data": {"seed": -1}}, "data.seed"),
    ({"data": {"validation": float("nan")}}, "data.validation"),
    ({"search": {"timeout": float("inf")}}, "search.timeout"),
    ({"space": {"momentum": "high"}}, "space.momentum"),
    ({"space": {"mc_dropout": 2}}, "space.mc_dropout"),
    ({"space": {"clipnorm": [1]}}, "space.clipnorm"),
    ({"space": {"learning_rate": {"float": [1e-4, float("inf")]}}}, "space.learning_rate"),
    ({"space": {"learning_rate": {"lr_finder": {"min_lr": 1, "max_lr": 0.1}}}}, "min_lr < max_lr"),
    ({"space": {"learning_rate": {"lr_finder": {"multiplier": {"float": [3, 0.3]}}}}}, "space.learning_rate.multiplier"),
    ({"space": {"n_hidden": {"int": [1, 4], "stepp": 2}}}, "allowed here: int, log, step, when"),
])
def test_out_of_range_numbers_and_types_name_the_field(raw: dict, field: str) -> None:
    with pytest.raises(SpaceError) as info:
        validate_space(raw, source="bad.yaml")
    assert field in info.value.render()


def test_show_caps_every_kind_of_value() -> None:
    from tunecli.errors import MAX_VALUE_CHARS, show

    nested: list = []
    nested.append(nested)
    for value in ("x" * 10**6, 10**5000, [[["a" * 100] * 100] * 100] * 100, {"k" * 100: 1}, b"\0" * 10**6, nested):
        assert len(show(value)) <= MAX_VALUE_CHARS
    assert show("relu") == "'relu'" and show(0.5) == "0.5"


@pytest.mark.parametrize(("search", "data", "fragment"), [
    ({"members": "lots"}, {}, "search.members: 'auto' or a number of trials from 1 to 64, got 'lots'"),
    ({"members": 0}, {}, "search.members: 'auto' or a number of trials from 1 to 64, got 0"),
    ({"members": True}, {}, "search.members"),
    ({}, {"cv": 1}, "data.cv"),
])
def test_members_and_cv_are_checked_with_one_clear_message(search: dict, data: dict, fragment: str) -> None:
    with pytest.raises(SpaceError) as info:
        validate_space({"data": {"source": "digits", **data}, "search": search})
    assert fragment in info.value.render()


def test_members_auto_or_a_number() -> None:
    assert validate_space({"search": {"members": 4}}).search.members == 4
    assert validate_space({}).search.members == "auto"


@pytest.mark.parametrize("space,fixed", [
    ({}, True),
    ({"n_hidden": 2, "activation": {"choice": ["relu"]}, "dropout": {"float": [0.1, 0.1]}}, True),
    ({"learning_rate": {"lr_finder": {"rule": "valley"}}}, True),
    ({"learning_rate": {"lr_finder": {"rule": "valley", "multiplier": {"float": [0.5, 2.0]}}}}, False),
    ({"n_hidden": 2, "activation": {"choice": ["relu", "elu"]}}, False),
    ({"n_hidden": {"int": [1, 3]}}, False),
])
def test_a_space_knows_when_every_parameter_is_fixed(space: dict, fixed: bool) -> None:
    assert validate_space({"space": space}).all_fixed() is fixed


def test_the_unknown_parameter_message_cuts_at_whole_names_and_says_where_all_are(write_space) -> None:
    from tunecli.config.catalogue import DEFAULTS

    with pytest.raises(SpaceError) as info:
        load_space(write_space({"space": {"n_hiden": 2}}))
    message = info.value.render()
    listed = message.split("allowed: ", 1)[1]
    names, more = listed.rsplit(", +", 1)
    assert all(name in DEFAULTS for name in names.split(", "))       # every name shown is whole
    shown = len(names.split(", "))
    assert more.startswith(f"{len(DEFAULTS) - shown} more") and "README.md" in more
    assert "…" not in message and "did you mean 'n_hidden'?" in message


def test_a_bad_value_given_on_the_command_line_is_blamed_on_its_option(write_space) -> None:
    path = write_space({"search": {"trials": 5}, "space": {"n_hidden": 1}})
    options = {"search.trials": "--trials", "search.timeout": "--timeout", "search.rerank.top": "--rerank-top"}
    for overrides, start in [({"search.trials": -1}, "--trials: "), ({"search.timeout": "0x"}, "--timeout: "),
                             ({"search.rerank.top": 2000}, "--rerank-top: ")]:
        with pytest.raises(SpaceError) as info:
            load_space(path, overrides, options=options)
        assert info.value.render().startswith(start), info.value.render()
        assert "space.yaml" not in info.value.render()
    bad_file = write_space({"search": {"trials": 0}}, name="bad.yaml")
    with pytest.raises(SpaceError) as info:           # the file's own bad value is still the file's
        load_space(bad_file, {"search.timeout": "10m"}, options=options)
    assert info.value.render().startswith(f"{bad_file}: search.trials")
