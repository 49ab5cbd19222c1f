"""What every trainer shares with its caller: the per-epoch hook and the result it hands back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

#: Called after each epoch with (epoch number from 1, objective value, logs); returns True to prune.
EpochHook = Callable[[int, float, dict[str, float]], bool]


class Fitted(NamedTuple):
    """What a trainer hands back."""

    history: dict[str, list[float]]
    pruned: bool
    diverged: str | None
    first_epoch_seconds: float | None
    fit_seconds: float
    trainer: str
    model: Any = None
