"""What a search reports while it runs (its trials, then its re-ranking runs), and silent defaults.

The search core never draws anything itself: the caller hands it factories of progress displays
(the CLI gives ``tunecli.ui.progress.SearchProgress`` and ``RerankProgress``); worker processes build their own
from the same factory.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import optuna

    from tunecli.trainers.contract import EpochHook
    from tunecli.trial import TrialResult


class Progress(Protocol):
    """The calls an engine makes while trials run."""

    done: int

    def __enter__(self) -> Progress: ...

    def __exit__(self, *exc: object) -> None: ...

    def set_best(self, study: optuna.Study) -> None: ...

    def start_trial(self, number: int, config: dict[str, Any]) -> None: ...

    def epoch(self, epoch: int, value: float, logs: dict[str, float]) -> None: ...

    def end_trial(self, number: int, result: TrialResult, study: optuna.Study) -> None: ...

    @staticmethod
    def error(message: str) -> None: ...


#: ``factory(total, done, metric, max_epochs, quiet=..., live=..., timeout=...)`` -> a ``Progress``.
ProgressFactory = Callable[..., Progress]


class QuietProgress:
    """Reports nothing (library use and tests); errors of worker processes still go to stderr."""

    def __init__(self, total: int, done: int, metric: str, max_epochs: int, **_: Any) -> None:
        self.total, self.done, self.metric, self.max_epochs = total, done, metric, max_epochs

    def __enter__(self) -> QuietProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_best(self, study: optuna.Study) -> None:
        return None

    def start_trial(self, number: int, config: dict[str, Any]) -> None:
        return None

    def epoch(self, epoch: int, value: float, logs: dict[str, float]) -> None:
        return None

    def end_trial(self, number: int, result: TrialResult, study: optuna.Study) -> None:
        self.done += 1

    @staticmethod
    def error(message: str) -> None:
        print(f"error: {message}", file=sys.stderr)


class RerankDisplay(Protocol):
    """The calls re-ranking makes while its runs train (``search.rerank``)."""

    def __enter__(self) -> RerankDisplay: ...

    def __exit__(self, *exc: object) -> None: ...

    def begin(self, total: int, configurations: int) -> None:
        """Runs to train in all, those ended included (more when a fallen mean lets another configuration in),
        and how many configurations they are of (at the first call)."""

    def group(self, size: int) -> list[EpochHook]:
        """A group of ``size`` runs starts (members of one program, or one at a time): an epoch hook for each."""

    def ended(self, number: int, run: int, result: TrialResult) -> None:
        """Run ``run`` (from 1, the search's own run first) of trial ``number`` ended with ``result``."""


#: ``factory(metric, max_epochs, top=..., seeds=..., quiet=..., deadline=...)`` -> a ``RerankDisplay``.
RerankFactory = Callable[..., RerankDisplay]


class QuietRerank:
    """Reports nothing (library use and tests)."""

    def __init__(self, *_: Any, **__: Any) -> None:
        return None

    def __enter__(self) -> QuietRerank:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def begin(self, total: int, configurations: int) -> None:
        return None

    def group(self, size: int) -> list[EpochHook]:
        return []

    def ended(self, number: int, run: int, result: TrialResult) -> None:
        return None


class EndWatch:
    """Which runs of a group have ended, told by their epoch hooks alone, while the group still trains.

    Members of one program train in lockstep: each epoch, the hook of every run still training is called,
    in order, before any hook of the next epoch. Runs that cannot train together train one after the other.
    So when a run reports epoch ``e``, another run that has started has ended if it last reported an epoch
    before ``e - 1`` (lockstep: it skipped epoch ``e - 1``) or after ``e`` (one after the other: it came
    first). A run is never counted before it ends; one is counted an epoch or two late, or when the group
    returns. The hooks never prune.

    Args:
        size: runs in the group.
        on_change: called after every epoch hook with the runs known to have ended and the epoch reported.
    """

    def __init__(self, size: int, on_change: Callable[[int, int], None]) -> None:
        self.last = [0] * size
        self.ended: set[int] = set()
        self.on_change = on_change

    def hooks(self) -> list[EpochHook]:
        """One epoch hook per run, in the group's order."""
        return [self._hook(k) for k in range(len(self.last))]

    def _hook(self, member: int) -> EpochHook:
        def hook(epoch: int, value: float, logs: dict[str, float]) -> bool:  # noqa: ARG001
            self.seen(member, epoch)
            return False

        return hook

    def seen(self, member: int, epoch: int) -> None:
        """Run ``member`` reported ``epoch`` (from 1)."""
        self.last[member] = epoch
        for k, last in enumerate(self.last):
            if k != member and last and (last < epoch - 1 or last > epoch):
                self.ended.add(k)
        self.on_change(len(self.ended), epoch)
