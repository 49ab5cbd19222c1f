"""What every trainer shares with its caller: the per-epoch hook and the result it hands back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

#: Called after each epoch with (epoch number from 1, objective value, logs); returns True to prune.
EpochHook = Callable[[int, float, dict[str, float]], bool]


class FlatWeights(NamedTuple):
    """The fast trainer's weights in its own layout (``trainers.keras.weights.keras_weights`` turns them into Keras').

    ``theta`` is the flat parameter vector, ``layout`` its (name, layer, padded shape) variables in order,
    ``bn`` the (moving mean, moving variance) of each batch-norm layer (padded), ``sizes`` the real widths
    of the network (inputs, each hidden layer, outputs) and ``batch_norm`` the placement (none | before | after).
    """

    theta: Any
    bn: tuple
    layout: list[tuple[str, int, tuple[int, ...]]]
    sizes: list[int]
    batch_norm: str


class Fitted(NamedTuple):
    """What a trainer hands back.

    ``weights`` are those the trial's score is of: the best epoch's when early stopping restores the best
    weights (``restore_best_weights``), else the last epoch's. Keras: ``model.get_weights()``; the fast
    trainer: ``FlatWeights``. None when no epoch gave a finite score.
    """

    history: dict[str, list[float]]
    pruned: bool
    diverged: str | None
    first_epoch_seconds: float | None
    fit_seconds: float
    trainer: str
    model: Any = None
    weights: list[Any] | FlatWeights | None = None
    #: Ended by Ctrl-C (or SIGTERM) before its own rules ended it: what it trained is not a result to record.
    interrupted: bool = False
