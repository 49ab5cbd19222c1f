"""Load a data set once, split it (train / validation / test) and preprocess it.

Sources: scikit-learn's built-in sets (digits, iris, wine, breast_cancer, diabetes),
Keras' downloadable sets (mnist, fashion_mnist, california_housing; need the network
once), and files: ``.csv``, ``.parquet``, ``.npz`` (arrays ``x``/``X`` and ``y``), or a
folder holding ``x_train.npz`` / ``y_train.npz`` (and optionally ``x_test``/``y_test``).

``data.drop`` leaves columns out here; ``data.keep`` is checked here (every name must exist) and
used by the preprocessing, which leaves out identifiers, free text and empty columns on its own.
Every problem with a file is one ``DataError`` naming the file and the field.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tunecli.data.dataset import Dataset, RawData
from tunecli.data.dialect import Dialect, detect
from tunecli.data.paths import find_file
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
        SpaceError: ``data.classes`` names a class no row has, or the task is a regression.
    """
    key = f"{spec.model_dump_json()}|{_file_identity(spec.source, base_dir)}"
    if key not in _CACHE:
        _CACHE[key] = _load(spec, base_dir)
    return _CACHE[key]


def _file_identity(source: str, base_dir: str | Path | None) -> str:
    """The file a source names as it is now (resolved path, size, modification time): a file of the
    same name elsewhere, or the same file changed, is read again."""
    if source in BUILTIN + DOWNLOADABLE:
        return source
    try:
        path = _resolve(source, base_dir).resolve()
        stat = path.stat()
    except (DataError, OSError):
        return f"{source}|{base_dir}"  # _load gives the error
    return f"{path}|{stat.st_size}|{stat.st_mtime_ns}"


def _load(spec: DataSpec, base_dir: str | Path | None) -> Dataset:
    source = spec.source
    if source in BUILTIN:
        raw = _select_array_columns(_sklearn(source), spec, source)
    elif source in DOWNLOADABLE:
        raw = _select_array_columns(_keras_download(source), spec, source)
    else:
        path = _resolve(source, base_dir)
        raw = _read_file(path, spec)
    task = _infer_task(spec.task, raw.y, raw.task_hint, source)
    if spec.target_scale != 1.0 and task != "regression":
        raise DataError("target_scale only applies to regression", source=source, field="data.target_scale")
    name = Path(source).name if source not in BUILTIN + DOWNLOADABLE else source
    dataset = prepare(spec, source, raw, task, name)
    dataset.folds, dataset.fold_seed, dataset.dialect = spec.cv or 0, spec.seed, raw.dialect
    return dataset


