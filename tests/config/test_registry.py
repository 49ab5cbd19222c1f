"""The tables of engines, algorithms and pruners: what the command line, the space file and the search read."""

from __future__ import annotations

import importlib.util

import optuna
import pytest

from tunecli.config import registry
from tunecli.config.registry import Algorithm, Engine, Pruner, register
from tunecli.config.space import validate_space
from tunecli.errors import SpaceError


class FakeSampler(optuna.samplers.RandomSampler):
    """A sampler of one's own: a class that takes the seed."""

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.seed = seed


class FakeEngine:
    name = "fake-engine"


@pytest.fixture(autouse=True)
def _tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a test registers is gone after it."""
    for table in ("ENGINES", "ALGORITHMS", "PRUNERS"):
        monkeypatch.setattr(registry, table, dict(getattr(registry, table)))


def test_a_sampler_registered_at_run_time_is_validated_and_made() -> None:
    from tunecli.search.samplers import make_sampler

    with pytest.raises(SpaceError, match="unknown algorithm 'fake'"):
        validate_space({"search": {"algorithm": "fake"}})
    register(Algorithm("fake", "a sampler of one's own", "tests.config.test_registry:FakeSampler"))
    space = validate_space({"search": {"algorithm": "fake", "seed": 7}})
    sampler = make_sampler(space)
    assert isinstance(sampler, FakeSampler) and sampler.seed == 7
    assert "fake" in registry.algorithms_help() and "a sampler of one's own" in registry.describe()
    with pytest.raises(SpaceError, match="for engine keras-tuner"):  # an Optuna sampler, not a Keras Tuner tuner
        validate_space({"search": {"engine": "keras-tuner", "algorithm": "fake"}})


def test_a_factory_may_be_a_function_of_the_space() -> None:
    from tunecli.search.samplers import make_pruner, make_sampler

    made = []
    register(Algorithm("counted", "one draw", lambda space: made.append(space.search.trials) or FakeSampler(0)))
    register(Pruner("never", "a pruner of one's own", optuna.pruners.NopPruner))
    space = validate_space({"search": {"algorithm": "counted", "pruner": "never", "trials": 3}})
    assert isinstance(make_sampler(space), FakeSampler) and made == [3]
    assert isinstance(make_pruner(space), optuna.pruners.NopPruner)


def test_an_engine_registered_at_run_time() -> None:
    from tunecli.search.engines import get_engine

    register(Engine("fake-engine", "an engine of one's own", FakeEngine, label="Fake", default_algorithm="walk"))
    register(Algorithm("walk", "its one algorithm", FakeSampler, engine="fake-engine"))
    space = validate_space({"search": {"engine": "fake-engine"}})
    assert space.search.algorithm == "walk" and isinstance(get_engine("fake-engine"), FakeEngine)
    with pytest.raises(SpaceError, match="workers > 1 needs engine optuna .got fake-engine.; Fake runs one process"):
        validate_space({"search": {"engine": "fake-engine", "workers": 2}})


def test_a_missing_package_is_named_with_the_algorithms_that_need_none() -> None:
    from tunecli.search.samplers import make_sampler

    register(Algorithm("needy", "needs a package", FakeSampler, requires=("no_such_package_here",)))
    with pytest.raises(SpaceError, match="needs the no_such_package_here package: pip install no_such_package_here; "
                                         "or use tpe, random, nsga2, qmc or grid"):
        make_sampler(validate_space({"search": {"algorithm": "needy"}}))


def test_every_built_in_factory_resolves() -> None:
    for entry in [*registry.ENGINES.values(), *registry.ALGORITHMS.values(), *registry.PRUNERS.values()]:
        module, _, attr = entry.factory.partition(":")
        if module.startswith("keras_tuner"):  # importing it imports Keras: its presence is enough here
            assert importlib.util.find_spec(module) is not None, entry
        else:
            assert callable(entry.load()), entry


def test_the_command_line_reads_the_tables() -> None:
    from tunecli.ui import commandline as options  # the command line's choices

    assert [e.value for e in options.Engine] == list(registry.ENGINES)
    assert [p.value for p in options.Pruner] == list(registry.PRUNERS)
    assert registry.algorithms("keras-tuner") == ["random", "bayesian", "hyperband", "grid"]
    with pytest.raises(TypeError, match="an Engine, Algorithm or Pruner"):
        register(object())  # type: ignore[type-var]
