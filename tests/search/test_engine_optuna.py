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


def _engine_context(space_raw: dict, members: int, groups: list[list[dict]]):  # noqa: ANN202
    """An Optuna engine's context whose trainer records the groups it is given (no training)."""
    from tunecli.config.objective import resolve_objective
    from tunecli.search.engines import SearchContext
    from tunecli.search.progress import QuietProgress
    from tunecli.search.samplers import make_sampler
    from tunecli.trial import TrialResult

    space = validate_space(space_raw)
    study = optuna.create_study(direction="maximize", sampler=make_sampler(space))

    def run_group(configs: list[dict], on_epochs: list, seeds: list) -> list:
        groups.append(configs)
        return [TrialResult("PRUNED", None, 1, 0.1) for _ in configs]

    ctx = SearchContext(space, None, resolve_objective("auto", "classification"), study,
                        QuietProgress(space.search.trials, 0, "val_accuracy", 1))
    ctx.run_group, ctx.members = run_group, lambda config: members
    return ctx, study


@pytest.mark.parametrize("algorithm", ["tpe", "random"])
def test_trials_are_asked_in_groups_that_share_every_choice_but_the_floats(algorithm: str) -> None:
    from tunecli.search.engines._optuna import OptunaEngine

    raw = {"search": {"trials": 10, "algorithm": algorithm, "seed": 3}, "space": {
        "n_hidden": {"int": [1, 4]}, "activation": {"choice": ["relu", "elu", "selu"]},
        "optimizer": {"choice": ["adam", "momentum"]},
        "momentum": {"float": [0.8, 0.99], "when": {"optimizer": ["momentum"]}},
        "learning_rate": {"float": [1e-4, 0.1], "log": True}}}
    groups: list[list[dict]] = []
    ctx, study = _engine_context(raw, 4, groups)
    OptunaEngine().run(ctx)
    assert [len(g) for g in groups] == [4, 4, 2] and len(study.trials) == 10   # the last group fills the total
    for group in groups:
        for key in ("n_hidden", "activation", "optimizer"):
            assert len({c[key] for c in group}) == 1, (key, group)
        assert len({c["learning_rate"] for c in group}) == len(group)   # the floats are sampled for each
    assert isinstance(study.sampler, (optuna.samplers.TPESampler, optuna.samplers.RandomSampler))  # put back


def test_samplers_that_cannot_be_partly_fixed_ask_one_at_a_time() -> None:
    from tunecli.search.engines._optuna import OptunaEngine

    raw = {"search": {"trials": 4, "algorithm": "qmc", "seed": 0}, "space": {
        "n_hidden": {"int": [1, 4]}, "learning_rate": {"float": [1e-4, 0.1], "log": True}}}
    groups: list[list[dict]] = []
    ctx, _ = _engine_context(raw, 4, groups)
    OptunaEngine().run(ctx)
    assert [len(g) for g in groups] == [1, 1, 1, 1]
