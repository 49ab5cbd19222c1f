"""The engine interface (``SearchEngine``) and what every engine shares: the context, a trial's stored attributes."""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunecli.search import coordination
from tunecli.studies import attrs

if TYPE_CHECKING:
    import optuna

    from tunecli.config.objective import Bound, Objective
    from tunecli.config.space import SearchSpace
    from tunecli.data import Dataset
    from tunecli.search.progress import Progress
    from tunecli.trial import TrialResult



@dataclass
class SearchContext:
    space: SearchSpace
    dataset: Dataset
    objective: Objective
    study: optuna.Study
    progress: Progress
    deadline: float | None = None
    run_trial: Callable[..., TrialResult] | None = None
    limit: int | None = None  # at most this many trials in this process (worker recycling)
    #: trains configurations as members of one program where they share a structure (``trial.run_group``)
    run_group: Callable[..., list[TrialResult]] | None = None
    #: how many trials to train as members of one group, given the first one's configuration
    members: Callable[[dict[str, Any]], int] = lambda config: 1  # noqa: E731

    def finished(self) -> int:
        """Trials that count towards the requested total (see ``coordination``)."""
        return coordination.finished(self.study)

    def out_of_time(self) -> bool:
        """No new trial: the timeout is up, or what is left of it is needed to re-rank the top."""
        return self.deadline is not None and time.monotonic() + rerank_reserve(self.space, self.study) >= self.deadline

    def trials_that_fit(self) -> int | None:
        """How many trials the time left before the timeout (less re-ranking's) holds, at the median time of the
        complete trials so far (a member's share of its group's time), at least 1; None when no timeout is set
        or no trial has completed. A group of members is no larger: it ends when its slowest member does."""
        if self.deadline is None:
            return None
        seconds = median_seconds(self.study)
        if seconds is None:
            return None
        left = self.deadline - time.monotonic() - rerank_reserve(self.space, self.study)
        return max(1, int(left / max(seconds, 1e-3)))


def rerank_reserve(space: SearchSpace, study: optuna.Study) -> float:
    """Seconds of ``search.timeout`` kept for re-ranking: the runs it will take (``top`` x (``seeds`` - 1)) at
    the median time of the complete trials so far, at most half the timeout; 0 before any trial completes."""
    settings, timeout = space.search.rerank, space.search.timeout
    runs = settings.top * (settings.seeds - 1)
    if not timeout or runs <= 0:
        return 0.0
    seconds = median_seconds(study)
    return 0.0 if seconds is None else min(timeout / 2, runs * seconds)


def median_seconds(study: optuna.Study) -> float | None:
    """The median time of the complete trials so far (None before any completes)."""
    import optuna

    seconds = sorted(s for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                     if (s := attrs.read(t.user_attrs, attrs.SECONDS)) is not None)
    return seconds[len(seconds) // 2] if seconds else None


def result_attrs(result: TrialResult, config: dict[str, Any], bounds: list[Bound] | None = None,
                 metric: str | None = None) -> dict[str, Any]:
    """What a trial stores besides its parameters: the full configuration, its learning curve, what the trial
    added (``TrialResult.extras``: the trainer, the LR finder's, the reused layers', the network's costs) and, with
    ``bounds`` (``constraints:``), those a complete trial broke."""
    record = attrs.trial_record(config=config, epochs=result.epochs, seconds=result.seconds, history=result.history,
                                first_epoch_seconds=result.first_epoch_seconds, best_epoch=result.best_epoch,
                                best_value=result.value, fail_reason=result.reason)
    if bounds and result.state == "COMPLETE":
        broken = [b.name for b, v in zip(bounds, violations(result, bounds, metric)) if v > 0]
        record.update(attrs.violated_record(broken))
    return {**record, **result.extras}


def violations(result: TrialResult, bounds: list[Bound], metric: str | None) -> list[float]:
    """How far a trial is outside each bound (> 0: broken), from its score and the costs it measured."""
    def measured(name: str) -> float | None:
        return result.value if name == metric else attrs.cost(result.extras, name)

    return [b.violation(measured(b.name)) for b in bounds]


def objective_values(result: TrialResult, objective: Objective) -> list[float] | None:
    """What the study is told of a complete trial: its score, then each cost objective measured (None: one is
    missing)."""
    values = [result.value, *(attrs.cost(result.extras, name) for name in objective.costs)]
    return None if any(v is None for v in values) else [float(v) for v in values]


def keep_weights(ctx: SearchContext, number: int, result: TrialResult) -> None:
    """After a complete trial is recorded: keep its weights in the study if it ranks among the
    ``search.rerank.top`` best (at least one), and drop those that fell out (``search.weights``)."""
    if result.state != "COMPLETE":
        return  # only a complete trial enters the ranking
    from tunecli.search import weights

    weights.keep(ctx.study, number, result.weights, top=ctx.space.search.rerank.top, epoch=result.best_epoch,
                 value=result.value, trainer=result.extras.get(attrs.TRAINER))


class SearchEngine(abc.ABC):
    """Runs trials until the requested total is reached, the time is up, or Ctrl-C."""

    name: str = ""

    @abc.abstractmethod
    def run(self, ctx: SearchContext) -> None:
        """Run the missing trials, recording each one in ``ctx.study``."""
