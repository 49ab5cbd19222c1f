"""Reading the rows to predict in chunks: CSV (any dialect), parquet and .npz; every problem names the file."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tunecli.errors import DataError
from tunecli.predict import reader
from tunecli.predict.reader import open_data


def rows_csv(tmp_path: Path, n: int = 25, sep: str = ",", name: str = "rows.csv", bom: bool = False) -> Path:
    lines = [sep.join(["size", "kind", "y"])] + [sep.join([f"{i}.5", "p" if i % 2 else "q", "a"]) for i in range(n)]
    path = tmp_path / name
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + ("\n".join(lines) + "\n").encode())
    return path


def test_a_csv_file_is_read_in_chunks_numbered_from_the_first_row(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(reader, "CHUNK_ROWS", 10)
    data = open_data(rows_csv(tmp_path, sep=";", bom=True))
    assert data.columns == ["size", "kind", "y"] and data.describe() == "rows.csv (semicolon-separated, UTF-8 byte-order mark)"
    chunks = list(data.chunks(["size", "kind"], ["kind"]))
    assert [(c.start, len(c)) for c in chunks] == [(0, 10), (10, 10), (20, 5)]
    assert list(chunks[1].frame.index) == list(range(10, 20)) and list(chunks[1].frame.columns) == ["size", "kind"]
    assert data.progress == data.total == (tmp_path / "rows.csv").stat().st_size


def test_data_sep_is_taken_as_given(tmp_path: Path) -> None:
    data = open_data(rows_csv(tmp_path, sep="|"), sep="|")
    assert data.dialect is not None and data.dialect.given


def test_text_columns_keep_their_text(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("code,y\n007,a\n1.50,b\n")
    frame = next(open_data(path).chunks(["code"], ["code"])).frame
    assert list(frame["code"]) == ["007", "1.50"]


def test_parquet_is_read_in_batches(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(reader, "CHUNK_ROWS", 4)
    path = tmp_path / "rows.parquet"
    pd.DataFrame({"size": np.arange(10.0), "kind": list("pq" * 5)}).to_parquet(path)
    data = open_data(path)
    chunks = list(data.chunks(["size"], []))
    assert [c.start for c in chunks] == [0, 4, 8] and list(chunks[2].frame.index) == [8, 9]
    assert data.progress == data.total == 10


def test_an_npz_file_gives_its_rows_flattened_and_its_labels(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(reader, "CHUNK_ROWS", 3)
    path = tmp_path / "rows.npz"
    np.savez(path, x=np.arange(28.0).reshape(7, 2, 2), y=np.eye(2)[[0, 1, 1, 0, 1, 0, 0]])
    data = open_data(path)
    assert data.columns == ["x0", "x1", "x2", "x3"]
    chunks = list(data.chunks([], []))
    assert [len(c) for c in chunks] == [3, 3, 1] and chunks[0].x.shape == (3, 4)
    assert list(chunks[0].y) == [0, 1, 1]


@pytest.mark.parametrize("name,content,expected", [
    ("empty.csv", b"", "the file is empty"),
    ("header.csv", b"size,kind\n", "no rows"),
    ("rows.xlsx", b"size\n1\n", "unsupported file type"),
    ("rows.npz", b"not a zip", "not an .npz archive"),
])
def test_what_cannot_be_read_is_one_error_naming_the_file(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=expected) as caught:
        open_data(path)
    assert name in caught.value.render()


def test_an_npz_without_x_and_a_missing_file(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", a=np.zeros((3, 2)))
    with pytest.raises(DataError, match="array named x"):
        open_data(tmp_path / "a.npz")
    with pytest.raises(DataError, match="no such file"):
        open_data(tmp_path / "none.csv")


def test_a_ragged_row_far_down_is_named_by_its_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(reader, "CHUNK_ROWS", 10)
    path = rows_csv(tmp_path, n=30)
    lines = path.read_text().splitlines()
    lines[25] += ",extra,fields"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="line 26"):
        list(open_data(path).chunks(["size"], []))