def source_rows(spec: DataSpec, rows: np.ndarray, *, base_dir: str | Path | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of the source, by number, as the source holds them (before any preprocessing) and their targets: a
    table's columns (the target's too), or an array's features by name (``x0``, … or the built-in set's).

    Raises:
        DataError: as ``load_data``.
    """
    import pandas as pd

    source = spec.source
    if source in BUILTIN + DOWNLOADABLE:
        raw = _sklearn(source) if source in BUILTIN else _keras_download(source)
    else:
        path = _resolve(source, base_dir)
        suffix = path.suffix.lower()
        if not path.is_dir() and suffix != ".npz":
            frame = load_table(path, suffix, sep=spec.sep)[0].iloc[rows].reset_index(drop=True)
            return frame, frame[spec.target].to_numpy()
        raw = _read_npz_folder(path) if path.is_dir() else _read_npz(path)
    assert raw.x is not None
    return pd.DataFrame(raw.x[rows], columns=raw.features), raw.y[rows]


def _resolve(source: str, base_dir: str | Path | None) -> Path:
    path = find_file(source, base_dir)
    if path is None:
        known = ", ".join(BUILTIN + DOWNLOADABLE)
        raise DataError(f"no such file, and not a built-in data set ({known})", source=source, field="data.source")
    return path



def _sklearn(name: str) -> RawData:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    task = "regression" if name == "diabetes" else "classification"
    return RawData(y=bunch.target, features=list(map(str, bunch.feature_names)), x=bunch.data, task_hint=task)


def _keras_download(name: str) -> RawData:
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
    return RawData(y=y, features=[f"x{i}" for i in range(x.shape[1])], x=x, task_hint=task)


def _read_file(path: Path, spec: DataSpec) -> RawData:
    if path.is_dir():
        return _select_array_columns(_read_npz_folder(path), spec, str(path))
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _select_array_columns(_read_npz(path), spec, str(path))
    if suffix not in (".csv", ".parquet", ".pq"):
        kind = f"file type {suffix!r}" if suffix else "file without a suffix"
        raise DataError(f"unsupported {kind}; use .csv, .parquet or .npz (arrays x and y), "
                        "or a folder of x_train.npz / y_train.npz", source=str(path), field="data.source")
    frame, dialect = load_table(path, suffix, sep=spec.sep)
    raw = _select_table_columns(frame, spec, str(path))
    raw.dialect = dialect.describe() if dialect else ""
    return raw


def _select_table_columns(frame: pd.DataFrame, spec: DataSpec, source: str) -> RawData:
    """Split off the target, leave out ``data.drop``; every name in target, drop and keep must be a column."""
    if spec.target is None:
        raise DataError(f"a table needs a target column (data.target or --target); columns: {_cols(frame)}",
                        source=source, field="data.target")
    if spec.target not in frame.columns:
        raise DataError(f"target column {spec.target!r} not found; columns: {_cols(frame)}", source=source, field="data.target")
    _check_names(frame.columns, spec.drop, "drop", source)
    _check_names(frame.columns, spec.keep, "keep", source)
    drop = [c for c in dict.fromkeys(spec.drop) if c != spec.target]
    y = frame[spec.target].to_numpy()
    columns = [c for c in frame.columns if c != spec.target]
    frame = frame.drop(columns=[spec.target, *drop])
    if frame.shape[1] == 0:
        why = "; data.drop leaves out the others" if drop else ""
        raise DataError(f"no feature columns are left besides the target{why}", source=source,
                        field="data.drop" if drop else "data.target")
    return RawData(y=y, features=list(frame.columns), frame=frame, dropped=dict.fromkeys(drop, "data.drop"), columns=columns)


def _select_array_columns(raw: RawData, spec: DataSpec, source: str) -> RawData:
    """Arrays have feature names too (``x0``, ``x1``, … or the built-in set's): ``data.drop`` leaves them out."""
    _check_names(raw.features, spec.drop, "drop", source)
    _check_names(raw.features, spec.keep, "keep", source)
    if not spec.drop:
        return raw
    assert raw.x is not None
    drop = set(spec.drop)
    keep = [i for i, name in enumerate(raw.features) if name not in drop]
    if not keep:
        raise DataError("data.drop leaves no feature columns", source=source, field="data.drop")
    return RawData(y=raw.y, features=[raw.features[i] for i in keep], x=raw.x[:, keep], task_hint=raw.task_hint,
                   dropped={name: "data.drop" for name in raw.features if name in drop}, columns=list(raw.features))


def _check_names(columns: pd.Index | list[str], names: list[str], field: str, source: str) -> None:
    missing = [name for name in names if name not in columns]
    if missing:
        verb = "drop" if field == "drop" else "keep"
        raise DataError(f"cannot {verb} {', '.join(map(repr, missing))}: no such column; columns: {_cols(columns)}",
                        source=source, field=f"data.{field}")


def _cols(columns: pd.DataFrame | pd.Index | list[str]) -> str:
    names = [str(c) for c in getattr(columns, "columns", columns)]
    return ", ".join(names[:30]) + (f" … ({len(names)} in all)" if len(names) > 30 else "")


def read_table(path: Path, suffix: str, *, sep: str | None = None) -> pd.DataFrame:
    """A .csv or .parquet table, columns named as text; one DataError naming the file for anything wrong."""
    return load_table(path, suffix, sep=sep)[0]


def csv_dialect(path: Path, sep: str | None = None) -> Dialect:
    """The CSV file's dialect (``data.sep``, if given, is its separator); a DataError if it cannot be read."""
    try:
        return detect(path, sep)
    except OSError as exc:
        raise DataError(f"cannot read the table: {type(exc).__name__}: {str(exc)[:200]}",
                        source=str(path), field="data.source") from None


def load_table(path: Path, suffix: str, *, sep: str | None = None) -> tuple[pd.DataFrame, Dialect | None]:
    """``read_table``, and the CSV dialect it read the file with (None for parquet)."""
    import pandas as pd

    dialect = csv_dialect(path, sep) if suffix == ".csv" else None
    try:
        frame = pd.read_csv(path, **dialect.pandas_options()) if dialect else pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", source=str(path), field="data.source") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"cannot parse the table: {first}", source=str(path), field="data.source") from None
    except (OSError, UnicodeDecodeError, ValueError, ImportError) as exc:
        raise DataError(f"cannot read the table: {type(exc).__name__}: {str(exc)[:200]}",
                        source=str(path), field="data.source") from None
    if suffix == ".csv" and not frame.index.equals(pd.RangeIndex(len(frame))):
        # pandas reads a row longer than the header by taking its first fields as an index
        raise DataError(f"rows have more fields than the header ({frame.shape[1]} columns)",
                        source=str(path), field="data.source")
    if len(frame) == 0:
        raise DataError(f"the table has a header ({_cols(frame)}) but no rows", source=str(path), field="data.source")
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True).copy(), dialect  # copy: one block per dtype, so 10,000 columns stay fast


