"""The set-up every command that trains starts with, written once: the Keras backend, the data (a reused base
checked, or attached), the objective, the study (where the command opens one) and the pretrained encoder.

``tunecli search`` (and each of its worker processes), ``tunecli train`` and ``tunecli lr-find`` call ``prepare``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.config.objective import Objective, resolve_objective
from tunecli.data import load_data
from tunecli.runtime import init_backend
from tunecli.transfer import attach_base, with_pretrained

if TYPE_CHECKING:
    import optuna

    from tunecli.config.space import SearchSpace
    from tunecli.data import Dataset


@dataclass
class Prepared:
    """What a command trains on."""

    space: SearchSpace
    dataset: Dataset
    study: optuna.Study | None = None  # the study ``prepare`` opened; None when the command opens none
    folder: Path | None = None         # the space file's folder (relative paths are found there); None without a file

    @functools.cached_property
    def objective(self) -> Objective:
        """The space's objective for the data's task, resolved when first asked for (``lr-find`` needs none).

        Raises:
            SpaceError: an objective the task has not (``val_accuracy`` for a regression).
        """
        return resolve_objective(self.space.objective, self.dataset.task, self.space.path)


def prepare(space: SearchSpace, *, open_study: Callable[[Objective], optuna.Study] | None = None,
            attrs: Mapping[str, Any] | None = None, seed: int | None = None) -> Prepared:
    """Pick the backend, load the data, check or attach a reused base; then open the study (for the resolved
    objective) and put the pretrained encoder (``pretrain:``) on the data, stored in that study or read from ``attrs``.

    Args:
        space: the validated search space.
        open_study: opens the command's study for the objective (the search); None: no study.
        attrs: a finished study's attributes, where a stored encoder is looked up (``train``, ``lr-find``).
        seed: the encoder's seed (default ``search.seed``; worker processes pass the search's own).

    Raises:
        TuneCliError: bad input (backend, data, a reused base that does not fit; with ``open_study``, an objective
            the task has not).
    """
    init_backend(space.training.backend)
    folder = Path(space.path).parent if space.path else None
    dataset = attach_base(space, load_data(space.data, base_dir=folder))  # transfer / pretrain: checked before the store
    ready = Prepared(space, dataset, folder=folder)
    if open_study is not None:
        ready.study = open_study(ready.objective)
    ready.dataset = with_pretrained(space, dataset, ready.study, attrs=attrs, seed=seed)  # trained once per study
    return ready
