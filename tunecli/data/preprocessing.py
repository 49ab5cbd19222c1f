"""Preprocessing: the rows kept (``data.classes``), target checks and encoding, splits, choice of feature columns;
one-hot text, imputation and standardization are in ``transform``.

Which columns are left out on their own (see ``select_columns``; ``data.keep`` forces one in):

- no values at all (every cell missing, or infinite);
- an identifier: a text column with a different value in every row and no spaces (codes, UUIDs), or an
  integer column with a different value in every row that also looks like an index;
- free text: a text column with too many distinct values to one-hot encode.

Every statistic (medians, means, scales) is taken on the training split only; the encoding and the statistics are
kept on the ``Dataset`` (``transform``) so that other rows are preprocessed the same way (``pretrain.unlabeled``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tunecli.data.dataset import Dataset, RawData, describe_left_out
from tunecli.data.splits import cap_train_rows, select_classes, split_indices
from tunecli.data.transform import FeatureTransform, column_kinds, encode_frame, standardize
from tunecli.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from tunecli.config.space import DataSpec

MIN_ROWS = 20
MAX_CATEGORIES = 200    # a text column with more distinct values is never one-hot encoded
FREE_TEXT_SHARE = 0.5   # ... nor, unless kept, one where more than this share of its values are distinct
MIN_FREE_TEXT = 10      # (and more than this many: a small table's categories stay categories)
MAX_CLASSES = 1000
NO_VALUES = "no values at all"
IDENTIFIER = "identifier"


def prepare(spec: DataSpec, source: str, raw: RawData, task: str, name: str) -> Dataset:
    """Keep the rows of ``data.classes``, check the target, split the rows (at most ``data.train_rows`` to train on),
    choose and encode the features, impute and standardize.

    The source's rows outside the three splits (another class, or training rows past ``data.train_rows``) are
    preprocessed like the others, their labels dropped: ``x_rest``. Features are chosen and one-hot values found on
    every row of the source; medians, means and scales come from the training rows only.
    """
    rows = select_classes(raw.y, spec.classes, task, source)  # the labelled rows, by row number in the source
    n = len(rows)
    if n < MIN_ROWS:
        kept = " of the classes in data.classes" if spec.classes else ""
        raise DataError(f"only {_count(n, 'row')}{kept}; at least {MIN_ROWS} are needed to split into "
                        "train/validation/test", source=source, field="data.classes" if kept else "data.source")
    y, class_names = _encode_target(raw.y[rows], task, source)
    if task == "regression":
        y = (y / spec.target_scale).astype("float32")
    labels = y if task == "classification" else None
    idx_train, idx_val, idx_test = split_indices(n, labels, spec)
    idx_train, spare = cap_train_rows(idx_train, labels, spec)
    x_all, features, dropped, (numeric, categories) = _features(raw, spec.keep, source)
    x_all, scaling = standardize(x_all, rows[idx_train])
    rest = np.union1d(np.setdiff1d(np.arange(len(raw.y)), rows), rows[spare])
    transform = FeatureTransform(tuple(raw.columns or raw.features), tuple(numeric), tuple(categories), scaling)
    return Dataset(
        name=name, task=task,
        x_train=x_all[rows[idx_train]], y_train=y[idx_train], x_val=x_all[rows[idx_val]], y_val=y[idx_val],
        x_test=x_all[rows[idx_test]], y_test=y[idx_test], n_classes=len(class_names),
        feature_names=features, class_names=class_names, dropped=dropped,
        x_rest=x_all[rest] if len(rest) else None, transform=transform, test_rows=rows[idx_test],
    )


# --- the target ---------------------------------------------------------------------------------------------------

def _encode_target(y: np.ndarray, task: str, source: str) -> tuple[np.ndarray, list[str]]:
    _check_target_values(y, source)
    if task == "regression":
        y = np.asarray(y, dtype="float64")
        if np.ptp(y) == 0:
            raise DataError(f"the target is constant (every row is {y[0]:g}); there is nothing to learn",
                            source=source, field="data.target")
        return y, []
    values = y.astype(str) if y.dtype.kind in "OUSb" else y
    classes, codes = np.unique(values, return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"the target has a single class ({str(classes[0])!r}); classification needs at least two",
                        source=source, field="data.target")
    if len(classes) == len(y):
        raise DataError(f"the target has a different value in every row ({len(y)} classes for {len(y)} rows): "
                        "no class can be learned from one example; choose another data.target, or set "
                        "data.task: regression if it is a quantity", source=source, field="data.target")
    if len(classes) > MAX_CLASSES:
        raise DataError(f"the target has {len(classes)} distinct values; is this a regression? set data.task",
                        source=source, field="data.task")
    return codes.reshape(-1).astype("int32"), [str(c) for c in classes]


def _check_target_values(y: np.ndarray, source: str) -> None:
    import pandas as pd

    missing = int(pd.isna(y).sum())
    if missing:
        raise DataError(f"the target has {_count(missing, 'missing value')}; drop those rows first",
                        source=source, field="data.target")
    infinite = int(np.isinf(y).sum()) if y.dtype.kind == "f" else 0
    if infinite:
        raise DataError(f"the target has {_count(infinite, 'infinite value')}; drop or fix those rows first",
                        source=source, field="data.target")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


# --- which features -----------------------------------------------------------------------------------------------

Encoding = tuple[list[str], list[tuple[str, tuple[str, ...]]]]  # numeric columns used, text columns' one-hot values


def _features(raw: RawData, keep: list[str], source: str) -> tuple[np.ndarray, list[str], dict[str, str], Encoding]:
    if raw.frame is not None:
        frame, left_out = select_columns(raw.frame, keep, source)
        dropped = {**raw.dropped, **left_out}
        _check_some_left(frame.shape[1], dropped, source)
        x_all, features, numeric, categories = encode_frame(frame)
        return x_all, features, dropped, (numeric, categories)
    x_all, features, left_out = _drop_empty_array_columns(np.asarray(raw.x, dtype="float64"), raw.features, keep, source)
    dropped = {**raw.dropped, **left_out}
    _check_some_left(x_all.shape[1], dropped, source)
    return x_all, features, dropped, (list(features), [])


def _check_some_left(n_columns: int, dropped: dict[str, str], source: str) -> None:
    if n_columns == 0:
        detail = f" (left out: {describe_left_out(dropped)})" if dropped else ""
        raise DataError(f"no feature columns are left{detail}; name a column in data.keep to use it anyway",
                        source=source, field="data.keep")


def select_columns(frame: pd.DataFrame, keep: list[str], source: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Leave out the columns a model cannot use; return the rest and ``{column: reason}`` for those left out.

    The rules, in order (a column named in ``keep`` is never left out, but must still be usable):

    - ``no values at all``: every cell is missing or infinite (kept: a DataError, nothing to impute from).
    - ``identifier``, text: every row has its own value and none holds a space (codes, UUIDs, ``A-1043``).
      A unique text with spaces (a person's name) is free text instead.
    - ``identifier``, numbers: deliberately narrow, since a unique number is usually a measurement. Only an
      integer column (integer dtype, no missing cell; never a float column, never booleans) whose values are
      all distinct AND look like an index: either consecutive (a shuffled ``1..n`` or ``k..k+n-1``) or strictly
      increasing or decreasing in file order (ids with gaps). A kept numeric identifier stays a number.
    - ``free text, N distinct values``: a text column with more than ``MAX_CATEGORIES`` distinct values, or
      with more than ``MIN_FREE_TEXT`` whose distinct values are over ``FREE_TEXT_SHARE`` of its filled cells
      (one-hot columns that each mark a row or two teach nothing). Kept: one-hot encoded if it has at most
      ``MAX_CATEGORIES`` values, else a DataError.
    """
    numeric, text = column_kinds(frame)
    reasons = {**_empty_columns(frame, numeric, text), **_numeric_identifiers(frame)}
    for column in text:
        if column not in reasons and (why := _text_reason(frame[column])):
            reasons[column] = why
    kept = set(keep)
    for column in kept & reasons.keys():
        _check_kept(frame[column], reasons[column], column in text, source)
    left_out = {c: reasons[c] for c in frame.columns if c in reasons and c not in kept}  # in the file's order
    if not left_out:
        return frame, left_out
    return frame[[c for c in frame.columns if c not in left_out]], left_out


