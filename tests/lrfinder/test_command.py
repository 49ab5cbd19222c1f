"""The core of ``tunecli lr-find``: the configuration it tests, --params, --from-study, the space it writes."""

from __future__ import annotations

import optuna
import pytest

from tunecli.config.space import validate_space
from tunecli.errors import SpaceError, StorageError
from tunecli.lrfinder.command import best_config_of, default_config, find_lr, parse_params, space_with_lr_range
from tunecli.studies import attrs
from tunecli.studies.storage import open_storage

SPACE = {"study": "lr", "data": {"source": "digits"}, "space": {
    "n_hidden": {"int": [1, 4]},                                   # default 2 lies inside
    "n_neurons": {"int": [100, 200]},                              # default 64 lies outside: the middle
    "l2": {"float": [1e-6, 1e-2], "log": True},                    # default 0.0 outside: the geometric middle
    "activation": {"choice": ["elu", "relu"]},
    "optimizer": {"choice": ["adam", "momentum"]},
    "momentum": {"float": [0.8, 0.99], "when": {"optimizer": ["momentum"]}},
    "alpha": {"float": [0.1, 0.3], "when": {"activation": ["elu"]}},
    "dropout": 0.2,
    "learning_rate": {"lr_finder": {"rule": "valley", "multiplier": {"float": [0.5, 2.0], "log": True}}},
}}


def test_default_config_takes_fixed_values_first_choices_and_defaults() -> None:
    config = default_config(validate_space(SPACE))
    assert config == {"n_hidden": 2, "n_neurons": 150, "l2": pytest.approx(1e-4), "activation": "elu",
                      "optimizer": "adam", "alpha": pytest.approx(0.2), "dropout": 0.2}
    assert isinstance(config["n_neurons"], int)
    assert "momentum" not in config  # its condition (optimizer: momentum) fails for the first choice
    assert "learning_rate" not in config and "lr_multiplier" not in config


def test_default_config_keeps_a_fixed_learning_rate() -> None:
    config = default_config(validate_space({"space": {"learning_rate": 0.05, "batch_size": {"int": [100, 300]}}}))
    assert config == {"learning_rate": 0.05, "batch_size": 200}


def test_parse_params_reads_yaml_values() -> None:
    parsed = parse_params(["n_hidden=3", " activation = elu", "dropout=0.25", "n_neurons=[32, 16]", "clipnorm=1"])
    assert parsed == {"n_hidden": 3, "activation": "elu", "dropout": 0.25, "n_neurons": [32, 16], "clipnorm": 1}
    assert parse_params([]) == {}


@pytest.mark.parametrize("item,field,fragment", [
    ("n_hidden", "--params", "expected key=value, got 'n_hidden'"),
    ("bogus=1", "--params bogus", "unknown parameter 'bogus'"),
    ("activation=relux", "--params activation", "did you mean 'relu'"),
    ("n_hidden=0", "--params n_hidden", "whole number from 1 to 64"),
    ("dropout=[unclosed", "--params dropout", "expected ',' or ']'"),
])
def test_parse_params_refuses_bad_input(item: str, field: str, fragment: str) -> None:
    with pytest.raises(SpaceError) as info:
        parse_params([item])
    assert info.value.field == field and fragment in info.value.message


def test_parse_params_names_its_source() -> None:
    with pytest.raises(SpaceError) as info:
        parse_params(["n_hidden=x"], source="--override")
    assert info.value.field == "--override n_hidden"


def test_space_with_lr_range_copies_the_space_with_a_log_range() -> None:
    raw = {"study": "mine", "data": {"source": "iris"}, "space": {"n_hidden": 2, "learning_rate": 0.01}}
    out = space_with_lr_range(raw, (1.23456e-4, 0.0123456))
    assert out["study"] == "mine-lr" and out["data"] == {"source": "iris"}
    assert out["space"] == {"n_hidden": 2, "learning_rate": {"float": [0.000123, 0.0123], "log": True}}
    assert raw["space"]["learning_rate"] == 0.01 and raw["study"] == "mine"  # the original is untouched
    validate_space(out)  # and the result is a valid space
    bare = space_with_lr_range({}, (0.001, 0.1))
    assert bare["study"] == "tunecli-study-lr" and bare["space"]["learning_rate"]["float"] == [0.001, 0.1]


def _store(tmp_path, values: list[float | None], name: str = "s") -> str:
    url = str(tmp_path / "studies.journal")
    study = optuna.create_study(study_name=name, storage=open_storage(url), direction="maximize")
    for i, value in enumerate(values):
        trial = study.ask()
        trial.set_user_attr(attrs.CONFIG, {"n_hidden": i + 1, "activation": "elu", "learning_rate": 0.01 * (i + 1)})
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value)
    return url


def test_best_config_of_takes_the_best_trial_without_its_learning_rate(tmp_path) -> None:
    url = _store(tmp_path, [0.5, 0.9, None, 0.7])
    assert best_config_of("s", url) == {"n_hidden": 2, "activation": "elu"}


def test_best_config_of_refuses_a_study_without_a_completed_trial(tmp_path) -> None:
    url = _store(tmp_path, [None, None])
    with pytest.raises(SpaceError, match="no completed trial yet") as info:
        best_config_of("s", url)
    assert info.value.field == "--from-study"
    with pytest.raises(StorageError, match="no study named 'other'"):
        best_config_of("other", url)


@pytest.mark.parametrize("min_lr,max_lr", [(0.0, 1.0), (-1e-3, 1.0), (1.0, 1.0), (1.0, 1e-3)])
def test_find_lr_refuses_a_bad_range_before_loading_anything(min_lr: float, max_lr: float) -> None:
    space = validate_space({"data": {"source": "no-such-file.csv"}})  # loading it would raise a DataError
    with pytest.raises(SpaceError, match="need 0 < --min-lr < --max-lr") as info:
        find_lr(space, params={}, from_study=None, storage_url=None, min_lr=min_lr, max_lr=max_lr, steps=20,
                rule="valley")
    assert info.value.field == "--min-lr"


@pytest.mark.slow  # imports Keras (seconds on its own)
def test_find_lr_runs_on_the_best_trial_with_params_on_top(tmp_path) -> None:
    url = _store(tmp_path, [0.5, 0.9])
    space = validate_space({"data": {"source": "digits"}, "space": {"n_hidden": {"int": [1, 3]}}})
    outcome = find_lr(space, params={"n_neurons": 16}, from_study="s", storage_url=url, min_lr=1e-4, max_lr=0.1,
                      steps=10, rule="minimum")
    assert outcome.config == {"n_hidden": 2, "activation": "elu", "n_neurons": 16}
    assert outcome.config_source == "the best trial of study s with --params n_neurons=16"
    assert outcome.dataset.startswith("digits: 64 features, 10 classes")
    assert outcome.result.steps == 10 and outcome.result.rule == "minimum" and "minimum" in outcome.result.suggestions
