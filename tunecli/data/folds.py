"""k-fold cross-validation over a data set's training and validation rows (``data.cv``).

The test rows stay out. Folds are stratified by class for classification. Every fold trains on the same
number of rows (the larger ones leave out at most one row), so that the folds of a configuration train
together as members of one compiled program; the validation folds may differ by one row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from tunecli.data.dataset import Dataset


class Fold(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def fold_sets(dataset: Dataset) -> list[Fold]:
    """The ``dataset.folds`` folds of its training and validation rows, seeded by ``dataset.fold_seed``."""
    from sklearn.model_selection import KFold, StratifiedKFold

    x = np.concatenate([dataset.x_train, dataset.x_val])
    y = np.concatenate([dataset.y_train, dataset.y_val])
    k = dataset.folds
    if dataset.task == "classification" and np.min(np.unique(y, return_counts=True)[1]) >= k:
        splits = StratifiedKFold(k, shuffle=True, random_state=dataset.fold_seed).split(x, y)
    else:
        splits = KFold(k, shuffle=True, random_state=dataset.fold_seed).split(x)
    pairs = list(splits)
    rows = min(len(train) for train, _ in pairs)
    return [Fold(x[train[:rows]], y[train[:rows]], x[val], y[val]) for train, val in pairs]


def pooled_rows(dataset: Dataset) -> int:
    """The rows every score rests on: each validated once over the folds (or the validation split)."""
    return len(dataset.x_train) + len(dataset.x_val) if dataset.folds >= 2 else len(dataset.x_val)
