"""Load a data set once, split it (train / validation / test) and preprocess it.

Sources: scikit-learn's built-in sets (digits, iris, wine, breast_cancer, diabetes),
Keras' downloadable sets (mnist, fashion_mnist, california_housing; need the network
once), and files: ``.csv``, ``.parquet``, ``.npz`` (arrays ``x``/``X`` and ``y``), or a
folder holding ``x_train.npz`` / ``y_train.npz`` (and optionally ``x_test``/``y_test``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tunecli.data.dataset import Dataset
from tunecli.data.preprocessing import prepare
from tunecli.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from tunecli.config.space import DataSpec

BUILTIN = ("digits", "iris", "wine", "breast_cancer", "diabetes")
DOWNLOADABLE = ("mnist", "fashion_mnist", "california_housing")
MAX_CLASSES_FROM_INTS = 20

_CACHE: dict[str, Dataset] = {}


def load_data(spec: DataSpec, *, base_dir: str | Path | None = None) -> Dataset:
    """Load and preprocess the data the spec names (memoized per process).

    Args:
        spec: the ``data`` section of the search-space file.
        base_dir: relative paths are resolved against this folder first (the space file's).

    Raises:
        DataError: naming the source and what is wrong.
    """
    key = f"{spec.model_dump_json()}|{base_dir}"
    if key not in _CACHE:
        _CACHE[key] = _load(spec, base_dir)
    return _CACHE[key]


def _load(spec: DataSpec, base_dir: str | Path | None) -> Dataset:
    source = spec.source
    if source in BUILTIN:
        x, y, features, task_hint = _sklearn(source)
        frame = None
    elif source in DOWNLOADABLE:
        x, y, features, task_hint = _keras_download(source)
        frame = None
    else:
        path = _resolve(source, base_dir)
        frame, x, y, features = _read_file(path, spec)
        task_hint = None
    task = _infer_task(spec.task, y, task_hint, source)
    if spec.target_scale != 1.0:
        if task != "regression":
            raise DataError("target_scale only applies to regression", source=source, field="data.target_scale")
    name = Path(source).name if source not in BUILTIN + DOWNLOADABLE else source
    return prepare(spec, source, x, y, frame, features, task, name)


def _resolve(source: str, base_dir: str | Path | None) -> Path:
    path = Path(source).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path] + ([Path(base_dir) / path] if base_dir else [])
    for candidate in candidates:
        if candidate.exists():
            return candidate
    known = ", ".join(BUILTIN + DOWNLOADABLE)
    raise DataError(f"no such file, and not a built-in data set ({known})", source=source, field="data.source")


def _sklearn(name: str) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    task = "regression" if name == "diabetes" else "classification"
    return bunch.data, bunch.target, list(map(str, bunch.feature_names)), task


def _keras_download(name: str) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    from tunecli.runtime import import_keras

    keras = import_keras()  # quietly, with the chosen backend
    try:
        (x_tr, y_tr), (x_te, y_te) = getattr(keras.datasets, name).load_data()
    except Exception as exc:  # noqa: BLE001 - any failure here is a download failure
        raise DataError(
            f"this data set is downloaded by Keras on first use and the download failed ({type(exc).__name__}). "
            "Connect once to fetch it, or point data.source at a local .csv/.npz file",
            source=name, field="data.source") from None
    x = np.concatenate([x_tr, x_te]).reshape(len(x_tr) + len(x_te), -1)
    y = np.concatenate([y_tr, y_te])
    task = "regression" if name == "california_housing" else "classification"
    return x, y, [f"x{i}" for i in range(x.shape[1])], task


def _read_file(path: Path, spec: DataSpec) -> tuple[pd.DataFrame | None, np.ndarray | None, np.ndarray, list[str]]:
    suffix = path.suffix.lower()
    if path.is_dir():
        x, y = _read_npz_folder(path)
        return None, x, y, [f"x{i}" for i in range(x.shape[1])]
    if suffix == ".npz":
        x, y = _read_npz(path)
        return None, x, y, [f"x{i}" for i in range(x.shape[1])]
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataError(f"unsupported file type {suffix!r}; use .csv, .parquet or .npz", source=str(path), field="data.source")
    frame = _read_table(path, suffix)
    if spec.target is None:
        raise DataError(f"a table needs a target column (data.target or --target); columns: {_cols(frame)}",
                        source=str(path), field="data.target")
    if spec.target not in frame.columns:
        raise DataError(f"target column {spec.target!r} not found; columns: {_cols(frame)}",
                        source=str(path), field="data.target")
    missing = [c for c in spec.drop if c not in frame.columns]
    if missing:
        raise DataError(f"cannot drop {missing}: no such columns; columns: {_cols(frame)}", source=str(path), field="data.drop")
    y = frame[spec.target].to_numpy()
    frame = frame.drop(columns=[spec.target, *spec.drop])
    if frame.shape[1] == 0:
        raise DataError("no feature columns are left besides the target", source=str(path), field="data.target")
    return frame, None, y, [str(c) for c in frame.columns]


def _cols(frame: pd.DataFrame) -> str:
    names = [str(c) for c in frame.columns]
    return ", ".join(names[:30]) + (" …" if len(names) > 30 else "")


def _read_table(path: Path, suffix: str) -> pd.DataFrame:
    import pandas as pd

    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", source=str(path), field="data.source") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"cannot parse the table: {first}", source=str(path), field="data.source") from None
    except (OSError, UnicodeDecodeError, ValueError, ImportError) as exc:
        raise DataError(f"cannot read the table: {type(exc).__name__}: {str(exc)[:200]}",
                        source=str(path), field="data.source") from None


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            keys = set(arrays.files)
            xk = next((k for k in ("x", "X", "features") if k in keys), None)
            yk = next((k for k in ("y", "Y", "target", "labels") if k in keys), None)
            if xk is None or yk is None:
                raise DataError(f"an .npz file needs arrays named x and y; found: {', '.join(sorted(keys))}",
                                source=str(path), field="data.source")
            x, y = arrays[xk], arrays[yk]
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the .npz file: {exc}", source=str(path), field="data.source") from None
    y = np.asarray(y)
    return _flatten(x, path), (y.reshape(len(y)) if y.ndim == 2 and y.shape[1] == 1 else y)


def _read_npz_folder(path: Path) -> tuple[np.ndarray, np.ndarray]:
    def one(name: str) -> np.ndarray | None:
        file = path / f"{name}.npz"
        if not file.exists():
            return None
        with np.load(file, allow_pickle=False) as arrays:
            return arrays[arrays.files[0]]

    x_parts = [a for a in (one("x_train"), one("x_test")) if a is not None]
    y_parts = [a for a in (one("y_train"), one("y_test")) if a is not None]
    if not x_parts or len(x_parts) != len(y_parts):
        raise DataError("a data folder needs x_train.npz and y_train.npz (optionally x_test.npz, y_test.npz)",
                        source=str(path), field="data.source")
    return _flatten(np.concatenate(x_parts), path), np.concatenate(y_parts)


def _flatten(x: np.ndarray, path: Path) -> np.ndarray:
    if x.ndim < 2 or x.dtype.kind not in "biuf":
        raise DataError(f"features must be a numeric array with one row per sample, got shape {x.shape} of {x.dtype}",
                        source=str(path), field="data.source")
    return x.reshape(len(x), -1)


def _infer_task(asked: str, y: np.ndarray, hint: str | None, source: str) -> str:
    if asked == "regression":
        if y.dtype.kind not in "biuf":
            try:
                y.astype(float)
            except (TypeError, ValueError):
                raise DataError("task is regression but the target is not numeric (e.g. "
                                f"{y[0]!r}); use task: classification", source=source, field="data.task") from None
        return "regression"
    if asked == "classification":
        return "classification"
    if hint:
        return hint
    if y.dtype.kind in "OUSb" or y.dtype.name == "category":
        return "classification"
    if y.dtype.kind in "iu" and len(np.unique(y)) <= MAX_CLASSES_FROM_INTS:
        return "classification"
    return "regression"
