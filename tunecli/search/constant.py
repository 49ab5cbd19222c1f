"""A trial no better than a constant prediction: a network whose units died or whose outputs never moved (a
learning rate far too high, a bad initialization) keeps training until early stopping ends it, and small wobbles
of its constant output reset the patience. Such a trial is pruned once ``EPOCHS`` epochs have shown nothing
better than what the training rows' mean (RMSE), median (MAE) or most frequent class (accuracy) scores on the
validation rows; its reason says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tunecli.config.objective import Objective
    from tunecli.data import Dataset

#: Epochs a trial gets before its best score is compared with the constant prediction's.
EPOCHS = 5


def constant_score(dataset: Dataset, metric: str) -> float | None:
    """The validation score of the best constant prediction learned from the training rows, for ``metric``
    (``val_rmse``, ``val_mae``, ``val_accuracy``); None for another metric, or where trials validate on folds."""
    if dataset.folds >= 2 or len(dataset.y_val) == 0:
        return None
    y_train, y_val = np.asarray(dataset.y_train), np.asarray(dataset.y_val)
    if metric == "val_rmse":
        return float(np.sqrt(np.mean((y_val - y_train.mean()) ** 2)))
    if metric == "val_mae":
        return float(np.mean(np.abs(y_val - np.median(y_train))))
    if metric == "val_accuracy":
        values, counts = np.unique(y_train.reshape(-1), return_counts=True)
        return float(np.mean(y_val.reshape(-1) == values[np.argmax(counts)]))
    return None


class ConstantWatch:
    """One trial's epochs: ``stop`` is True at epoch ``EPOCHS`` when no epoch has beaten the constant prediction."""

    def __init__(self, baseline: float | None, objective: Objective) -> None:
        self.baseline, self.objective = baseline, objective
        self.best: float | None = None
        self.epochs = 0

    def stop(self, value: float) -> bool:
        self.epochs += 1
        if self.best is None or self.objective.better(value, self.best):
            self.best = value
        return (self.baseline is not None and self.epochs == EPOCHS and self.best is not None
                and not self.objective.better(self.best, self.baseline))

    def reason(self) -> str:
        """Why the trial stopped (``stop`` was True)."""
        metric = self.objective.metric
        what = {"val_rmse": "the training mean", "val_mae": "the training median",
                "val_accuracy": "the most frequent class"}.get(metric, "a constant")
        return (f"no better than a constant prediction: best {metric} {self.best:.4g} in {EPOCHS} epochs, "
                f"predicting {what} scores {self.baseline:.4g} (a dead or stuck network)")
