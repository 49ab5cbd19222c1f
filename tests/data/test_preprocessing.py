"""Which columns are left out on their own (identifiers, free text, empty columns), data.keep / data.drop, imputation."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import TINY_SPACE
from tunecli.config.space import DataSpec
from tunecli.data import load_data
from tunecli.data.dataset import Dataset
from tunecli.data.preprocessing import index_like, select_columns
from tunecli.data.splits import split_indices
from tunecli.errors import DataError

SURNAMES = ["Braund", "Cumings", "Heikkinen", "Futrelle", "Allen", "Moran", "McCarthy", "Palsson", "Johnson", "Nasser"]


def titanic(n: int = 60) -> pd.DataFrame:
    """A Titanic-like table: an id, names, tickets (mostly distinct), sex, ages with gaps, fares, survived."""
    rng = np.random.default_rng(7)
    sex = np.where(rng.random(n) < 0.4, "female", "male")
    age = rng.uniform(1, 70, n).round(1)
    age[::5] = np.nan
    tickets = [f"A/5 {21000 + i}" if i % 10 else "PC 17599" for i in range(n)]  # 54 distinct of 60
    return pd.DataFrame({
        "PassengerId": np.arange(1, n + 1),
        "Name": [f"{SURNAMES[i % 10]}, Mr. Person {i}" for i in range(n)],
        "Ticket": tickets,
        "Sex": sex,
        "Age": age,
        "Fare": rng.gamma(2.0, 15.0, n).round(2),
        "Survived": ((sex == "female") | (rng.random(n) < 0.2)).astype(int),
    })


def _write(tmp_path, frame: pd.DataFrame, name: str = "t.csv") -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def _load(tmp_path, frame: pd.DataFrame, **spec) -> Dataset:
    return load_data(DataSpec(source=_write(tmp_path, frame), **spec))


# --- the Titanic-like table ---------------------------------------------------------------------------------------

def test_titanic_leaves_out_id_name_and_ticket_with_reasons(tmp_path) -> None:
    data = _load(tmp_path, titanic(), target="Survived")
    assert data.dropped == {"PassengerId": "identifier", "Name": "free text, 60 distinct values",
                            "Ticket": "free text, 55 distinct values"}
    assert data.feature_names == ["Age", "Fare", "Sex_female", "Sex_male"]
    assert data.task == "classification" and data.n_classes == 2
    assert np.isfinite(data.x_train).all() and np.isfinite(data.x_test).all()
    assert data.describe().endswith("; left out: PassengerId (identifier), Name (free text, 60 distinct values), "
                                    "Ticket (free text, 55 distinct values)")


def test_titanic_imputes_age_with_the_training_median(tmp_path) -> None:
    frame = titanic()
    spec = DataSpec(source=_write(tmp_path, frame), target="Survived")
    data = load_data(spec)
    train, _, _ = split_indices(len(frame), frame["Survived"].to_numpy(), spec)
    ages = frame["Age"].to_numpy()[train]
    assert np.isnan(ages).sum() >= 5
    filled = np.where(np.isnan(ages), np.nanmedian(ages), ages)
    expected = (filled - filled.mean()) / filled.std()
    np.testing.assert_allclose(data.x_train[:, data.feature_names.index("Age")], expected, rtol=1e-5, atol=1e-5)


def test_titanic_sex_is_one_hot(tmp_path) -> None:
    frame = titanic()
    data = _load(tmp_path, frame, target="Survived", test=0.0)
    female, male = (data.feature_names.index(c) for c in ("Sex_female", "Sex_male"))
    both = np.concatenate([data.x_train, data.x_val])
    assert len(np.unique(both[:, female].round(5))) == 2
    np.testing.assert_allclose(both[:, female], -both[:, male], atol=1e-5)  # exactly one of the two is set


def test_keep_forces_an_identifier_in_and_a_numeric_id_stays_a_number(tmp_path) -> None:
    data = _load(tmp_path, titanic(), target="Survived", keep=["PassengerId"])
    assert "PassengerId" not in data.dropped and "Name" in data.dropped
    assert data.feature_names[0] == "PassengerId" and data.n_features == 5
    column = np.concatenate([data.x_train, data.x_val, data.x_test])[:, 0]
    assert len(np.unique(column.round(5))) == 60  # one standardized number per row, not 60 one-hot columns


# --- the rules one by one -----------------------------------------------------------------------------------------

def _frame(n: int = 40, **columns) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"x": rng.normal(size=n), **columns, "y": np.arange(n) % 2})


def test_a_unique_float_column_is_a_measurement_not_an_identifier() -> None:
    frame = _frame(height=np.linspace(150.0, 190.0, 40), weight=np.random.default_rng(2).normal(70, 9, 40))
    kept, left_out = select_columns(frame, [], "t.csv")
    assert left_out == {}
    assert list(kept.columns) == ["x", "height", "weight", "y"]


@pytest.mark.parametrize("values,is_id", [
    (np.arange(1, 41), True),                                      # 1..n in order
    (np.random.default_rng(3).permutation(40) + 100, True),       # consecutive, shuffled
    (np.arange(40) * 7 + 3, True),                                 # increasing with gaps
    (np.arange(40)[::-1] * 2, True),                               # decreasing
    (np.random.default_rng(4).choice(10_000, 40, replace=False), False),  # unique, neither consecutive nor ordered
    (np.arange(40) % 7, False),                                    # repeats
])
def test_integer_identifier_rule(values: np.ndarray, is_id: bool) -> None:
    frame = _frame(code=values)
    _, left_out = select_columns(frame, [], "t.csv")
    assert left_out == ({"code": "identifier"} if is_id else {})


def test_index_like_is_vectorized_over_columns() -> None:
    block = np.stack([np.arange(30), np.arange(30) % 3, np.arange(30)[::-1] * 5, np.r_[np.arange(29), 100]], axis=1)
    assert index_like(block).tolist() == [True, False, True, True]


def test_integers_with_a_missing_cell_or_booleans_are_not_identifiers() -> None:
    ids = pd.array(list(range(39)) + [None], dtype="Int64")
    frame = _frame(code=ids, flag=np.arange(40) % 2 == 0)
    _, left_out = select_columns(frame, [], "t.csv")
    assert left_out == {}


def test_unique_text_without_spaces_is_an_identifier_with_spaces_free_text() -> None:
    frame = _frame(uid=[str(uuid.UUID(int=i)) for i in range(40)], note=[f"note number {i}" for i in range(40)])
    _, left_out = select_columns(frame, [], "t.csv")
    assert left_out == {"uid": "identifier", "note": "free text, 40 distinct values"}


def test_text_with_too_many_values_is_free_text_and_few_values_stay_categories() -> None:
    n = 600
    frame = _frame(n, city=[f"city{i % 250}" for i in range(n)], color=[["red", "blue", "green"][i % 3] for i in range(n)])
    kept, left_out = select_columns(frame, [], "t.csv")
    assert left_out == {"city": "free text, 250 distinct values"}
    assert "color" in kept.columns


def test_a_small_tables_categories_are_not_free_text() -> None:
    frame = _frame(30, grade=[f"g{i % 10}" for i in range(30)])  # 10 distinct in 30 rows
    _, left_out = select_columns(frame, [], "t.csv")
    assert left_out == {}


def test_kept_text_with_too_many_values_is_one_clear_error(tmp_path) -> None:
    frame = _frame(300, city=[f"city {i}" for i in range(300)])
    with pytest.raises(DataError) as info:
        _load(tmp_path, frame, target="y", keep=["city"])
    text = info.value.render()
    assert info.value.field == "data.keep" and "'city'" in text and "300 distinct values" in text and "at most 200" in text


def test_kept_text_identifier_is_one_hot_encoded(tmp_path) -> None:
    data = _load(tmp_path, _frame(30, code=[f"K{i}" for i in range(30)]), target="y", keep=["code"])
    assert data.dropped == {}
    assert data.n_features == 31 and "code_K7" in data.feature_names


def test_an_all_nan_column_is_left_out_and_cannot_be_kept(tmp_path) -> None:
    frame = _frame(empty=np.full(40, np.nan), words=pd.Series([None] * 40, dtype=object))
    data = _load(tmp_path, frame, target="y")
    assert data.dropped == {"empty": "no values at all", "words": "no values at all"}
    assert data.feature_names == ["x"]
    with pytest.raises(DataError) as info:
        _load(tmp_path, frame, target="y", keep=["empty"])
    assert info.value.field == "data.keep" and "'empty'" in info.value.message and "no values" in info.value.message


def test_keep_naming_a_missing_column_lists_the_columns(tmp_path) -> None:
    with pytest.raises(DataError) as info:
        _load(tmp_path, _frame(), target="y", keep=["nope"])
    assert info.value.field == "data.keep"
    assert "'nope'" in info.value.message and "columns: x, y" in info.value.message


def test_drop_wins_over_keep_and_is_recorded(tmp_path) -> None:
    data = _load(tmp_path, titanic(), target="Survived", keep=["Fare"], drop=["Fare"])
    assert data.dropped["Fare"] == "data.drop"
    assert "Fare" not in data.feature_names


def test_nothing_left_names_what_was_left_out(tmp_path) -> None:
    frame = pd.DataFrame({"Id": np.arange(40), "y": np.arange(40) % 2})
    with pytest.raises(DataError) as info:
        _load(tmp_path, frame, target="y")
    assert info.value.field == "data.keep" and "Id (identifier)" in info.value.message


def test_missing_text_cells_are_all_zero_in_the_one_hot_columns(tmp_path) -> None:
    colors = [None if i % 4 == 0 else ["red", "blue"][i % 2] for i in range(40)]
    data = _load(tmp_path, _frame(color=colors), target="y", test=0.0)
    assert data.feature_names == ["x", "color_blue", "color_red"]
    raw = pd.read_csv(tmp_path / "t.csv")["color"]
    assert raw.isna().sum() == 10
    both = np.concatenate([data.x_train, data.x_val])
    assert len(np.unique(both[:, 1:].round(4), axis=0)) == 3  # blue, red, neither


def test_describe_names_a_few_left_out_columns_and_counts_the_rest() -> None:
    x = np.zeros((4, 1), dtype="float32")
    y = np.zeros(4, dtype="int32")
    dropped = {f"c{i}": "no values at all" for i in range(12)}
    data = Dataset("t.csv", "classification", x, y, x, y, x, y, n_classes=2, dropped=dropped)
    assert data.describe().endswith("left out: c0 (no values at all), c1 (no values at all), c2 (no values at all), "
                                    "c3 (no values at all), c4 (no values at all), c5 (no values at all), "
                                    "c6 (no values at all), c7 (no values at all) and 4 more")
    assert "left out" not in Dataset("d", "regression", x, y, x, y, x, y).describe()


# --- end to end, through the command line -------------------------------------------------------------------------

def _search(tmp_path, monkeypatch, *extra: str):
    from typer.testing import CliRunner

    from tunecli.cli import app

    monkeypatch.chdir(tmp_path)
    titanic().to_csv(tmp_path / "titanic.csv", index=False)
    space = {**TINY_SPACE, "data": {"source": "titanic.csv", "target": "Survived"}}
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(space, sort_keys=False))
    args = ["search", "space.yaml", "--trials", "1", "--max-epochs", "1", *extra]
    return CliRunner().invoke(app, args)


@pytest.mark.slow  # runs a search
def test_cli_search_on_a_messy_table_names_the_left_out_columns(tmp_path, monkeypatch) -> None:
    result = _search(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())  # the console may wrap the dataset line
    assert "left out: PassengerId (identifier), Name (free text, 60 distinct values)" in text
    assert "Ticket (free text, 55 distinct values)" in text


@pytest.mark.slow  # runs a search
def test_cli_search_with_drop_leaves_the_column_out(tmp_path, monkeypatch) -> None:
    result = _search(tmp_path, monkeypatch, "--drop", "Fare", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{"):])
    assert summary["dataset"].startswith("titanic.csv (comma-separated): 3 features, 2 classes;")  # Age, Sex_female, Sex_male
    assert "Fare (data.drop)" in summary["dataset"]
    assert summary["trials_run"] == 1
