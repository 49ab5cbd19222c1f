"""``data.classes`` and ``data.train_rows``: the rows kept, and the rows left out (``x_rest``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tunecli.config.space import DataSpec
from tunecli.data import load_data
from tunecli.errors import DataError, SpaceError


def test_classes_keep_those_rows_and_leave_the_others_out() -> None:
    data = load_data(DataSpec(source="digits", classes=[4, 9]))
    target = load_digits().target
    kept = int(np.isin(target, [4, 9]).sum())
    assert data.class_names == ["4", "9"] and data.n_classes == 2
    assert set(np.unique(data.y_train)) == {0, 1}
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == kept
    assert data.x_rest is not None and data.x_rest.shape == (len(target) - kept, 64) and data.x_rest.dtype == np.float32


def test_no_subset_leaves_no_rest() -> None:
    data = load_data(DataSpec(source="iris"))
    assert data.x_rest is None
    assert load_data(DataSpec(source="iris", train_rows=10_000)).x_rest is None  # more than there are: all kept


def test_train_rows_caps_the_training_split_stratified() -> None:
    full = load_data(DataSpec(source="digits"))
    capped = load_data(DataSpec(source="digits", train_rows=100))
    assert capped is not full  # the cache keys on every data setting
    assert len(capped.x_train) == 100 and np.bincount(capped.y_train).min() >= 9  # 10 classes, 10 rows each
    np.testing.assert_array_equal(capped.y_val, full.y_val)  # validation and test splits as they were
    np.testing.assert_array_equal(capped.y_test, full.y_test)
    assert capped.x_rest is not None and len(capped.x_rest) == len(full.x_train) - 100
    np.testing.assert_allclose(capped.x_train.mean(axis=0), 0, atol=1e-4)  # scaled on the rows trained on


def test_train_rows_on_a_regression_and_a_seed() -> None:
    a = load_data(DataSpec(source="diabetes", train_rows=50, seed=1))
    b = load_data(DataSpec(source="diabetes", train_rows=50, seed=1, validation=0.2000001))
    assert len(a.x_train) == 50 and a.x_rest is not None
    np.testing.assert_array_equal(a.y_train, b.y_train)


def test_fewer_train_rows_than_classes_is_a_random_sample() -> None:
    data = load_data(DataSpec(source="digits", train_rows=5))
    assert len(data.x_train) == 5


def _csv(tmp_path: Path, lines: list[str]) -> str:
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_classes_match_text_and_numbers(tmp_path: Path) -> None:
    text = _csv(tmp_path, ["a,label"] + [f"{i * 0.37 % 5:.2f},{['cat', 'dog', 'eel'][i % 3]}" for i in range(90)])
    data = load_data(DataSpec(source=text, target="label", classes=["cat", "eel"]))
    assert data.class_names == ["cat", "eel"] and data.x_rest is not None and len(data.x_rest) == 30
    floats = _csv(tmp_path, ["a,y"] + [f"{i * 0.37 % 5:.2f},{i % 3}.0" for i in range(90)])
    data = load_data(DataSpec(source=floats, target="y", task="classification", classes=[0, "2"]))
    assert data.n_classes == 2 and len(data.x_rest) == 30


def test_rows_without_a_target_outside_the_classes_go_to_the_rest(tmp_path: Path) -> None:
    source = _csv(tmp_path, ["a,y"] + [f"{i * 0.37 % 5:.2f},{'' if i % 4 == 0 else i % 2}" for i in range(80)])
    with pytest.raises(DataError, match="missing"):
        load_data(DataSpec(source=source, target="y", task="classification"))
    data = load_data(DataSpec(source=source, target="y", task="classification", classes=[0, 1]))
    assert data.x_rest is not None and len(data.x_rest) == 20


def test_an_unknown_class_names_the_values_the_target_takes() -> None:
    with pytest.raises(SpaceError) as info:
        load_data(DataSpec(source="digits", classes=[4, 12, "x"]))
    text = str(info.value)
    assert info.value.field == "data.classes" and "12, x" in text and "0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in text


def test_many_values_are_cut_short(tmp_path: Path) -> None:
    source = _csv(tmp_path, ["a,y"] + [f"{i % 7},c{i % 40:02d}" for i in range(200)])
    with pytest.raises(SpaceError) as info:
        load_data(DataSpec(source=source, target="y", classes=["c01", "nope"]))
    assert "c19 … (40 values in all)" in str(info.value) and "c20" not in str(info.value)


def test_classes_on_a_regression_are_refused() -> None:
    with pytest.raises(SpaceError, match="regression") as info:
        load_data(DataSpec(source="diabetes", classes=[1, 2]))
    assert info.value.field == "data.classes"


def test_too_few_rows_of_the_classes(tmp_path: Path) -> None:
    source = _csv(tmp_path, ["a,y"] + [f"{i % 7},{'rare' if i < 5 else 'odd' if i < 15 else 'common'}" for i in range(60)])
    with pytest.raises(DataError, match="only 15 rows of the classes in data.classes") as info:
        load_data(DataSpec(source=source, target="y", classes=["rare", "odd"]))
    assert info.value.field == "data.classes"
