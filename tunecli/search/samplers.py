"""Optuna's samplers and pruners as the space file names them (``search.algorithm``, ``search.pruner``).

The names, their help and their factories are ``tunecli.config.registry``'s tables; the factories that need more
than a seed (the space's trials, its grid, its epochs) are the functions here.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import optuna

from tunecli.config import registry
from tunecli.config.params import FixedParam, LrFinderParam, encode
from tunecli.errors import SpaceError

if TYPE_CHECKING:
    from tunecli.config.space import SearchSpace

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

ENGINE = "optuna"  # the engine whose algorithms are these samplers

#: Trials the median pruner lets finish before it prunes (members of one group cannot prune each other: they
#: train side by side, so a search groups its trials only after these).
PRUNER_STARTUP = 4


def make_sampler(space: SearchSpace) -> optuna.samplers.BaseSampler:
    """The study's sampler: the Optuna algorithm ``search.algorithm`` names.

    Another engine's trials are added to the study, not asked of it; there the study keeps the Optuna algorithm
    of the same name where one exists (a grid is checked the same way), else the Optuna engine's default.
    """
    entry = (registry.ALGORITHMS.get((ENGINE, space.search.algorithm))
             or registry.ALGORITHMS[(ENGINE, registry.ENGINES[ENGINE].default_algorithm)])
    missing = entry.missing()
    if missing:
        ready = [name for name in registry.algorithms(ENGINE) if not registry.ALGORITHMS[(ENGINE, name)].requires]
        raise SpaceError(f"algorithm {entry.name} needs the {missing[0]} package: pip install {missing[0]}; "
                         f"or use {', '.join(ready[:-1])} or {ready[-1]}", field="search.algorithm")
    return entry.make(space, seed=space.search.seed)


def make_pruner(space: SearchSpace) -> optuna.pruners.BasePruner:
    """The pruner ``search.pruner`` names."""
    return registry.PRUNERS[space.search.pruner].make(space)


def tpe(space: SearchSpace) -> optuna.samplers.BaseSampler:
    """TPE, its random start-up trials a quarter of the search (3 to 10); one objective or several."""
    return optuna.samplers.TPESampler(seed=space.search.seed, n_startup_trials=min(10, max(3, space.search.trials // 4)))


def nsga2(space: SearchSpace) -> optuna.samplers.BaseSampler:
    """NSGA-II, generations of a quarter of the search (4 to 50 trials)."""
    return optuna.samplers.NSGAIISampler(seed=space.search.seed, population_size=min(50, max(4, space.search.trials // 4)))


def qmc(space: SearchSpace) -> optuna.samplers.BaseSampler:
    return optuna.samplers.QMCSampler(seed=space.search.seed, warn_independent_sampling=False)


def cmaes(space: SearchSpace) -> optuna.samplers.BaseSampler:
    return optuna.samplers.CmaEsSampler(seed=space.search.seed, warn_independent_sampling=False)


def grid(space: SearchSpace) -> optuna.samplers.BaseSampler:
    return optuna.samplers.GridSampler(grid_of(space), seed=space.search.seed)


def grid_of(space: SearchSpace) -> dict[str, list[Any]]:
    """Every tuned parameter's values, for grid search (float ranges need ``step``)."""
    values = {}
    for name, spec in space.space.items():
        if isinstance(spec, (FixedParam, LrFinderParam)):
            continue
        try:
            values[name] = [encode(v) for v in spec.values()]
        except ValueError as exc:
            raise SpaceError(str(exc), source=space.path, field=f"space.{name}") from None
    return values


def median(space: SearchSpace) -> optuna.pruners.BasePruner:
    return optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP, n_warmup_steps=min(3, space.training.max_epochs - 1))


def hyperband(space: SearchSpace) -> optuna.pruners.BasePruner:
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=space.training.max_epochs, reduction_factor=3)


def successive_halving(space: SearchSpace) -> optuna.pruners.BasePruner:
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
