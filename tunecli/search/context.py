"""Everything an engine needs to run trials in one process: ``search_context``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from tunecli.config.catalogue import with_defaults
from tunecli.data.folds import pooled_rows
from tunecli.lrfinder.cache import StudyLRCache
from tunecli.search.coordination import finished
from tunecli.search.engines import SearchContext
from tunecli.search.samplers import PRUNER_STARTUP
from tunecli.studies import attrs
from tunecli.trainers.fast import cost
from tunecli.trial import TrialResult, run_group, run_trial, structure_key

if TYPE_CHECKING:
    import optuna

    from tunecli.config.objective import Objective
    from tunecli.config.space import SearchSpace
    from tunecli.data import Dataset
    from tunecli.search.progress import Progress


def search_context(space: SearchSpace, dataset: Dataset, objective: Objective, study: optuna.Study,
                   progress: Progress, limit: int | None = None) -> SearchContext:
    """Everything an engine needs to run trials in this process."""
    deadline = time.monotonic() + space.search.timeout if space.search.timeout else None
    lr_cache = StudyLRCache(study)
    ctx = SearchContext(space, dataset, objective, study, progress, deadline,
                        _trial_runner(space, dataset, objective, lr_cache))
    ctx.limit = limit
    ctx.run_group = _group_runner(space, dataset, objective, lr_cache)
    ctx.members = lambda config: members_for(config, space, dataset, finished(study))
    if attrs.read(study.user_attrs, attrs.VAL_ROWS) != pooled_rows(dataset):  # what the scores' standard errors rest on
        study.set_user_attr(attrs.VAL_ROWS, pooled_rows(dataset))
    progress.done = ctx.finished()
    progress.set_best(study)
    return ctx


def _trial_runner(space: SearchSpace, dataset: Dataset, objective: Objective,
                  lr_cache: MutableMapping[str, Any] | None = None) -> Callable[..., TrialResult]:
    """``run_trial`` bound to this search's data, training settings, objective and range tests."""

    def run(params: dict[str, Any], max_epochs: int | None = None, **kwargs: Any) -> TrialResult:
        training = space.training.model_copy(update={"max_epochs": max_epochs}) if max_epochs else space.training
        return run_trial(params, dataset, training, objective, lr_cache=lr_cache, **kwargs)

    return run


def _group_runner(space: SearchSpace, dataset: Dataset, objective: Objective,
                  lr_cache: MutableMapping[str, Any]) -> Callable[..., list[TrialResult]]:
    """``run_group`` bound to this search's data, training settings, objective and range tests."""

    def run(configs: list[dict[str, Any]], **kwargs: Any) -> list[TrialResult]:
        return run_group(configs, dataset, space.training, objective, lr_cache=lr_cache, **kwargs)

    return run


def members_for(config: dict[str, Any], space: SearchSpace, dataset: Dataset, done: int = 0) -> int:
    """How many trials of ``config``'s structure to train together: ``search.members``, or with ``auto`` the
    fast trainer's cost model (``trainers.fast.cost.members_for``), at most a quarter of the trials (the sampler
    still sees several structures), and one at a time until ``PRUNER_STARTUP`` trials are ``done`` (the
    pruner compares a trial with finished ones: members of one group cannot prune each other); 1 where the
    fast trainer does not take the configuration."""
    setting = space.search.members
    if setting == "auto" and space.search.pruner != "none" and done < PRUNER_STARTUP:
        return 1
    p = with_defaults(config)  # a learning rate the LR finder chooses is left out: the default stands in
    st = structure_key(p, dataset, space.training)
    if st is None:
        return 1
    if setting != "auto":
        return int(setting)
    rows = len(dataset.x_train)
    steps = max(1, math.ceil(rows / min(int(p["batch_size"]), rows)))
    folds = max(1, dataset.folds)   # each configuration trains once per fold, its folds members too
    most = max(1, min(cost.MAX_MEMBERS, space.search.trials // 4) // folds)
    return cost.members_for(st, rows, steps, cost.expected_epochs(space.training) * folds, most=most)


def by_structure(configs: list[dict[str, Any]], space: SearchSpace, dataset: Dataset) -> list[list[int]]:
    """The indices of ``configs`` in groups that train together (one structure on the fast trainer, at most
    ``cost.MAX_MEMBERS`` a group, or ``search.members`` when set); the rest one by one."""
    most = cost.MAX_MEMBERS if space.search.members == "auto" else int(space.search.members)
    most = max(1, most // max(1, dataset.folds))   # each configuration trains once per fold
    groups: dict[Any, list[int]] = {}
    alone: list[list[int]] = []
    for i, config in enumerate(configs):
        key = structure_key(with_defaults(config), dataset, space.training)
        if key is None:
            alone.append([i])
        else:
            groups.setdefault(key, []).append(i)
    chunks = [g[at:at + most] for g in groups.values() for at in range(0, len(g), most)]
    return chunks + alone