def _empty_columns(frame: pd.DataFrame, numeric: list[str], text: list[str]) -> dict[str, str]:
    values = frame[numeric].to_numpy(dtype="float64", na_value=np.nan)
    empty = [c for c, any_finite in zip(numeric, np.isfinite(values).any(axis=0)) if not any_finite]
    if text:
        missing = frame[text].isna().all()
        empty += [c for c in text if missing[c]]
    return dict.fromkeys(empty, NO_VALUES)


def _numeric_identifiers(frame: pd.DataFrame) -> dict[str, str]:
    from pandas.api.types import is_bool_dtype, is_integer_dtype

    ints = [c for c, dtype in frame.dtypes.items() if is_integer_dtype(dtype) and not is_bool_dtype(dtype)]
    if ints:  # nullable integers with a gap are not ids
        gaps = frame[ints].isna().any()
        ints = [c for c in ints if not gaps[c]]
    if not ints:
        return {}
    flags = index_like(frame[ints].to_numpy(dtype="int64"))
    return {c: IDENTIFIER for c, flag in zip(ints, flags) if flag}


def index_like(block: np.ndarray) -> np.ndarray:
    """For an (n rows, k columns) integer block: which columns hold distinct values that look like an index.

    Distinct, and consecutive (any order) or strictly monotonic in row order. Vectorized: 10,000 columns are cheap.
    """
    ordered = np.sort(block, axis=0)
    distinct = (ordered[1:] > ordered[:-1]).all(axis=0)
    consecutive = (ordered[-1] - ordered[0]) == len(block) - 1
    monotonic = (block[1:] > block[:-1]).all(axis=0) | (block[1:] < block[:-1]).all(axis=0)
    return distinct & (consecutive | monotonic)


