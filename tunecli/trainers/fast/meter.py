"""What the fast trainer reports while it works: programs compiled, fits started and ended, epoch seconds.

Benchmarks and tests read these instead of patching the trainer. Listeners are plain callables, called
in the training thread; one that raises is the caller's bug, not the trial's (it propagates).

Example:
    >>> from tunecli.trainers.fast import meter
    >>> seen = []
    >>> with meter.listening(on_epoch=lambda seconds, logs: seen.append(seconds)):
    ...     pass  # run a search or a fit here
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

EpochListener = Callable[[float, dict[str, float]], None]   # (the epoch's seconds, its logs)
ProgramListener = Callable[[tuple, bool], None]             # (the program's cache key, whether it was compiled now)
FitListener = Callable[[str], None]                         # "start" or "end"


@dataclass
class _Listeners:
    epoch: list[EpochListener] = field(default_factory=list)
    program: list[ProgramListener] = field(default_factory=list)
    fit: list[FitListener] = field(default_factory=list)


_LISTENERS = _Listeners()


@contextmanager
def listening(*, on_epoch: EpochListener | None = None, on_program: ProgramListener | None = None,
              on_fit: FitListener | None = None) -> Iterator[None]:
    """Call the given listeners while the block runs: after each epoch (its seconds, compile excluded,
    and its logs), at each program asked for (compiled now or found in the cache) and at each fit's
    start and end."""
    added: list[tuple[list[Any], Any]] = [(lst, fn) for lst, fn in ((_LISTENERS.epoch, on_epoch),
                                                                    (_LISTENERS.program, on_program),
                                                                    (_LISTENERS.fit, on_fit)) if fn is not None]
    for lst, fn in added:
        lst.append(fn)
    try:
        yield
    finally:
        for lst, fn in added:
            lst.remove(fn)


def epoch_done(seconds: float, logs: dict[str, float]) -> None:
    for fn in list(_LISTENERS.epoch):
        fn(seconds, logs)


def program_asked(key: tuple, compiled: bool) -> None:
    for fn in list(_LISTENERS.program):
        fn(key, compiled)


def fit_event(what: str) -> None:
    for fn in list(_LISTENERS.fit):
        fn(what)
