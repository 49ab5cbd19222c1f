"""Encoding and scaling the feature columns, and ``FeatureTransform``: what they learned from the source, kept so that
more rows (an unlabeled file for ``pretrain.unlabeled``) are preprocessed exactly like the data's.

Numbers stay numbers (missing and infinite cells: the training median); each text column becomes one 0/1 column per
value (a missing cell, or a value the data never had, is all 0); every column is then standardized with the training
split's mean and standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Scaling:
    """The training statistics: medians (None when the training rows had no missing cell), means, scales."""

    medians: np.ndarray | None
    mean: np.ndarray
    std: np.ndarray


@dataclass(frozen=True)
class FeatureTransform:
    """How the source's columns became the model's inputs: numeric columns first, then each text column one-hot."""

    columns: tuple[str, ...]  # every feature column of the source, in order, left-out ones included
    numeric: tuple[str, ...]  # the numeric columns used
    categories: tuple[tuple[str, tuple[str, ...]], ...]  # each text column used, with its one-hot values
    scaling: Scaling

    @property
    def used(self) -> list[str]:
        """The source columns the inputs come from."""
        return [*self.numeric, *(name for name, _ in self.categories)]

    def apply(self, frame: pd.DataFrame, x_train: np.ndarray) -> np.ndarray:
        """Rows of ``frame`` (which holds every used column) as model inputs, float32.

        ``x_train`` (the data's preprocessed training rows) gives the training medians where they were not kept.

        Raises:
            ValueError: naming a numeric column whose cells are not numbers.
        """
        try:
            numbers = frame[list(self.numeric)].to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            bad = next(c for c in self.numeric if not _numeric(frame[c]))
            raise ValueError(f"column {bad!r} holds text where the data has numbers") from None
        blocks = [numbers] + [one_hot(frame[name], list(values))[0] for name, values in self.categories]
        return self._scale(np.concatenate(blocks, axis=1), x_train)

    def _scale(self, x: np.ndarray, x_train: np.ndarray) -> np.ndarray:
        s = self.scaling
        gaps = ~np.isfinite(x)
        if s.medians is not None:
            return ((np.where(gaps, s.medians, x) - s.mean) / s.std).astype("float32")
        scaled = (np.where(gaps, 0.0, x) - s.mean) / s.std
        if gaps.any():  # the training rows were complete: their median, standardized, is that of x_train's column
            cols = gaps.any(axis=0)
            scaled[:, cols] = np.where(gaps[:, cols], np.median(x_train[:, cols], axis=0), scaled[:, cols])
        return scaled.astype("float32")


def _numeric(column: pd.Series) -> bool:
    try:
        column.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):
        return False
    return True


def encode_frame(frame: pd.DataFrame) -> tuple[np.ndarray, list[str], list[str], list[tuple[str, tuple[str, ...]]]]:
    """Numbers as float64 (missing and infinite cells stay NaN for ``standardize``); text one-hot encoded.

    Returns:
        The block, its column names, the numeric columns and each text column with its one-hot values.
    """
    numeric, text = column_kinds(frame)
    blocks, names = [frame[numeric].to_numpy(dtype="float64", na_value=np.nan)], list(numeric)
    categories = []
    for column in text:
        block, values = one_hot(frame[column])
        blocks.append(block)
        names += [f"{column}_{value}" for value in values]
        categories.append((str(column), tuple(values)))
    return np.concatenate(blocks, axis=1), names, list(numeric), categories


def column_kinds(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """``(numeric, text)`` column names; booleans count as numbers, anything else not numeric as text."""
    from pandas.api.types import is_numeric_dtype

    numeric = [c for c, dtype in frame.dtypes.items() if is_numeric_dtype(dtype)]
    is_numeric = set(numeric)
    return numeric, [c for c in frame.columns if c not in is_numeric]


def one_hot(column: pd.Series, values: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """One 0/1 column per value, in sorted order, named as ``pd.get_dummies`` names them; a missing cell is all 0.

    ``values`` fixes the columns (a value outside them is all 0 too); by default they are the column's own.
    """
    import pandas as pd

    text = column.map(str, na_action="ignore")
    if values is None:
        codes, found = pd.factorize(text, sort=True)  # a missing cell: code -1
        values = [str(v) for v in found]
    else:
        codes = pd.Categorical(text, categories=values).codes
    block = np.zeros((len(codes), len(values)))
    rows = np.flatnonzero(codes >= 0)
    block[rows, codes[rows]] = 1.0
    return block, values


def standardize(x: np.ndarray, idx_train: np.ndarray) -> tuple[np.ndarray, Scaling]:
    """Impute missing and infinite cells with the training median (0 where training has none), then scale."""
    finite = np.isfinite(x)
    medians = None
    if not finite.all():
        train = np.where(finite[idx_train], x[idx_train], np.nan)
        has_train = finite[idx_train].any(axis=0)
        medians = np.zeros(x.shape[1])
        if has_train.any():
            medians[has_train] = np.nanmedian(train[:, has_train], axis=0)
        x = np.where(finite, x, medians)
    mean = x[idx_train].mean(axis=0)
    std = x[idx_train].std(axis=0)
    std[std == 0] = 1.0
    return ((x - mean) / std).astype("float32"), Scaling(medians, mean, std)
