"""Fixed train / validation / test splits (stratified for classification where every class allows it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tunecli.config.space import DataSpec

MIN_PER_CLASS = 3  # stratify only where every class has this many rows (one per split)


def split_indices(n: int, labels: np.ndarray | None, spec: DataSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted row indices of the train, validation and test splits, fixed by ``spec.seed``.

    Classification labels are stratified where that is possible (every class has ``MIN_PER_CLASS`` rows and
    each split can hold one row of every class); otherwise the rows are split at random, unstratified.
    """
    stratify = labels if labels is not None and np.bincount(labels).min() >= MIN_PER_CLASS else None
    if stratify is not None:
        try:
            return _split(n, stratify, spec)
        except ValueError:  # a split smaller than the number of classes
            pass
    return _split(n, None, spec)


def _split(n: int, stratify: np.ndarray | None, spec: DataSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    if spec.test > 0:
        rest, test = train_test_split(idx, test_size=spec.test, random_state=spec.seed, stratify=stratify)
    else:
        rest, test = idx, idx[:0]
    val_frac = spec.validation / (1 - spec.test)
    strat_rest = stratify[rest] if stratify is not None else None
    train, val = train_test_split(rest, test_size=val_frac, random_state=spec.seed, stratify=strat_rest)
    return np.sort(train), np.sort(val), np.sort(test)
