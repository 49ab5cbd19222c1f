"""A regression trial no better than a constant prediction: a network whose units died (a learning rate far too
high) keeps training until early stopping ends it, only its output bias crawling, and small wobbles of its
constant output reset the patience. Such a trial is pruned once ``EPOCHS`` epochs have shown nothing better than
what the training rows' mean (RMSE) or median (MAE) scores on the validation rows, while its training loss fell
less than ``LEARNING`` from epoch 2 to epoch ``EPOCHS`` (a network still learning is left alone); its reason says
so. Classification is left to the pruner: a class that is rare makes the most frequent one a high bar that a
network still learning may sit at for a while. The Optuna engine applies it, with a pruner on.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tunecli.config.objective import Objective
    from tunecli.data import Dataset

#: Epochs a trial gets before its best score is compared with the constant prediction's.
EPOCHS = 5


#: How much the training loss must fall from epoch 2 to epoch ``EPOCHS`` for a network to count as still learning.
LEARNING = 0.05


def constant_score(dataset: Dataset, metric: str) -> float | None:
    """The validation score of the best constant prediction learned from the training rows.

    Args:
        dataset: the search's data (its training and validation targets).
        metric: ``val_rmse`` (the training mean) or ``val_mae`` (the median).

    Returns:
        The score, or None for another metric (classification's too), or where trials validate on folds.
    """
    if dataset.folds >= 2 or len(dataset.y_val) == 0:
        return None
    y_train, y_val = np.asarray(dataset.y_train), np.asarray(dataset.y_val)
    if metric == "val_rmse":
        return float(np.sqrt(np.mean((y_val - y_train.mean()) ** 2)))
    if metric == "val_mae":
        return float(np.mean(np.abs(y_val - np.median(y_train))))
    return None


class ConstantWatch:
    """One trial's epochs: ``stop`` is True at epoch ``EPOCHS`` when no epoch has beaten the constant prediction
    and the training loss is not falling."""

    def __init__(self, baseline: float | None, objective: Objective) -> None:
        self.baseline, self.objective = baseline, objective
        self.best: float | None = None
        self.epochs = 0
        self.losses: list[float] = []

    def stop(self, value: float, loss: float | None = None) -> bool:
        """Whether to stop after this epoch: its objective ``value`` and training ``loss`` (None: not reported)."""
        self.epochs += 1
        if math.isfinite(value) and (self.best is None or self.objective.better(value, self.best)):
            self.best = value
        self.losses.append(math.nan if loss is None else float(loss))
        if self.baseline is None or self.epochs != EPOCHS or self.best is None:
            return False
        first, last = self.losses[1], self.losses[-1]
        learning = not (math.isfinite(first) and math.isfinite(last)) or last < (1 - LEARNING) * first
        return not learning and not self.objective.better(self.best, self.baseline)

    def reason(self) -> str:
        """Why the trial stopped (``stop`` was True)."""
        metric = self.objective.metric
        what = {"val_rmse": "the training mean", "val_mae": "the training median"}.get(metric, "a constant")
        return (f"no better than a constant prediction: best {metric} {self.best:.4g} in {EPOCHS} epochs, "
                f"predicting {what} scores {self.baseline:.4g}, and its training loss stopped falling "
                "(a dead or stuck network; a target in large units may need data.target_scale)")
