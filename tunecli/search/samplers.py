"""Optuna's samplers and pruners as the space file names them (``search.algorithm``, ``search.pruner``)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import optuna

from tunecli.config.params import FixedParam, LrFinderParam, encode
from tunecli.errors import SpaceError

if TYPE_CHECKING:
    from tunecli.config.space import SearchSpace

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def make_sampler(space: SearchSpace) -> optuna.samplers.BaseSampler:
    name, seed = space.search.algorithm, space.search.seed
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    if name == "grid":
        return optuna.samplers.GridSampler(grid_of(space), seed=seed)
    if name == "cmaes":
        _require("cmaes", "cmaes")
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "gp":
        _require("torch", "gp")
        return optuna.samplers.GPSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, space.search.trials // 4)))


def _require(module: str, algorithm: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise SpaceError(f"algorithm {algorithm} needs the {module} package: pip install {module}; "
                         "or use tpe, random, qmc or grid", field="search.algorithm")


def grid_of(space: SearchSpace) -> dict[str, list[Any]]:
    """Every tuned parameter's values, for grid search (float ranges need ``step``)."""
    grid = {}
    for name, spec in space.space.items():
        if isinstance(spec, (FixedParam, LrFinderParam)):
            continue
        try:
            grid[name] = [encode(v) for v in spec.values()]
        except ValueError as exc:
            raise SpaceError(str(exc), source=space.path, field=f"space.{name}") from None
    return grid


def make_pruner(space: SearchSpace) -> optuna.pruners.BasePruner:
    name, epochs = space.search.pruner, space.training.max_epochs
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=min(3, epochs - 1))
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    if name == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()
