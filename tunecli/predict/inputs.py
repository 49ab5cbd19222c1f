"""From a data file's columns to the model's inputs: which columns the model needs (a missing one is refused, an extra
one ignored and named) and each chunk of rows as the arrays its inputs take (``tunecli.serving.metadata``).

A ``number`` input gets float32 (rows, k), NaN for a missing or infinite cell; a cell that is not a number is refused,
naming the column and the row. A ``text`` input gets strings (rows, 1), ``""`` for a missing cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tunecli.data.dataset import describe_left_out
from tunecli.errors import DataError, show
from tunecli.predict.model_file import Column
from tunecli.predict.reader import FIELD

if TYPE_CHECKING:
    import pandas as pd

    from tunecli.predict.model_file import ModelFile
    from tunecli.predict.reader import Chunk, DataFile

SHOWN_COLUMNS = 12


@dataclass
class Plan:
    """Which of the file's columns feed which input, the target column if the file has it, and what is left over."""

    groups: dict[str, list[Column]]  # input name -> its columns, in order ("": a model without a record)
    target: str | None = None
    by_position: bool = False  # an array (.npz): its columns are taken in order
    notes: list[str] = field(default_factory=list)

    @property
    def usecols(self) -> list[str]:
        return [c.name for cols in self.groups.values() for c in cols] + ([self.target] if self.target else [])

    @property
    def text(self) -> list[str]:
        return [c.name for cols in self.groups.values() for c in cols if c.kind == "text"]


def plan(model: ModelFile, data: DataFile) -> Plan:
    """Match the file's columns to the model's.

    Raises:
        DataError: a column the model needs is missing (named, with the columns it expects), or an array's width
            differs from the model's.
    """
    columns = model.columns
    if data.kind == "npz":
        return _array_plan(columns, data)
    names = set(data.columns)
    missing = [c.name for c in columns if c.name not in names]
    if missing:
        raise DataError(f"{_names(missing, 'missing column')}; the model takes {_list([c.name for c in columns])}",
                        source=str(data.path), field=FIELD)
    target = model.target if model.target in names else None
    used = {c.name for c in columns} | {target}
    extra = [name for name in data.columns if name not in used]
    notes = [_extra_note(extra, model.ignored)] if extra else []
    return Plan(_group(columns), target, notes=notes)


def _array_plan(columns: list[Column], data: DataFile) -> Plan:
    width = len(data.columns)
    if any(c.kind == "text" for c in columns):
        raise DataError(f"the model takes text columns ({_list([c.name for c in columns if c.kind == 'text'])}): "
                        "an .npz array cannot hold them; use a .csv or .parquet file", source=str(data.path), field=FIELD)
    if width != len(columns):
        raise DataError(f"x has {width} columns but the model takes {len(columns)} ({_list([c.name for c in columns])})",
                        source=str(data.path), field=FIELD)
    return Plan(_group(columns), by_position=True)


def foreign_plan(data: DataFile, width: int | None) -> Plan:
    """A model without a tunecli record: every column of the file, in order, feeds its one input of ``width``.

    Raises:
        DataError: the file has another number of columns.
    """
    if width is not None and len(data.columns) != width:
        raise DataError(f"the model takes {width} numbers per row (it has no tunecli metadata to name its columns) but "
                        f"the file has {len(data.columns)} columns", source=str(data.path), field=FIELD)
    columns = [Column(name, "", "number") for name in data.columns]
    return Plan({"": columns}, by_position=data.kind == "npz")


def _group(columns: list[Column]) -> dict[str, list[Column]]:
    groups: dict[str, list[Column]] = {}
    for column in columns:
        groups.setdefault(column.input, []).append(column)
    return groups


def _extra_note(extra: list[str], ignored: dict[str, str]) -> str:
    known = {name: ignored[name] for name in extra if name in ignored}
    other = [name for name in extra if name not in ignored]
    parts = [f"left out at training: {describe_left_out(known)}"] if known else []
    if other:
        parts.append(f"not the model's: {_list(other)}")
    return f"columns ignored ({'; '.join(parts)})"


def model_inputs(plan: Plan, chunk: Chunk, source: str, decimal: str = ".") -> dict[str, np.ndarray]:
    """The chunk's rows as the model's inputs: float32 (rows, k) per number input, object strings (rows, 1) per text;
    ``decimal`` is the file's decimal mark (``,`` in a file that writes ``1,5``).

    Raises:
        DataError: a number column holds text (the column and the first such row named).
    """
    if plan.by_position:
        x = _finite(np.asarray(chunk.x, dtype="float32"))
        return {name: x[:, [i for i, c in enumerate(_flat(plan)) if c.input == name]] for name in plan.groups}
    assert chunk.frame is not None
    out = {}
    for name, columns in plan.groups.items():
        if columns[0].kind == "text":
            out[name] = np.stack([_text(chunk.frame[c.name]) for c in columns], axis=1)
        else:
            out[name] = np.stack([_numbers(chunk.frame[c.name], source, decimal) for c in columns], axis=1)
    return out


def _flat(plan: Plan) -> list[Column]:
    return [c for cols in plan.groups.values() for c in cols]


def _numbers(column: pd.Series, source: str, decimal: str) -> np.ndarray:
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if is_numeric_dtype(column.dtype) or is_bool_dtype(column.dtype):
        return _finite(column.to_numpy(dtype="float32", na_value=np.nan))
    # one bad cell leaves the column as text: its good cells are still written with the file's decimal mark
    written = column if decimal == "." else column.map(lambda v: v.replace(decimal, ".") if isinstance(v, str) else v)
    values = pd.to_numeric(written, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        row = bad.idxmax()
        raise DataError(f"column {show(str(column.name))} holds text where the model takes numbers: row {row + 1} is "
                        f"{show(column[row])}", source=source, field=FIELD)
    return _finite(values.to_numpy(dtype="float32", na_value=np.nan))


def _finite(values: np.ndarray) -> np.ndarray:
    """Infinite cells are missing values, as the search took them."""
    return np.where(np.isinf(values), np.float32(np.nan), values).astype("float32")


def _text(column: pd.Series) -> np.ndarray:
    return column.map(str, na_action="ignore").fillna("").to_numpy(dtype=object)


def _names(names: list[str], noun: str) -> str:
    return f"{noun}{'' if len(names) == 1 else 's'} {_list(names)}"


def _list(names: list[str]) -> str:
    shown = ", ".join(show(n) for n in names[:SHOWN_COLUMNS])
    return shown + (f" … ({len(names)} in all)" if len(names) > SHOWN_COLUMNS else "")
