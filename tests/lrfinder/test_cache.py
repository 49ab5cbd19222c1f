"""Inside a search, the range test of a structure runs once and is reused by every later trial."""

from __future__ import annotations

import optuna
import pytest

from tests.trainers.transfer_data import random_base, tiny
from tunecli.config.catalogue import with_defaults
from tunecli.config.objective import resolve_objective
from tunecli.config.params import LrFinderParam
from tunecli.config.space import DataSpec, Training
from tunecli.data import load_data
from tunecli.lrfinder.cache import StudyLRCache, range_test_key
from tunecli.studies import attrs
from tunecli.trial import run_trial


@pytest.fixture(scope="module")
def iris():  # noqa: ANN201
    return load_data(DataSpec(source="iris"))


def test_a_structure_is_tested_once_and_reused(iris) -> None:  # noqa: ANN001
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    cache = StudyLRCache(optuna.create_study())
    objective = resolve_objective("auto", iris.task)
    spec = LrFinderParam(steps=30, min_lr=1e-4, max_lr=1.0)
    base = {"n_hidden": 1, "n_neurons": 8, "learning_rate": spec}
    first = run_trial({**base, "dropout": 0.1}, iris, Training(max_epochs=1), objective, seed=0, lr_cache=cache)
    again = run_trial({**base, "dropout": 0.3}, iris, Training(max_epochs=1), objective, seed=1, lr_cache=cache)
    other = run_trial({**base, "n_neurons": 9}, iris, Training(max_epochs=1), objective, seed=2, lr_cache=cache)
    assert first.extras[attrs.LR_FROM_CACHE] is False and first.extras[attrs.LR_FINDER_SECONDS] > 0
    assert again.extras[attrs.LR_FROM_CACHE] is True and again.extras[attrs.LR_FOUND] == first.extras[attrs.LR_FOUND]
    assert other.extras[attrs.LR_FROM_CACHE] is False  # another width: another structure
    assert len(cache) == 2


def test_the_key_ignores_continuous_values_but_not_the_structure(iris) -> None:  # noqa: ANN001
    spec = LrFinderParam()
    key = range_test_key(with_defaults({"learning_rate": spec, "dropout": 0.1, "momentum": 0.8}), iris)
    assert key == range_test_key(with_defaults({"learning_rate": spec, "dropout": 0.4, "momentum": 0.95}), iris)
    for change in ({"dropout": 0.0}, {"optimizer": "nadam"}, {"batch_size": 64}, {"activation": "elu"},
                   {"n_hidden": 3}, {"learning_rate": LrFinderParam(steps=50)}):
        assert key != range_test_key(with_defaults({"learning_rate": spec, "dropout": 0.1, **change}), iris), change


def test_the_key_names_the_base() -> None:
    p = with_defaults({"n_hidden": 3, "n_neurons": 12, "batch_size": 32, "learning_rate": LrFinderParam()})
    keys = {range_test_key(p, tiny()), range_test_key(p, tiny(base=random_base())),
            range_test_key({**p, "reuse_layers": 1}, tiny(base=random_base())),
            range_test_key({**p, "freeze_epochs": 2}, tiny(base=random_base())),
            range_test_key(p, tiny(base=random_base()._replace(source="other")))}
    assert len(keys) == 5
