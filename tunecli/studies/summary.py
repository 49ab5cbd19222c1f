"""One line per study in a store (``tunecli report`` with several studies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tunecli.studies import attrs

if TYPE_CHECKING:
    import optuna


@dataclass
class StudySummary:
    name: str
    engine: str
    complete: int
    pruned: int
    failed: int
    running: int
    best: float | None
    direction: str
    last_update: str | None


def summarize(storage: optuna.storages.BaseStorage) -> list[StudySummary]:
    """One line per study in the store."""
    import optuna

    return [_summary(optuna.load_study(study_name=s.study_name, storage=storage))
            for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]


def _summary(study: optuna.Study) -> StudySummary:
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {st: sum(t.state == st for t in trials) for st in TrialState}
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    maximize = study.directions[0] == StudyDirection.MAXIMIZE  # a study of several objectives: its first
    best = (max if maximize else min)((t.values[0] for t in done), default=None)
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    return StudySummary(study.study_name, attrs.read(study.user_attrs, attrs.ENGINE, "optuna"), counts[TrialState.COMPLETE],
                        counts[TrialState.PRUNED], counts[TrialState.FAIL], counts[TrialState.RUNNING], best,
                        "maximize" if maximize else "minimize", max(ends).strftime("%Y-%m-%d %H:%M") if ends else None)
