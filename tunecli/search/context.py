"""Everything an engine needs to run trials in one process: ``search_context``."""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from tunecli.lrfinder.cache import StudyLRCache
from tunecli.search.engines import SearchContext
from tunecli.trial import TrialResult, run_trial

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
    ctx = SearchContext(space, dataset, objective, study, progress, deadline,
                        _trial_runner(space, dataset, objective, StudyLRCache(study)))
    ctx.limit = limit
    if study.user_attrs.get("val_rows") != len(dataset.x_val):  # what the scores' standard errors rest on
        study.set_user_attr("val_rows", len(dataset.x_val))
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

