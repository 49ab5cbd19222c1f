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
from typing import TYPE_CHECKING, Any, Protocol

from tunecli import interrupt
from tunecli.studies import attrs
from tunecli.studies.results import repeats_of, trained_config

if TYPE_CHECKING:
    import optuna

    from tunecli.trial import TrialResult

#: Seeds of the extra runs are far from the search's own (seed + trial number).
SEED_STRIDE = 100_003


def _top(study: optuna.Study, top: int) -> list[optuna.trial.FrozenTrial]:
    from tunecli.search.weights import ranking

    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    return [trials[n] for n in ranking(study)[:top]]


Runner = Callable[[list[dict[str, Any]], list[int | None]], list["TrialResult"]]
Planner = Callable[[list[dict[str, Any]]], list[list[int]]]


class Report(Protocol):
    """What re-ranking tells a progress display (``tunecli.search.progress.RerankDisplay``)."""

    def begin(self, total: int, configurations: int) -> None: ...

    def ended(self, number: int, run: int, result: TrialResult) -> None: ...


class _Silent:
    def begin(self, total: int, configurations: int) -> None:
        return None

    def ended(self, number: int, run: int, result: TrialResult) -> None:
        return None


def one_by_one(configs: list[dict[str, Any]]) -> list[list[int]]:
    """Each run alone (the default plan)."""
    return [[i] for i in range(len(configs))]


def rerank(study: optuna.Study, *, top: int, seeds: int, base_seed: int | None, run: Runner,
           deadline: float | None = None, plan: Planner = one_by_one, report: Report | None = None) -> int:
    """Give the ``top`` best configurations ``seeds`` runs each; returns how many runs were trained here.

    Args:
        study: the study (its trials' ``config`` user attribute is what runs again).
        top, seeds: how many configurations, and runs per configuration in all.
        base_seed: the search's seed (None: unseeded runs).
        run: trains configurations with their seeds (together where it can: members of one program) and
            returns a ``TrialResult`` each, in order.
        deadline: ``time.monotonic()`` after which no run starts (the search's timeout); the runs left
            undone are done when the search is resumed.
        plan: splits the runs to do into the groups ``run`` is called with (e.g. by structure).
        report: told the runs to train in all (again when the top changes) and each run as it is stored.
    """
    if top <= 0 or seeds <= 1:
        return 0
    report = report or _Silent()
    ran = 0
    while True:
        stored = study.user_attrs
        jobs = [(t, n) for t in _top(study, top) for n in range(len(repeats_of(stored, t)), seeds)]
        if not jobs:
            return ran
        report.begin(ran + len(jobs), len({t.number for t, _ in jobs}))
        configs = [_config(t) for t, _ in jobs]
        for group in plan(configs):
            interrupt.check()
            if deadline is not None and time.monotonic() >= deadline:
                return ran
            chosen = [jobs[i] for i in group]
            results = run([configs[i] for i in group],
                          [None if base_seed is None else base_seed + t.number + SEED_STRIDE * n for t, n in chosen])
            for (trial, _), result in zip(chosen, results):
                if not result.interrupted:   # Ctrl-C stopped it: run again when the search is resumed
                    report.ended(trial.number, _store(study, trial, result), result)
                    ran += 1


def _store(study: optuna.Study, trial: optuna.trial.FrozenTrial, result: TrialResult) -> int:
    """Store a run on its trial (a failed one as None); how many runs the trial has now."""
    repeats = repeats_of(study.user_attrs, trial)
    repeats.append(result.value if result.state == "COMPLETE" else None)
    study.set_user_attr(attrs.repeats_key(trial.number), repeats)
    return len(repeats)


def _config(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The configuration a trial trained (an LR found by the range test is used as it was)."""
    return trained_config(dict(attrs.read(trial.user_attrs, attrs.CONFIG) or trial.params),
                          attrs.read(trial.user_attrs, attrs.LR_USED))
