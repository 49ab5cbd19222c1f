"""Where the predictions go: a CSV or Parquet file (by its suffix) written whole or not at all (a temporary file
beside it, renamed at the end), or CSV on standard output once every row is predicted; and what one chunk's rows
say (the prediction, the probabilities).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from tunecli.errors import DataError, RunError, os_reason

if TYPE_CHECKING:
    import pandas as pd

FIELD = "--output"


SUFFIXES = (".csv", ".parquet")


def check_output(path: Path) -> None:
    """Refuse an output path that can never be written: a folder, a suffix other than .csv or .parquet (exit 2);
    the write itself says the rest."""
    if path.is_dir():
        raise DataError("a folder; give the file to write the predictions to", source=str(path), field=FIELD)
    if path.suffix.lower() not in SUFFIXES:
        raise DataError(f"write the predictions to a .csv or .parquet file, not {path.suffix or 'a file without a suffix'}",
                        source=str(path), field=FIELD)


class Sink:
    """A temporary file collecting the rows (CSV, or Parquet for a ``.parquet`` path); ``commit`` moves it to ``path``
    or copies it to ``stream`` (CSV).

    Used as a context manager: the temporary file is removed whatever happens, so an error leaves nothing behind.
    """

    def __init__(self, path: Path | None, stream: IO[str] | None) -> None:
        self.path, self.stream = path, stream
        self.rows = 0
        self.columnar = path is not None and path.suffix.lower() == ".parquet"
        self.parquet: Any = None  # a pyarrow ParquetWriter on the temporary file, once the first rows come
        try:
            if path is not None:
                handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
                self.temp: Path | None = Path(name)
                self.file: IO[Any] = (os.fdopen(handle, "wb") if self.columnar
                                      else os.fdopen(handle, "w", newline="", encoding="utf-8"))
            else:
                self.temp, self.file = None, tempfile.TemporaryFile("w+", newline="", encoding="utf-8")
        except OSError as exc:
            raise self._failed(exc) from None

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            with contextlib.suppress(Exception):  # a writer that failed mid-way: the error already raised says why
                if self.parquet is not None and self.parquet.is_open:
                    self.parquet.close()
            with contextlib.suppress(OSError):
                if not self.file.closed:
                    self.file.close()
        finally:
            if self.temp is not None and self.temp.exists():
                self.temp.unlink()

    def write(self, frame: pd.DataFrame) -> None:
        try:
            if self.columnar:
                self._write_parquet(frame)
            else:
                frame.to_csv(self.file, header=self.rows == 0, index=False)
        except OSError as exc:
            raise self._failed(exc) from None
        self.rows += len(frame)

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.parquet is None:
            self.parquet = pq.ParquetWriter(self.file, table.schema)
        self.parquet.write_table(table)

    def commit(self) -> None:
        """Put the rows where they belong: rename the temporary file to ``path``, or copy it to ``stream``."""
        try:
            if self.temp is not None and self.path is not None:
                if self.parquet is not None:
                    self.parquet.close()   # its footer, before the file closes
                self.file.close()
                os.chmod(self.temp, _file_mode(self.path))
                os.replace(self.temp, self.path)
            elif self.stream is not None:
                self.file.seek(0)
                shutil.copyfileobj(self.file, self.stream)
                self.stream.flush()
        except BrokenPipeError:
            raise  # the reader went away (| head): the command ends quietly
        except OSError as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: OSError) -> RunError:
        where = str(self.path) if self.path is not None else "standard output"
        return RunError(f"cannot write the predictions: {os_reason(exc)}", source=where, field=FIELD)


def _file_mode(path: Path) -> int:
    """The permissions ``path`` should get: those of the file it replaces, else a new file's (the umask's)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def prediction_rows(outputs: np.ndarray, classes: list[str], proba: bool) -> pd.DataFrame:
    """One row per input row: ``prediction`` (the class, or the value) and, with ``proba``, ``proba_<class>`` columns."""
    import pandas as pd

    if not classes:
        return pd.DataFrame({"prediction": outputs.reshape(len(outputs), -1)[:, 0]})
    names = np.asarray(classes, dtype=object)[outputs.argmax(axis=1)]
    frame = pd.DataFrame({"prediction": np.where(np.isfinite(outputs).all(axis=1), names, "")})  # NaN: no class
    if proba:
        for i, name in enumerate(classes):
            frame[f"proba_{name}"] = outputs[:, i]
    return frame


def predicted(outputs: np.ndarray, classes: list[str]) -> np.ndarray:
    """Class indices (-1 where the outputs are not numbers), or the values of a regression."""
    if not classes:
        return outputs.reshape(len(outputs), -1)[:, 0]
    return np.where(np.isfinite(outputs).all(axis=1), outputs.argmax(axis=1), -1)


def json_values(values: np.ndarray) -> list[Any]:
    """A float array as (nested) lists of JSON values: NaN and infinities become null."""
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()


def as_probabilities(outputs: Any, n_classes: int) -> np.ndarray:
    """The model's outputs as (rows, classes) float32 (one sigmoid unit for two classes becomes two columns)."""
    outputs = np.asarray(outputs, dtype="float32").reshape(len(outputs), -1)
    if n_classes == 2 and outputs.shape[1] == 1:
        return np.concatenate([1 - outputs, outputs], axis=1)
    return outputs
