"""Matching a data file's columns to a model's, and rows to its inputs (no Keras: the record alone)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.predict.fake import fake_model_bytes
from tunecli.errors import DataError
from tunecli.predict import reader
from tunecli.predict.inputs import foreign_plan, model_inputs, plan
from tunecli.predict.model_file import open_model
from tunecli.predict.reader import open_data


def model(tmp_path: Path, **changes) -> object:
    path = tmp_path / "m.keras"
    path.write_bytes(fake_model_bytes(**changes))
    return open_model(path)


def csv(tmp_path: Path, text: str, name: str = "rows.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_inputs_are_one_array_per_input_text_and_missing_cells_as_the_contract_says(tmp_path: Path) -> None:
    data = open_data(csv(tmp_path, "kind,size,y,id\np,1.5,a,1\n,inf,b,2\nq,,a,3\n"))
    chosen = plan(model(tmp_path), data)
    assert chosen.target == "y" and chosen.usecols == ["size", "kind", "y"] and chosen.text == ["kind"]
    assert chosen.notes == ["columns ignored (left out at training: id (identifier))"]
    inputs = model_inputs(chosen, next(data.chunks(chosen.usecols, chosen.text)), "rows.csv")
    assert inputs["size"].dtype == np.float32 and inputs["size"].shape == (3, 1)
    assert inputs["size"][0, 0] == 1.5 and np.isnan(inputs["size"][1:, 0]).all()  # inf and empty: missing
    assert inputs["kind"].dtype == object and inputs["kind"].tolist() == [["p"], [""], ["q"]]


def test_a_missing_column_is_named_with_the_columns_the_model_takes(tmp_path: Path) -> None:
    data = open_data(csv(tmp_path, "size,other\n1,2\n"))
    with pytest.raises(DataError) as caught:
        plan(model(tmp_path), data)
    message = caught.value.render()
    assert "rows.csv" in message and "missing column 'kind'" in message and "the model takes 'size', 'kind'" in message


def test_extra_columns_unknown_to_the_model_are_named(tmp_path: Path) -> None:
    data = open_data(csv(tmp_path, "size,kind,note\n1,p,x\n"))
    chosen = plan(model(tmp_path), data)
    assert chosen.target is None and chosen.notes == ["columns ignored (not the model's: 'note')"]


def test_text_in_a_number_column_names_the_column_and_the_first_bad_row(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(reader, "CHUNK_ROWS", 4)
    rows = [f"{i}.5,p" for i in range(10)]
    rows[6] = "six,p"
    rows[8] = "eight,q"
    data = open_data(csv(tmp_path, "size,kind\n" + "\n".join(rows) + "\n"))
    chosen = plan(model(tmp_path), data)
    chunks = data.chunks(chosen.usecols, chosen.text)
    model_inputs(chosen, next(chunks), "rows.csv")
    with pytest.raises(DataError) as caught:
        model_inputs(chosen, next(chunks), "rows.csv")
    assert "column 'size' holds text" in caught.value.render() and "row 7 is 'six'" in caught.value.render()


def test_a_decimal_comma_file_names_the_bad_row_not_the_first_number(tmp_path: Path) -> None:
    rows = [f"{i},5;p" for i in range(6)]
    rows[4] = "four;p"
    data = open_data(csv(tmp_path, "size;kind\n" + "\n".join(rows) + "\n"))
    assert data.dialect is not None and data.dialect.decimal == ","
    chosen = plan(model(tmp_path), data)
    chunk = next(data.chunks(chosen.usecols, chosen.text))
    with pytest.raises(DataError) as caught:
        model_inputs(chosen, chunk, "rows.csv", data.dialect.decimal)
    assert "row 5 is 'four'" in caught.value.render(), caught.value.render()
    rows[4] = "4,5;p"
    data = open_data(csv(tmp_path, "size;kind\n" + "\n".join(rows) + "\n"))
    chosen = plan(model(tmp_path), data)
    sizes = model_inputs(chosen, next(data.chunks(chosen.usecols, chosen.text)), "rows.csv", ",")
    np.testing.assert_allclose(next(v for v in sizes.values() if v.dtype == np.float32).ravel(), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5])


def test_an_array_feeds_the_columns_in_order(tmp_path: Path) -> None:
    columns = [{"name": f"x{i}", "input": "x", "kind": "number"} for i in range(3)]
    np.savez(tmp_path / "rows.npz", x=np.arange(6.0).reshape(2, 3))
    data = open_data(tmp_path / "rows.npz")
    chosen = plan(model(tmp_path, columns=columns), data)
    assert chosen.by_position
    np.testing.assert_array_equal(model_inputs(chosen, next(data.chunks([], [])), "rows.npz")["x"], [[0, 1, 2], [3, 4, 5]])
    with pytest.raises(DataError, match="x has 3 columns but the model takes 2"):
        plan(model(tmp_path, columns=columns[:2]), data)
    with pytest.raises(DataError, match="text columns"):
        plan(model(tmp_path), data)


def test_a_model_without_a_record_takes_every_column_in_order(tmp_path: Path) -> None:
    data = open_data(csv(tmp_path, "a,b,c\n1,2,3\n"))
    chosen = foreign_plan(data, 3)
    assert list(chosen.groups) == [""] and chosen.usecols == ["a", "b", "c"]
    with pytest.raises(DataError, match="the model takes 4 numbers per row"):
        foreign_plan(data, 4)


@pytest.mark.parametrize("changes,why", [
    ({"task": "clustering"}, "task is 'clustering'"),
    ({"columns": []}, "no input columns"),
    ({"columns": [{"name": "a", "input": "a", "kind": "image"}]}, "number | text"),
    ({"classes": []}, "without its classes"),
])
def test_a_record_that_does_not_describe_the_model_is_refused(tmp_path: Path, changes: dict, why: str) -> None:
    with pytest.raises(DataError, match=why):
        model(tmp_path, **changes)


def test_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "m.keras").write_text("hello")
    with pytest.raises(DataError, match="not a model file: not a .keras model file"):
        open_model(tmp_path / "m.keras")
