"""The rows to predict, read in chunks: a ``.csv`` (its dialect detected, as ``search`` reads it), a ``.parquet``
or an ``.npz`` file (array ``x``, and ``y`` if it has one). A file of millions of rows is never held whole.

Every problem is one ``DataError`` naming the file: rows are numbered from 1, the header not counted.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.data.loading import csv_dialect
from tunecli.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from tunecli.data.dialect import Dialect

CHUNK_ROWS = 20_000
SUFFIXES = (".csv", ".parquet", ".pq", ".npz")
FIELD = "DATA"


@dataclass
class Chunk:
    """Consecutive rows of the file: ``start`` is the number of rows before them."""

    start: int
    frame: pd.DataFrame | None = None  # a table's rows (the columns asked for)
    x: np.ndarray | None = None        # an array's rows, (rows, features)
    y: np.ndarray | None = None        # an array file's targets for these rows, if it has them

    def __len__(self) -> int:
        return len(self.frame) if self.frame is not None else len(self.x)  # type: ignore[arg-type]


@dataclass
class DataFile:
    """A data file opened for predicting: its columns and how far a reader has got (``progress``, 0 to ``total``)."""

    path: Path
    kind: str  # csv | parquet | npz | rows (held in memory: a split of a space file's data)
    columns: list[str]
    dialect: Dialect | None = None
    total: float = 0.0     # the unit of progress: bytes for a CSV file, rows otherwise
    progress: float = 0.0
    held: tuple[Any, np.ndarray | None] | None = None  # an .npz file's x and y, or rows in memory and their targets
    label: str = ""  # what the rows are, where they are not a file's

    def describe(self) -> str:
        """``rows.csv (semicolon-separated)``: the file, and how a CSV file is written."""
        if self.label:
            return self.label
        return f"{self.path.name} ({self.dialect.describe()})" if self.dialect else self.path.name

    def chunks(self, usecols: list[str], text: list[str]) -> Iterator[Chunk]:
        """The file's rows, ``CHUNK_ROWS`` at a time; tables with only ``usecols``, ``text`` columns read as text."""
        if self.held is not None:
            yield from self._held_chunks(usecols)
        elif self.kind == "parquet":
            yield from self._parquet_chunks(usecols)
        else:
            yield from self._csv_chunks(usecols, text)

    def _held_chunks(self, usecols: list[str]) -> Iterator[Chunk]:
        assert self.held is not None
        rows, y = self.held
        for start in range(0, len(rows), CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, len(rows))
            self.progress = stop
            targets = None if y is None else y[start:stop]
            if self.kind == "npz":
                yield Chunk(start, x=rows[start:stop], y=targets)
            else:
                yield Chunk(start, frame=_numbered(rows.iloc[start:stop][usecols].copy(), start), y=targets)

    def _parquet_chunks(self, usecols: list[str]) -> Iterator[Chunk]:
        import pyarrow.parquet as pq

        start = 0
        with _reading(self.path):
            for batch in pq.ParquetFile(self.path).iter_batches(batch_size=CHUNK_ROWS, columns=usecols):
                frame = _numbered(batch.to_pandas(), start)
                self.progress = start = start + len(frame)
                yield Chunk(start - len(frame), frame=frame)

    def _csv_chunks(self, usecols: list[str], text: list[str]) -> Iterator[Chunk]:
        import pandas as pd

        assert self.dialect is not None
        start = 0
        with open(self.path, "rb") as handle, _reading(self.path):  # every column read: a row with more is refused
            reader = pd.read_csv(handle, chunksize=CHUNK_ROWS, dtype=dict.fromkeys(text, str),
                                 **self.dialect.pandas_options())
            for frame in reader:
                if not frame.index.equals(pd.RangeIndex(start, start + len(frame))):
                    raise DataError(f"rows have more fields than the header ({len(self.columns)}) from row {start + 1} on",
                                    source=str(self.path), field=FIELD)
                frame = _numbered(frame, start)[usecols]
                self.progress = handle.tell()
                start += len(frame)
                yield Chunk(start - len(frame), frame=frame)


def _numbered(frame: pd.DataFrame, start: int) -> pd.DataFrame:
    """Columns named as text, rows numbered from ``start`` (0-based) in the file."""
    import pandas as pd

    frame.columns = [str(c) for c in frame.columns]
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame


