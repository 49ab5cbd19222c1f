"""The unlabeled rows an autoencoder pretrains on (``pretrain.unlabeled``), preprocessed exactly like the data.

``null``: the training rows; ``rest``: the source's rows left out of the splits (``data.classes``,
``data.train_rows``); a path: a ``.csv`` / ``.parquet`` table with the data's feature columns (the target column
absent or empty), an ``.npz`` file with an array ``x`` as wide as the source, or a folder of ``x_train.npz`` (and
``x_test.npz``). Its rows go through the data's column choice, one-hot values, medians, means and scales.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.errors import DataError, SpaceError, shorten, show

if TYPE_CHECKING:
    import pandas as pd

    from tunecli.config.space import SearchSpace
    from tunecli.data.dataset import Dataset
    from tunecli.data.transform import FeatureTransform

REST = "rest"
FIELD = "pretrain.unlabeled"
SHOWN_COLUMNS = 8


def read_unlabeled(unlabeled: str | None, space: SearchSpace, dataset: Dataset,
                   base_dir: str | Path | None) -> np.ndarray:
    """The rows ``pretrain.unlabeled`` names, as model inputs (float32, ``dataset.n_features`` wide).

    Args:
        unlabeled: None (the training rows), ``"rest"`` (``dataset.x_rest``) or a file, relative to the current
            folder or to ``base_dir``.
        space: the search space (its data section, and its path for the messages).
        dataset: the data the rows must match, as ``load_data`` made it.
        base_dir: the space file's folder.

    Raises:
        SpaceError: (field ``pretrain.unlabeled``) no rest rows; the file missing or unreadable, its columns not the
            data's, its target column filled, or a numeric column holding text.
    """
    if unlabeled is None:
        return dataset.x_train
    if unlabeled == REST:
        if dataset.x_rest is None:
            raise SpaceError("`rest` takes the source's rows left out of the splits, but every row is in one: leave some "
                             "out with data.classes or data.train_rows, or name a file of unlabeled rows",
                             source=space.path, field=FIELD)
        return dataset.x_rest
    transform = dataset.transform
    if transform is None:
        raise SpaceError("this data keeps no record of its preprocessing, so other rows cannot be prepared like it",
                         source=space.path, field=FIELD)
    frame = _read(unlabeled, base_dir, transform, space)
    try:
        return transform.apply(frame, dataset.x_train)
    except ValueError as exc:
        raise _refuse(unlabeled, str(exc), space) from None


def _refuse(name: str, why: str, space: SearchSpace) -> SpaceError:
    return SpaceError(f"unlabeled rows {show(name, 80)}: {why}", source=space.path, field=FIELD)


def _read(name: str, base_dir: str | Path | None, transform: FeatureTransform, space: SearchSpace) -> pd.DataFrame:
    """The file's rows with the data's columns (left-out ones may be absent), the target column removed."""
    from tunecli.data.loading import read_table
    from tunecli.data.paths import find_file

    try:
        path = find_file(name, base_dir)
    except (OSError, ValueError):
        path = None
    if path is None:
        raise _refuse(name, "no such file (a relative path is looked up in the current folder, then next to the "
                            "space file)", space)
    suffix = path.suffix.lower()
    try:
        if path.is_dir() or suffix == ".npz":
            x, y = _read_folder(path) if path.is_dir() else _read_npz(path)
            _check_target(y, "y", name, space)
            return _array_frame(x, transform, name, space)
        if suffix not in (".csv", ".parquet", ".pq"):
            raise _refuse(name, f"unsupported file type {suffix!r}; use .csv, .parquet, .npz (an array x) or a folder "
                                "of x_train.npz", space)
        frame = read_table(path, suffix)
    except DataError as exc:
        raise _refuse(name, exc.message, space) from None
    target = space.data.target
    if target is not None and target in frame.columns:
        _check_target(frame[target].to_numpy(), repr(target), name, space)
        frame = frame.drop(columns=[target])
    _check_columns(list(frame.columns), transform, name, space)
    return frame


def _check_target(y: Any, what: str, name: str, space: SearchSpace) -> None:
    import pandas as pd

    if y is None:
        return
    labels = int((~pd.isna(np.asarray(y, dtype=object))).sum())
    if labels:
        raise _refuse(name, f"the target {what} holds {labels} values: unlabeled rows leave it empty, or out", space)


def _check_columns(columns: list[str], transform: FeatureTransform, name: str, space: SearchSpace) -> None:
    known = set(transform.columns)
    present = set(columns)
    missing = [c for c in transform.used if c not in present]
    extra = [c for c in columns if c not in known]
    if missing or extra:
        parts = [f"{label} {_names(cols)}" for label, cols in (("missing", missing), ("extra", extra)) if cols]
        raise _refuse(name, f"the columns are not the data's: {'; '.join(parts)}", space)


def _names(columns: list[str]) -> str:
    shown = ", ".join(shorten(str(c), 30) for c in columns[:SHOWN_COLUMNS])
    return shown + (f" and {len(columns) - SHOWN_COLUMNS} more" if len(columns) > SHOWN_COLUMNS else "")


def _array_frame(x: np.ndarray, transform: FeatureTransform, name: str, space: SearchSpace) -> pd.DataFrame:
    import pandas as pd

    if transform.categories:
        raise _refuse(name, "the data has text columns; give the unlabeled rows as a table (.csv or .parquet) with "
                            "the same columns", space)
    if x.ndim < 2 or x.dtype.kind not in "biuf" or len(x) == 0:
        raise _refuse(name, f"x must be a numeric array with one row per sample, got shape {x.shape} of {x.dtype}", space)
    x = x.reshape(len(x), -1)
    if x.shape[1] != len(transform.columns):
        raise _refuse(name, f"rows have {x.shape[1]} feature values but the data's source has {len(transform.columns)} "
                            "columns", space)
    return pd.DataFrame(x, columns=list(transform.columns))


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if not zipfile.is_zipfile(path):
        raise DataError("not an .npz archive (numpy.savez writes one, with an array x)")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            keys = set(arrays.files)
            xk = next((k for k in ("x", "X", "features") if k in keys), None)
            yk = next((k for k in ("y", "Y", "target", "labels") if k in keys), None)
            if xk is None:
                found = ", ".join(sorted(keys)) or "none"
                raise DataError(f"an .npz file of unlabeled rows needs an array named x; found: {found}")
            return arrays[xk], (arrays[yk] if yk else None)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read the .npz file: {type(exc).__name__}: {str(exc)[:200]}") from None


def _read_folder(path: Path) -> tuple[np.ndarray, None]:
    parts = []
    for stem in ("x_train", "x_test"):
        file = path / f"{stem}.npz"
        if file.exists():
            try:
                with np.load(file, allow_pickle=False) as arrays:
                    if not arrays.files:
                        raise DataError(f"{stem}.npz holds no arrays")
                    parts.append(arrays[arrays.files[0]])
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
                raise DataError(f"cannot read {stem}.npz: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not parts:
        raise DataError("a folder of unlabeled rows needs x_train.npz (optionally x_test.npz)")
    try:
        return np.concatenate([p.reshape(len(p), -1) for p in parts]), None
    except ValueError as exc:
        raise DataError(f"x_train.npz and x_test.npz do not fit together: {exc}") from None
