"""``read_unlabeled``: the rows an autoencoder pretrains on, preprocessed exactly like the data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tunecli.config.space import SearchSpace, validate_space
from tunecli.data import Dataset, load_data
from tunecli.errors import SpaceError
from tunecli.transfer import read_unlabeled

COLORS = ["red", "green", "blue"]


def table(n: int = 90, seed: int = 0) -> pd.DataFrame:
    """Numbers (one with missing cells), a text column, an identifier (left out on its own) and the target."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n).round(3)
    a[::9] = np.nan
    return pd.DataFrame({"id": [f"row-{i}" for i in range(n)], "a": a, "b": rng.integers(0, 9, n).astype(float),
                         "color": [COLORS[i % 3] for i in range(n)], "y": [i % 2 for i in range(n)]})


@pytest.fixture
def setup(tmp_path: Path) -> tuple[SearchSpace, Dataset, pd.DataFrame]:
    frame = table()
    frame.to_csv(tmp_path / "data.csv", index=False)
    space = validate_space({"data": {"source": "data.csv", "target": "y", "train_rows": 30},
                            "pretrain": {"unlabeled": "rest"}}, source=str(tmp_path / "space.yaml"))
    return space, load_data(space.data, base_dir=tmp_path), frame


def read(space: SearchSpace, name: str | None, data: Dataset) -> np.ndarray:
    return read_unlabeled(name, space, data, Path(space.path).parent)


def sorted_rows(x: np.ndarray) -> np.ndarray:
    return x[np.lexsort(x.T[::-1])]


def test_null_is_the_training_rows_and_rest_the_rows_left_out(setup: Any) -> None:
    space, data, _ = setup
    assert read(space, None, data) is data.x_train
    assert read(space, "rest", data) is data.x_rest and len(data.x_rest) == len(table()) * 0.6 - 30


def test_a_file_of_the_same_rows_is_preprocessed_exactly_like_the_data(setup: Any, tmp_path: Path) -> None:
    space, data, frame = setup
    frame.drop(columns=["y"]).to_csv(tmp_path / "same.csv", index=False)
    rows = read(space, "same.csv", data)
    every = np.concatenate([data.x_train, data.x_val, data.x_test, data.x_rest])
    assert rows.dtype == np.float32 and rows.shape == every.shape
    np.testing.assert_allclose(sorted_rows(rows), sorted_rows(every), atol=1e-6)


def test_an_empty_target_column_and_absent_left_out_columns_are_fine(setup: Any, tmp_path: Path) -> None:
    space, data, frame = setup
    frame.assign(y=np.nan).drop(columns=["id"]).to_csv(tmp_path / "u.csv", index=False)
    assert read(space, "u.csv", data).shape == (len(frame), data.n_features)


def test_an_unseen_category_is_all_zero_and_a_missing_cell_takes_the_training_median(tmp_path: Path) -> None:
    frame = table().assign(a=lambda f: f["a"].fillna(0.5))  # no missing cell in the data: no medians were kept
    frame.to_csv(tmp_path / "data.csv", index=False)
    space = validate_space({"data": {"source": "data.csv", "target": "y"}}, source=str(tmp_path / "space.yaml"))
    data = load_data(space.data, base_dir=tmp_path)
    pd.DataFrame({"a": [np.nan], "b": [np.inf], "color": ["purple"]}).to_csv(tmp_path / "u.csv", index=False)
    row = read(space, "u.csv", data)[0]
    names = data.feature_names
    scaling = data.transform.scaling
    for color in COLORS:  # 0 in every one-hot column, then standardized like them
        j = names.index(f"color_{color}")
        assert row[j] == pytest.approx(-scaling.mean[j] / scaling.std[j], abs=1e-6)
    for column in ("a", "b"):
        j = names.index(column)
        assert row[j] == pytest.approx(np.median(data.x_train[:, j]), abs=1e-6)


def test_rest_without_rows_left_out(tmp_path: Path) -> None:
    space = validate_space({"data": {"source": "iris"}, "pretrain": {"unlabeled": "rest"}}, source="space.yaml")
    with pytest.raises(SpaceError, match="data.classes or data.train_rows") as info:
        read_unlabeled("rest", space, load_data(space.data), None)
    assert info.value.field == "pretrain.unlabeled"


