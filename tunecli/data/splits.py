"""Fixed train / validation / test splits (stratified for classification where every class allows it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tunecli.config.space import DataSpec


def split_indices(n: int, labels: np.ndarray | None, spec: DataSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    stratify = labels if labels is not None and np.bincount(labels).min() >= 3 else None
    test_size = spec.test
    if test_size > 0:
        rest, test = train_test_split(idx, test_size=test_size, random_state=spec.seed, stratify=stratify)
    else:
        rest, test = idx, idx[:0]
    val_frac = spec.validation / (1 - test_size)
    strat_rest = stratify[rest] if stratify is not None else None
    train, val = train_test_split(rest, test_size=val_frac, random_state=spec.seed, stratify=strat_rest)
    return np.sort(train), np.sort(val), np.sort(test)
