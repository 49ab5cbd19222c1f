"""How many trials a search trains together, and which re-ranking runs share a program."""

from __future__ import annotations

import time

import optuna

from tunecli.config.space import validate_space
from tunecli.data import load_data
from tunecli.search.context import by_structure, members_for
from tunecli.search.engines import SearchContext
from tunecli.search.samplers import PRUNER_STARTUP
from tunecli.studies import attrs
from tunecli.trainers.fast import cost

SMALL = {"n_hidden": 1, "n_neurons": 32, "batch_size": 32}


def _space(**search) -> object:
    return validate_space({"data": {"source": "digits"}, "search": {"trials": 100, **search}})


def test_one_at_a_time_until_the_pruner_has_trials_to_compare_then_the_cost_model() -> None:
    space, data = _space(), load_data(validate_space({"data": {"source": "digits"}}).data)
    assert members_for(SMALL, space, data, done=PRUNER_STARTUP - 1) == 1
    assert members_for(SMALL, space, data, done=PRUNER_STARTUP) == cost.MAX_MEMBERS   # a small network on digits
    assert members_for(SMALL, _space(pruner="none"), data, done=0) == cost.MAX_MEMBERS
    assert members_for(SMALL, _space(members=3), data, done=0) == 3       # a number is taken as it is
    assert members_for(SMALL, _space(members=1), data, done=10) == 1
    assert members_for(SMALL, _space(trials=8), data, done=10) == 2       # at most a quarter of the trials
    assert members_for({**SMALL, "n_neurons": [32, 16]}, space, data, done=10) == 1   # per-layer widths: Keras


def test_cross_validation_divides_the_group_among_the_folds() -> None:
    data = load_data(validate_space({"data": {"source": "digits", "cv": 4}}).data)
    assert members_for(SMALL, _space(), data, done=10) == cost.MAX_MEMBERS // 4


def test_re_ranking_runs_train_together_by_structure() -> None:
    space, data = _space(), load_data(validate_space({"data": {"source": "digits"}}).data)
    configs = [SMALL, {**SMALL, "learning_rate": 0.01}, {**SMALL, "n_hidden": 2}, SMALL, {**SMALL, "n_neurons": [8, 8]}]
    groups = by_structure(configs, space, data)
    assert sorted(map(sorted, groups)) == [[0, 1, 3], [2], [4]]


def test_a_group_is_no_larger_than_the_trials_that_fit_before_the_timeout() -> None:
    space = _space(timeout=100, rerank={"top": 0})
    study = optuna.create_study(direction="maximize")
    ctx = SearchContext(space, None, None, study, None, deadline=time.monotonic() + 10)
    assert ctx.trials_that_fit() is None                       # no trial has completed: nothing to go on
    dist = optuna.distributions.FloatDistribution(0.0, 1.0)
    for seconds in (1.0, 2.0, 3.0):
        study.add_trial(optuna.trial.create_trial(params={"x": 0.5}, distributions={"x": dist}, value=0.5,
                                                  user_attrs={attrs.SECONDS: seconds}))
    assert ctx.trials_that_fit() in (4, 5)                     # ~10 s left at the median 2 s a trial
    ctx.deadline = time.monotonic() - 1
    assert ctx.trials_that_fit() == 1
    assert SearchContext(space, None, None, study, None).trials_that_fit() is None   # no timeout