@pytest.mark.parametrize("name,write,fragment", [
    ("u.csv", lambda f: f.drop(columns=["y", "b"]).assign(z=1), "missing b; extra z"),
    ("u.csv", lambda f: f.drop(columns=["a", "b", "color", "y"]), "missing a, b, color"),
    ("u.csv", lambda f: f, "the target 'y' holds 90 values"),
    ("u.csv", lambda f: f.drop(columns=["y"]).assign(b="many"), "column 'b' holds text"),
    ("u.csv", "", "the file is empty"),
    ("u.csv", None, "no such file"),
    ("u.xlsx", lambda f: f, "unsupported file type '.xlsx'"),
    ("u.npz", lambda f: np.zeros((5, 4)), "the data has text columns"),
])
def test_unlabeled_rows_that_do_not_fit(setup: Any, tmp_path: Path, name: str, write: Any, fragment: str) -> None:
    space, data, frame = setup
    path = tmp_path / name
    if isinstance(write, str):
        path.write_text(write)
    elif write is not None:
        content = write(frame)
        np.savez(path, x=content) if name.endswith(".npz") else content.to_csv(path, index=False)
    with pytest.raises(SpaceError) as info:
        read(space, name, data)
    text = str(info.value)
    assert info.value.field == "pretrain.unlabeled" and fragment in text and name in text and "space.yaml" in text, text


@pytest.fixture
def arrays(tmp_path: Path) -> tuple[SearchSpace, Dataset, np.ndarray]:
    rng = np.random.default_rng(2)
    x = rng.integers(0, 16, size=(120, 8)).astype(float)
    x[:, 3] = 0.0  # constant: scaled by 1
    np.savez(tmp_path / "data.npz", x=x, y=np.arange(120) % 3)
    space = validate_space({"data": {"source": "data.npz", "drop": ["x5"]}}, source=str(tmp_path / "space.yaml"))
    return space, load_data(space.data, base_dir=tmp_path), x


def test_arrays_from_an_npz_file_and_a_folder(arrays: Any, tmp_path: Path) -> None:
    space, data, x = arrays
    every = np.concatenate([data.x_train, data.x_val, data.x_test])
    np.savez(tmp_path / "u.npz", x=x, y=np.full(len(x), np.nan))  # an empty target is fine
    np.testing.assert_allclose(sorted_rows(read(space, "u.npz", data)), sorted_rows(every), atol=1e-6)
    (tmp_path / "folder").mkdir()
    np.savez(tmp_path / "folder" / "x_train.npz", x[:100])
    np.savez(tmp_path / "folder" / "x_test.npz", x[100:])
    np.testing.assert_allclose(sorted_rows(read(space, "folder", data)), sorted_rows(every), atol=1e-6)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)]).drop(columns=["x5"])  # a table of the same columns
    frame.to_csv(tmp_path / "u.csv", index=False)
    np.testing.assert_allclose(sorted_rows(read(space, "u.csv", data)), sorted_rows(every), atol=1e-6)


@pytest.mark.parametrize("name,arrays_in_file,fragment", [
    ("u.npz", {"x": np.zeros((4, 7))}, "7 feature values but the data's source has 8"),
    ("u.npz", {"x": np.zeros((4, 8)), "y": np.arange(4)}, "the target y holds 4 values"),
    ("u.npz", {"features_": np.zeros((4, 8))}, "needs an array named x"),
    ("u.npz", {"x": np.array(["a"] * 8).reshape(1, 8)}, "numeric array"),
])
def test_arrays_that_do_not_fit(arrays: Any, tmp_path: Path, name: str, arrays_in_file: dict, fragment: str) -> None:
    space, data, _ = arrays
    np.savez(tmp_path / name, **arrays_in_file)
    with pytest.raises(SpaceError, match=fragment):
        read(space, name, data)


def test_a_folder_without_x_train(arrays: Any, tmp_path: Path) -> None:
    space, data, _ = arrays
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpaceError, match="needs x_train.npz"):
        read(space, "empty", data)
