"""Preprocessing: target encoding, one-hot text columns, median imputation, standardization.

Every statistic is taken on the training split only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tunecli.data.dataset import Dataset
from tunecli.data.splits import split_indices
from tunecli.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from tunecli.config.space import DataSpec

MIN_ROWS = 20


def prepare(spec: DataSpec, source: str, x: np.ndarray | None, y: np.ndarray, frame: pd.DataFrame | None,
             features: list[str], task: str, name: str) -> Dataset:
    n = len(y)
    if n < MIN_ROWS:
        raise DataError(f"only {n} rows; at least {MIN_ROWS} are needed to split into train/validation/test",
                        source=source, field="data.source")
    y, class_names = _encode_target(y, task, source)
    if task == "regression":
        y = (y / spec.target_scale).astype("float32")
    idx_train, idx_val, idx_test = split_indices(n, y if task == "classification" else None, spec)
    if frame is not None:
        x_all, features = _encode_frame(frame, idx_train, source)
    else:
        x_all = np.asarray(x, dtype="float64")
    x_all = _standardize(x_all, idx_train, source)
    n_classes = len(class_names) if task == "classification" else 0
    return Dataset(
        name=name, task=task,
        x_train=x_all[idx_train], y_train=y[idx_train], x_val=x_all[idx_val], y_val=y[idx_val],
        x_test=x_all[idx_test], y_test=y[idx_test], n_classes=n_classes,
        feature_names=features, class_names=class_names,
    )


def _encode_target(y: np.ndarray, task: str, source: str) -> tuple[np.ndarray, list[str]]:
    if task == "regression":
        y = np.asarray(y, dtype="float64")
        if np.isnan(y).any():
            raise DataError(f"the target has {int(np.isnan(y).sum())} missing values; drop those rows first",
                            source=source, field="data.target")
        return y, []
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise DataError("the target has missing values; drop those rows first", source=source, field="data.target")
    values = y.astype(str) if y.dtype.kind in "OUSb" else y
    classes, codes = np.unique(values, return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"the target has a single class ({classes[0]!r}); classification needs at least two",
                        source=source, field="data.target")
    if len(classes) > 1000:
        raise DataError(f"the target has {len(classes)} distinct values; is this a regression? set data.task",
                        source=source, field="data.task")
    return codes.astype("int32"), [str(c) for c in classes]


def _encode_frame(frame: pd.DataFrame, idx_train: np.ndarray, source: str) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    all_nan = [str(c) for c in frame.columns if frame[c].isna().all()]
    if all_nan:
        raise DataError(f"columns with no values at all: {', '.join(all_nan)}; drop them (data.drop)",
                        source=source, field="data.source")
    numeric = frame.select_dtypes(include=["number", "bool"]).astype("float64")
    categorical = frame.drop(columns=numeric.columns)
    medians = numeric.iloc[idx_train].median()
    numeric = numeric.fillna(medians)
    parts = [numeric]
    if categorical.shape[1]:
        too_many = [c for c in categorical.columns if categorical[c].nunique() > 200]
        if too_many:
            raise DataError(f"text columns with over 200 distinct values cannot be one-hot encoded: {too_many}; "
                            "drop them (data.drop)", source=source, field="data.source")
        parts.append(pd.get_dummies(categorical.astype(str), dtype="float64"))
    encoded = pd.concat(parts, axis=1)
    return encoded.to_numpy(dtype="float64"), [str(c) for c in encoded.columns]


def _standardize(x: np.ndarray, idx_train: np.ndarray, source: str) -> np.ndarray:
    if not np.isfinite(x).all():
        nan_cols = np.where(~np.isfinite(x).all(axis=0))[0]
        if np.isnan(x[idx_train][:, nan_cols]).all(axis=0).any():
            raise DataError("a feature column has no values in the training split", source=source, field="data.source")
        medians = np.nanmedian(np.where(np.isfinite(x[idx_train]), x[idx_train], np.nan), axis=0)
        x = np.where(np.isfinite(x), x, medians)
    mean = x[idx_train].mean(axis=0)
    std = x[idx_train].std(axis=0)
    std[std == 0] = 1.0
    return ((x - mean) / std).astype("float32")