def _read_npz(path: Path) -> RawData:
    if not zipfile.is_zipfile(path):
        raise DataError("not an .npz archive (numpy.savez writes one, with arrays x and y)",
                        source=str(path), field="data.source")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            keys = set(arrays.files)
            xk = next((k for k in ("x", "X", "features") if k in keys), None)
            yk = next((k for k in ("y", "Y", "target", "labels") if k in keys), None)
            if xk is None or yk is None:
                raise DataError(f"an .npz file needs arrays named x and y; found: {', '.join(sorted(keys)) or 'none'}",
                                source=str(path), field="data.source")
            x, y = arrays[xk], arrays[yk]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read the .npz file: {type(exc).__name__}: {str(exc)[:200]}",
                        source=str(path), field="data.source") from None
    return _arrays(x, y, path)


def _read_npz_folder(path: Path) -> RawData:
    def one(name: str) -> np.ndarray | None:
        file = path / f"{name}.npz"
        if not file.exists():
            return None
        try:
            with np.load(file, allow_pickle=False) as arrays:
                if not arrays.files:
                    raise DataError("the file holds no arrays", source=str(file), field="data.source")
                return arrays[arrays.files[0]]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(f"cannot read the .npz file: {type(exc).__name__}: {str(exc)[:200]}",
                            source=str(file), field="data.source") from None

    x_parts = [a for a in (one("x_train"), one("x_test")) if a is not None]
    y_parts = [a for a in (one("y_train"), one("y_test")) if a is not None]
    if not x_parts or len(x_parts) != len(y_parts):
        raise DataError("a data folder needs x_train.npz and y_train.npz (optionally x_test.npz, y_test.npz)",
                        source=str(path), field="data.source")
    try:
        x, y = np.concatenate(x_parts), np.concatenate(y_parts)
    except ValueError as exc:
        raise DataError(f"the train and test arrays do not fit together: {exc}", source=str(path), field="data.source") from None
    return _arrays(x, y, path)


def _arrays(x: np.ndarray, y: np.ndarray, path: Path) -> RawData:
    """Features flattened to one row per sample; the target one value per row (one-hot rows become labels)."""
    if x.ndim < 2 or x.dtype.kind not in "biuf":
        raise DataError(f"features must be a numeric array with one row per sample, got shape {x.shape} of {x.dtype}",
                        source=str(path), field="data.source")
    x = x.reshape(len(x), -1)
    y = _one_target_per_row(np.asarray(y), path)
    if len(x) != len(y):
        raise DataError(f"x has {len(x)} rows but y has {len(y)}", source=str(path), field="data.source")
    return RawData(y=y, features=[f"x{i}" for i in range(x.shape[1])], x=x)


def _one_target_per_row(y: np.ndarray, path: Path) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        return y.reshape(len(y))
    if y.ndim == 2 and y.dtype.kind in "biuf" and np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all():
        return y.argmax(axis=1)  # one-hot labels
    if y.ndim != 1:
        raise DataError(f"y must hold one value per row (or one-hot rows), got shape {y.shape}",
                        source=str(path), field="data.source")
    return y


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
