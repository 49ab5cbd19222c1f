"""Objectives and constraints in the space file: one metric or a list, bounds with units, and what is refused."""

from __future__ import annotations

import pytest

from tunecli.config.objective import Bound, parse_bound, resolve_objective
from tunecli.config.space import validate_space
from tunecli.errors import SpaceError


def test_one_metric_stays_as_it_was() -> None:
    space = validate_space({"objective": "val_accuracy"})
    assert space.objective == "val_accuracy" and space.objectives() == ["val_accuracy"]
    objective = resolve_objective(space.objective, "classification")
    assert objective.names == ["val_accuracy"] and not objective.multi and objective.directions == ["maximize"]
    assert validate_space({"objective": ["val_rmse"]}).objective == "val_rmse"   # a list of one is one metric


def test_a_list_is_the_metric_then_costs_each_minimized() -> None:
    space = validate_space({"objective": ["auto", "params", "latency"]})
    objective = resolve_objective(space.objective, "regression")
    assert objective.metric == "val_rmse" and objective.costs == ("params", "latency") and objective.multi
    assert objective.directions == ["minimize"] * 3
    assert resolve_objective(["val_accuracy", "size"], "classification").directions == ["maximize", "minimize"]


def test_several_objectives_turn_pruning_off() -> None:
    assert validate_space({"objective": ["val_accuracy", "params"]}).search.pruner == "none"
    assert validate_space({"objective": ["val_accuracy", "params"], "search": {"pruner": "none"}}).search.pruner == "none"
    assert validate_space({"objective": "val_accuracy"}).search.pruner == "median"


@pytest.mark.parametrize("text,expected", [
    ("<= 50000", Bound("params", "<=", 50000)), ("<=50k", Bound("params", "<=", 50000)),
    (">= 1.5M", Bound("params", ">=", 1.5e6)), ("<= 2ms", Bound("latency", "<=", 2.0)),
    ("<= 500us", Bound("latency", "<=", 0.5)), ("<= 0.01 s", Bound("latency", "<=", 10.0)),
    ("<= 200kB", Bound("size", "<=", 2e5)), ("<= 1MiB", Bound("size", "<=", 1024**2)),
    (">= 0.9", Bound("val_accuracy", ">=", 0.9)),
])
def test_bounds_are_read_in_the_stored_units(text: str, expected: Bound) -> None:
    assert parse_bound(expected.name, text, ("val_accuracy",)) == expected


def test_a_bound_tells_how_far_a_value_is_outside() -> None:
    assert Bound("params", "<=", 100).violation(150) == 50 and Bound("params", "<=", 100).violation(80) < 0
    assert Bound("val_accuracy", ">=", 0.9).violation(0.8) == pytest.approx(0.1)
    assert Bound("latency", "<=", 1).violation(None) == 0.0   # not measured: not counted as broken


def test_constraints_are_kept_with_the_space() -> None:
    space = validate_space({"objective": ["val_accuracy", "params"],
                            "constraints": {"params": "<= 50000", "latency": "<= 2ms", "val_accuracy": ">= 0.5"}})
    assert space.bounds() == [Bound("params", "<=", 50000), Bound("latency", "<=", 2.0), Bound("val_accuracy", ">=", 0.5)]


@pytest.mark.parametrize("raw,field,words", [
    ({"objective": ["val_accuracy", "flops"]}, "objective", "unknown objective 'flops'"),
    ({"objective": "params"}, "objective", "is a cost, not a score"),
    ({"objective": ["params", "val_accuracy"]}, "objective", "is a cost, not a score"),
    ({"objective": ["val_accuracy", "val_loss"]}, "objective", "one validation metric"),
    ({"objective": ["val_accuracy", "params", "params"]}, "objective", "each objective once"),
    ({"objective": []}, "objective", "a validation metric first"),
    ({"constraints": {"params": "<= lots"}}, "constraints.params", "'<= NUMBER'"),
    ({"constraints": {"latency": "< 2ms"}}, "constraints.latency", "'<= NUMBER'"),
    ({"constraints": {"latency": "<= 2 hours"}}, "constraints.latency", "units: ms"),
    ({"constraints": {"params": 50000}}, "constraints.params", "'<= NUMBER'"),
    ({"constraints": {"flops": "<= 5"}}, "constraints.flops", "unknown"),
    ({"objective": "val_accuracy", "constraints": {"val_rmse": "<= 5"}}, "constraints.val_rmse", "not measured"),
    ({"constraints": {"val_accuracy": ">= 0.9"}}, "constraints.val_accuracy", "name the metric"),
    ({"objective": ["val_accuracy", "params"], "search": {"engine": "keras-tuner"}}, "search.engine", "optuna"),
    ({"constraints": {"params": "<= 9"}, "search": {"engine": "keras-tuner"}}, "search.engine", "optuna"),
    ({"objective": ["val_accuracy", "params"], "search": {"algorithm": "cmaes"}}, "search.algorithm", "nsga2"),
    ({"objective": ["val_accuracy", "params"], "search": {"pruner": "median"}}, "search.pruner", "cannot prune"),
])
def test_bad_objectives_and_constraints_name_the_field(raw: dict, field: str, words: str) -> None:
    with pytest.raises(SpaceError) as caught:
        validate_space(raw, source="space.yaml")
    message = caught.value.render()
    assert message.startswith("space.yaml: ") and f"{field}:" in message and words in message, message
