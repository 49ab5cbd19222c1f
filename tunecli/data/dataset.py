"""The ``Dataset``: preprocessed train / validation / test splits (float32 features)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """Preprocessed splits ready for Keras (float32 features)."""

    name: str
    task: str  # classification | regression
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = 0
    feature_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    def describe(self) -> str:
        kind = f"{self.n_classes} classes" if self.task == "classification" else "regression"
        return (f"{self.name}: {self.n_features} features, {kind}; "
                f"{len(self.x_train)} train / {len(self.x_val)} validation / {len(self.x_test)} test rows")
