"""What a search reports while it runs, and a silent default.

The search core never draws anything itself: the caller hands it a factory of progress displays
(the CLI gives ``tunecli.ui.progress.SearchProgress``); worker processes build their own from the same factory.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import optuna

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
