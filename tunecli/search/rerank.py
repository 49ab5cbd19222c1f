"""Re-ranking the top of the table: the best configurations run again with fresh seeds, ranked by the mean.

Validation sets are small, so the single best score of a search is partly luck, and the more trials
a search runs, the luckier its winner. After the trials, the ``search.rerank.top`` best configurations
are trained again (fresh weights, dropout and shuffling; the same split) until each has
``search.rerank.seeds`` runs in all, the search's own run first. Each run is stored on its trial as soon
as it ends (the study's user attribute ``repeats.<trial number>``: Optuna keeps a finished trial
read-only), so a resumed search never runs it again. The ranking then uses
the mean; a configuration whose mean falls may let another one into the top, which is run again in turn,
until the top ``top`` configurations all have their runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tunecli import interrupt
from tunecli.studies.results import REPEATS, repeats_of, trained_config

if TYPE_CHECKING:
    import optuna

    from tunecli.trial import TrialResult

#: Seeds of the extra runs are far from the search's own (seed + trial number).
SEED_STRIDE = 100_003


def _top(study: optuna.Study, top: int) -> list[optuna.trial.FrozenTrial]:
    from tunecli.search.weights import ranking

    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    return [trials[n] for n in ranking(study)[:top]]


def rerank(study: optuna.Study, *, top: int, seeds: int, base_seed: int | None,
           run: Callable[[dict[str, Any], int | None], TrialResult], deadline: float | None = None) -> int:
    """Give the ``top`` best configurations ``seeds`` runs each; returns how many runs were trained here.

    Args:
        study: the study (its trials' ``config`` user attribute is what runs again).
        top, seeds: how many configurations, and runs per configuration in all.
        base_seed: the search's seed (None: unseeded runs).
        run: trains one configuration with a seed and returns its ``TrialResult``.
        deadline: ``time.monotonic()`` after which no run starts (the search's timeout); the runs left
            undone are done when the search is resumed.
    """
    if top <= 0 or seeds <= 1:
        return 0
    ran = 0
    while True:
        attrs = study.user_attrs
        pending = [t for t in _top(study, top) if len(repeats_of(attrs, t)) < seeds]
        if not pending:
            return ran
        for trial in pending:
            repeats = repeats_of(attrs, trial)
            while len(repeats) < seeds:
                interrupt.check()
                if deadline is not None and time.monotonic() >= deadline:
                    return ran
                seed = None if base_seed is None else base_seed + trial.number + SEED_STRIDE * len(repeats)
                result = run(_config(trial), seed)
                repeats.append(result.value if result.state == "COMPLETE" else None)
                study.set_user_attr(f"{REPEATS}.{trial.number}", repeats)
                ran += 1


def _config(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The configuration a trial trained (an LR found by the range test is used as it was)."""
    return trained_config(dict(trial.user_attrs.get("config") or trial.params), trial.user_attrs.get("lr_used"))
