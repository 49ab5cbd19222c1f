"""Which rows go where: the classes kept (``data.classes``), fixed train / validation / test splits (stratified for
classification where every class allows it) and the cap on training rows (``data.train_rows``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.errors import SpaceError, shorten

if TYPE_CHECKING:
    from tunecli.config.space import DataSpec

MIN_PER_CLASS = 3  # stratify only where every class has this many rows (one per split)
SHOWN_CLASSES = 20  # an unknown class in data.classes: the message names this many of the target's values


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


def cap_train_rows(idx_train: np.ndarray, labels: np.ndarray | None, spec: DataSpec) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, spare)``: at most ``spec.train_rows`` training rows, a sample stratified by class where every class
    allows it (fixed by ``spec.seed``); the spare rows are left out of the splits. Both sorted."""
    limit = spec.train_rows
    if limit is None or limit >= len(idx_train):
        return idx_train, idx_train[:0]
    from sklearn.model_selection import train_test_split

    stratify = labels[idx_train] if labels is not None else None
    if stratify is not None and np.unique(stratify, return_counts=True)[1].min() < 2:
        stratify = None  # a class with a single training row cannot be split
    try:
        kept, spare = train_test_split(idx_train, train_size=limit, random_state=spec.seed, stratify=stratify)
    except ValueError:  # fewer rows to keep than classes
        kept, spare = train_test_split(idx_train, train_size=limit, random_state=spec.seed)
    return np.sort(kept), np.sort(spare)


def select_classes(y: np.ndarray, classes: list[Any] | None, task: str, source: str) -> np.ndarray:
    """Row numbers of the rows whose target is one of ``classes`` (``data.classes``; None: every row).

    A number matches the same number (``4`` matches a target of ``4.0``), text the same text.

    Raises:
        SpaceError: on a regression, or naming the classes no row has, with the values the target takes.
    """
    if classes is None:
        return np.arange(len(y))
    if task != "classification":
        raise SpaceError("data.classes keeps the rows of some classes, but the task is regression; remove data.classes, "
                         "or set data.task: classification", source=source, field="data.classes")
    keep = np.zeros(len(y), dtype=bool)
    unknown = []
    for wanted in dict.fromkeys(classes):
        hits = _matches(y, wanted)
        if not hits.any():
            unknown.append(wanted)
        keep |= hits
    if unknown:
        raise SpaceError(f"no row has the target {', '.join(map(_text, unknown[:5]))}; the target takes "
                         f"{_values(y)}", source=source, field="data.classes")
    return np.flatnonzero(keep)


def _matches(y: np.ndarray, wanted: Any) -> np.ndarray:
    if y.dtype.kind in "biuf" and not isinstance(wanted, bool):
        try:
            return y == float(wanted)
        except (TypeError, ValueError):
            return np.zeros(len(y), dtype=bool)
    return y.astype(str) == str(wanted)


def _text(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return shorten(str(value), 30)


def _values(y: np.ndarray) -> str:
    import pandas as pd

    present = pd.unique(y[~pd.isna(y)])
    try:
        present = np.sort(present)
    except TypeError:  # mixed kinds of values
        present = np.array(sorted(map(str, present)))
    shown = ", ".join(_text(v) for v in present[:SHOWN_CLASSES])
    return shown + (f" … ({len(present)} values in all)" if len(present) > SHOWN_CLASSES else "")
