from __future__ import annotations

import optuna
import pytest

from tunecli.config.space import validate_space
from tunecli.errors import SpaceError
from tunecli.search.engines._optuna import suggest
from tunecli.search.samplers import grid_of, make_pruner, make_sampler

SPACE = {"space": {
    "optimizer": {"choice": ["adam", "momentum"]},
    "momentum": {"float": [0.8, 0.99], "when": {"optimizer": ["momentum"]}},
    "activation": {"choice": ["relu", "elu", "leaky_relu"]},
    "alpha": {"float": [0.1, 0.3], "when": {"activation": ["leaky_relu", "elu"]}},
    "n_neurons": {"choice": [[32, 16], [64, 32]]},
    "dropout": 0.1,
}}


def test_conditional_parameters_only_when_their_condition_holds() -> None:
    space = validate_space(SPACE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        params = suggest(study.ask(), space)
        assert ("momentum" in params) == (params["optimizer"] == "momentum")
        assert ("alpha" in params) == (params["activation"] in ("leaky_relu", "elu"))
        assert params["n_neurons"] in ([32, 16], [64, 32])
        assert params["dropout"] == 0.1


@pytest.mark.parametrize("algorithm", ["tpe", "random", "qmc"])
def test_samplers(algorithm: str) -> None:
    space = validate_space({**SPACE, "search": {"algorithm": algorithm}})
    assert isinstance(make_sampler(space), optuna.samplers.BaseSampler)


def test_grid_needs_steps_for_floats() -> None:
    with pytest.raises(SpaceError, match="step"):
        grid_of(validate_space({**SPACE, "search": {"algorithm": "grid"}}))
    grid = grid_of(validate_space({"space": {"n_hidden": {"int": [1, 3]}, "activation": {"choice": ["relu", "elu"]}}}))
    assert grid == {"n_hidden": [1, 2, 3], "activation": ["relu", "elu"]}


@pytest.mark.parametrize("name,cls", [("median", optuna.pruners.MedianPruner), ("hyperband", optuna.pruners.HyperbandPruner),
                                      ("successive-halving", optuna.pruners.SuccessiveHalvingPruner),
                                      ("none", optuna.pruners.NopPruner)])
def test_pruners(name: str, cls: type) -> None:
    assert isinstance(make_pruner(validate_space({"search": {"pruner": name}})), cls)