def open_data(path: Path, sep: str | None = None) -> DataFile:
    """Open the data file (its columns read, no rows yet).

    Raises:
        DataError: no such file, an unsupported type, an empty file or one without rows, an .npz without ``x``.
    """
    if not path.exists():
        raise DataError("no such file", source=str(path), field=FIELD)
    if path.is_dir():
        raise DataError("a folder, not a data file (.csv, .parquet or .npz)", source=str(path), field=FIELD)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        kind = f"file type {suffix!r}" if suffix else "file without a suffix"
        raise DataError(f"unsupported {kind}; use .csv, .parquet or .npz (an array x)", source=str(path), field=FIELD)
    if suffix == ".npz":
        return _open_npz(path)
    if suffix == ".csv":
        return _open_csv(path, sep)
    return _open_parquet(path)


def _open_csv(path: Path, sep: str | None) -> DataFile:
    import pandas as pd

    dialect = csv_dialect(path, sep)
    with _reading(path):
        head = pd.read_csv(path, nrows=1, **dialect.pandas_options())
    if len(head) == 0:
        raise DataError(f"the table has a header ({', '.join(map(str, head.columns[:10]))}) but no rows",
                        source=str(path), field=FIELD)
    return DataFile(path, "csv", [str(c) for c in head.columns], dialect, total=float(path.stat().st_size))


def _open_parquet(path: Path) -> DataFile:
    import pyarrow.parquet as pq

    with _reading(path):
        meta = pq.ParquetFile(path).metadata
        columns = [str(c) for c in pq.ParquetFile(path).schema_arrow.names]
    if meta.num_rows == 0:
        raise DataError("the table has no rows", source=str(path), field=FIELD)
    return DataFile(path, "parquet", columns, total=float(meta.num_rows))


def _open_npz(path: Path) -> DataFile:
    if not zipfile.is_zipfile(path):
        raise DataError("not an .npz archive (numpy.savez writes one, with an array x)", source=str(path), field=FIELD)
    with _reading(path), np.load(path, allow_pickle=False) as arrays:
        keys = set(arrays.files)
        xk = next((k for k in ("x", "X", "features") if k in keys), None)
        yk = next((k for k in ("y", "Y", "target", "labels") if k in keys), None)
        if xk is None:
            raise DataError(f"an .npz file needs an array named x; found: {', '.join(sorted(keys)) or 'none'}",
                            source=str(path), field=FIELD)
        x, y = arrays[xk], (arrays[yk] if yk else None)
    if x.ndim < 2 or x.dtype.kind not in "biuf" or len(x) == 0:
        raise DataError(f"x must be a numeric array with one row per sample, got shape {x.shape} of {x.dtype}",
                        source=str(path), field=FIELD)
    x = x.reshape(len(x), -1)
    if y is not None and (len(y) != len(x) or y.ndim > 2):
        raise DataError(f"y must hold one value per row of x ({len(x)} rows), got shape {y.shape}",
                        source=str(path), field=FIELD)
    if y is not None and y.ndim == 2:
        y = y.argmax(axis=1) if y.shape[1] > 1 else y.reshape(-1)  # one-hot labels
    columns = [f"x{i}" for i in range(x.shape[1])]
    return DataFile(path, "npz", columns, total=float(len(x)), held=(x, y))


def held_rows(source: Path, frame: pd.DataFrame, y: np.ndarray, label: str) -> DataFile:
    """Rows in memory, as a file's would be read (``source``: where they come from, named in messages)."""
    return DataFile(source, "rows", [str(c) for c in frame.columns], total=float(len(frame)), held=(frame, y),
                    label=label)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn what a reader raises into one DataError naming the file (pandas' parser names the line)."""
    import pandas as pd
    import pyarrow as pa

    source = str(path)
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", source=source, field=FIELD) from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot parse the table: {first}", source=source, field=FIELD) from None
    except (OSError, UnicodeDecodeError, ValueError, ImportError, EOFError, zipfile.BadZipFile, pa.ArrowException) as exc:
        raise DataError(f"cannot read the file: {type(exc).__name__}: {str(exc)[:200]}", source=source,
                        field=FIELD) from None