def _text_reason(column: pd.Series) -> str | None:
    present = column.dropna()
    distinct = int(present.nunique())
    if distinct == len(column) and not present.astype(str).str.contains(r"\s").any():
        return IDENTIFIER
    if distinct > MAX_CATEGORIES or (distinct > MIN_FREE_TEXT and distinct > FREE_TEXT_SHARE * len(present)):
        return f"free text, {distinct} distinct values"
    return None


def _check_kept(column: pd.Series, why: str, is_text: bool, source: str) -> None:
    """A kept column must be usable: some values, and (text) few enough to one-hot encode."""
    name = column.name
    if why == NO_VALUES:
        raise DataError(f"column {name!r} is in data.keep but has no values at all (nothing to learn or impute from); "
                        "remove it from data.keep", source=source, field="data.keep")
    distinct = int(column.nunique())
    if is_text and distinct > MAX_CATEGORIES:
        raise DataError(f"column {name!r} is in data.keep but is text with {distinct} distinct values; one-hot encoding "
                        f"takes at most {MAX_CATEGORIES}: remove it from data.keep (it is then left out as {why})",
                        source=source, field="data.keep")


def _drop_empty_array_columns(x: np.ndarray, features: list[str], keep: list[str],
                              source: str) -> tuple[np.ndarray, list[str], dict[str, str]]:
    empty = ~np.isfinite(x).any(axis=0) if len(x) else np.zeros(x.shape[1], dtype=bool)
    kept_empty = [features[i] for i in np.flatnonzero(empty) if features[i] in keep]
    if kept_empty:
        raise DataError(f"column {kept_empty[0]!r} is in data.keep but has no values at all; remove it from data.keep",
                        source=source, field="data.keep")
    if not empty.any():
        return x, features, {}
    dropped = {features[i]: NO_VALUES for i in np.flatnonzero(empty)}
    return x[:, ~empty], [f for f, e in zip(features, empty) if not e], dropped
