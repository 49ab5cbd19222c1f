"""Everything an engine needs to run trials in one process: ``search_context``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

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


class StudyLRCache(MutableMapping):
    """The LR range tests of a study, one per structure, kept as study user attributes ``lr_test.<key>``:
    every worker, machine and resumed run of the study reuses them."""

    PREFIX = "lr_test."

    def __init__(self, study: optuna.Study) -> None:
        self.study = study

    def __getitem__(self, key: str) -> Any:
        value = self.study.user_attrs.get(self.PREFIX + key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.study.set_user_attr(self.PREFIX + key, value)

    def __delitem__(self, key: str) -> None:
        self.study.set_user_attr(self.PREFIX + key, None)

    def __iter__(self) -> Iterator[str]:
        return (k[len(self.PREFIX):] for k, v in self.study.user_attrs.items() if k.startswith(self.PREFIX) and v)

    def __len__(self) -> int:
        return sum(1 for _ in self)
