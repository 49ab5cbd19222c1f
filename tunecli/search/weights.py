"""The trained weights of a search's best trials, kept in the study itself.

These MLPs weigh kilobytes, so the search keeps the weights of its ``keep_count(search.rerank.top)`` best
trials (at least one), each the weights its score is of (best epoch, or the last one with
``restore_best_weights: false``): the study's user attribute ``weights.<trial number>`` holds the trial's
epoch, trainer and score and the arrays of ``model.get_weights()`` as base64 ``.npz``
(``trainers.keras.weights``; the record: ``studies.attrs.kept_record``, read by ``attrs.kept``). In the study,
so that worker processes, other machines and PostgreSQL stores keep them too. When a better trial arrives, the
attribute of the one that falls out of the top is set to None (Optuna cannot delete a study attribute). The
ranking is re-ranking's: a re-ranked trial counts with the mean of its runs. ``tunecli train --from-search``
loads them.

Workers that finish at the same moment may each keep their trial; the next trial to finish drops the extra
one. This module imports neither Keras nor JAX.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tunecli.studies import attrs
from tunecli.studies.pareto import non_dominated
from tunecli.studies.results import mean, repeats_of

if TYPE_CHECKING:
    import numpy as np
    import optuna


def keep_count(top: int) -> int:
    """How many trials keep their weights: ``search.rerank.top``, at least one."""
    return max(1, top)


def ranking(study: optuna.Study) -> list[int]:
    """The numbers of the complete trials, best first (a re-ranked trial by the mean of its runs): those that broke
    no constraint first, and in a study of several objectives the Pareto-optimal ones before the rest."""
    from optuna.trial import TrialState

    stored = study.user_attrs
    directions = [d.name.lower() for d in study.directions]
    sign = -1.0 if directions[0] == "maximize" else 1.0
    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values]
    feasible = [t for t in trials if not attrs.read(t.user_attrs, attrs.VIOLATED)]
    optimal = {t.number for t, keep in zip(feasible, non_dominated([t.values for t in feasible], directions)) if keep}
    scored = [(bool(attrs.read(t.user_attrs, attrs.VIOLATED)), t.number not in optimal and len(directions) > 1,
               sign * mean(repeats_of(stored, t)), t.number) for t in trials]
    return [key[-1] for key in sorted(k for k in scored if math.isfinite(k[2]))]


def keep(study: optuna.Study, number: int, weights: list[np.ndarray] | None, *, top: int,
         epoch: int | None = None, value: float | None = None, trainer: str | None = None) -> bool:
    """Keep the weights of the just finished (complete) trial ``number`` when it ranks among the ``top``
    best, and drop those of trials that fell out; True when they were kept."""
    best = set(ranking(study)[:keep_count(top)])
    stored = False
    if weights is not None and number in best:
        from tunecli.trainers.keras.weights import to_text

        study.set_user_attr(attrs.weights_key(number), attrs.kept_record(to_text(weights), epoch=epoch, value=value,
                                                                        trainer=trainer))
        stored = True
    for old in attrs.kept_numbers(study.user_attrs):
        if old not in best:
            study.set_user_attr(attrs.weights_key(old), None)
    return stored
