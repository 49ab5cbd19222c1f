from __future__ import annotations

import time
import zipfile

import numpy as np
import pandas as pd
import pytest

from tunecli.config.space import DataSpec
from tunecli.data import load_data
from tunecli.errors import DataError


@pytest.mark.parametrize("name,task", [("digits", "classification"), ("iris", "classification"),
                                       ("wine", "classification"), ("breast_cancer", "classification"),
                                       ("diabetes", "regression")])
def test_builtin_sets(name: str, task: str) -> None:
    data = load_data(DataSpec(source=name))
    assert data.task == task
    total = len(data.x_train) + len(data.x_val) + len(data.x_test)
    assert abs(len(data.x_test) / total - 0.2) < 0.02
    assert data.x_train.dtype == np.float32
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-4)


def test_splits_are_seeded_and_disjoint() -> None:
    a = load_data(DataSpec(source="wine", seed=3))
    b = load_data(DataSpec(source="wine", seed=3, validation=0.2000001))
    np.testing.assert_array_equal(a.x_val, b.x_val)
    rows = {tuple(r) for r in np.concatenate([a.x_train, a.x_val, a.x_test]).round(5)}
    assert len(rows) == len(a.x_train) + len(a.x_val) + len(a.x_test)


def _csv(tmp_path, text: str):
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_csv_missing_values_categories_and_string_labels(tmp_path) -> None:
    rng = np.random.default_rng(0)
    lines = ["a,b,color,label"]
    for i in range(60):
        a = "" if i % 7 == 0 else f"{rng.normal():.3f}"
        lines.append(f"{a},{i % 9},{['red', 'blue', 'green'][i % 3]},{'yes' if i % 2 else 'no'}")
    data = load_data(DataSpec(source=str(_csv(tmp_path, "\n".join(lines))), target="label"))
    assert data.task == "classification"
    assert data.class_names == ["no", "yes"]
    assert data.feature_names == ["a", "b", "color_blue", "color_green", "color_red"]
    assert data.dropped == {}
    assert np.isfinite(data.x_train).all()


def test_an_integer_row_number_is_left_out_unless_kept(tmp_path) -> None:
    lines = ["x,y"] + [f"{i},{i * 1000.5}" for i in range(40)]
    path = str(_csv(tmp_path, "\n".join(lines)))
    with pytest.raises(DataError) as info:
        load_data(DataSpec(source=path, target="y"))
    assert "no feature columns are left (left out: x (identifier))" in info.value.message
    data = load_data(DataSpec(source=path, target="y", keep=["x"]))
    assert data.feature_names == ["x"] and data.dropped == {}


def test_regression_csv_with_target_scale(tmp_path) -> None:
    lines = ["x,y"] + [f"{i * 0.25},{i * 1000.5}" for i in range(40)]  # a unique float is a measurement, kept
    data = load_data(DataSpec(source=str(_csv(tmp_path, "\n".join(lines))), target="y", target_scale=1000))
    assert data.feature_names == ["x"]
    assert data.task == "regression"
    assert data.y_train.max() < 41


def test_npz(tmp_path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.random.rand(50, 4, 4), y=np.arange(50) % 3)
    data = load_data(DataSpec(source=str(path)))
    assert data.n_features == 16 and data.n_classes == 3


@pytest.mark.parametrize("content,spec,fragment", [
    (None, {"source": "nope.csv"}, "no such file"),
    ("x,y\n" + "\n".join(f"{i},{i}" for i in range(30)), {"target": "z"}, "target column 'z' not found"),
    ("x,y\n" + "\n".join(f"{i},{i}" for i in range(30)), {}, "needs a target column"),
    ("x,y\n" + "\n".join(f"{i},{i}" for i in range(5)), {"target": "y"}, "only 5 rows"),
    ("x,y\n" + "\n".join(f"{i},cat{i}" for i in range(30)), {"target": "y", "task": "regression"}, "not numeric"),
    ("x,y\n" + "\n".join(f"{i},a" for i in range(30)), {"target": "y"}, "single class"),
    ("x,e,y\n" + "\n".join(f"{i},,{i % 2}" for i in range(30)), {"target": "y", "keep": ["e"]}, "no values at all"),
    ("x,y\n1,2\n3,4,5,6\n" + "\n".join(f"{i},{i}" for i in range(30)), {"target": "y"}, "cannot parse"),
    ("", {"target": "y"}, "empty"),
])
def test_bad_data(tmp_path, content, spec, fragment) -> None:
    source = str(_csv(tmp_path, content)) if content is not None else str(tmp_path / "nope.csv")
    with pytest.raises(DataError) as info:
        load_data(DataSpec(**{"source": source, **{k: v for k, v in spec.items() if k != "source"}}))
    assert fragment in info.value.render()
    assert "data." in info.value.render()


def test_housing_csv(shared_data) -> None:
    data = load_data(DataSpec(source=str(shared_data / "housing.csv"), target="median_house_value",
                              target_scale=100_000))
    assert data.task == "regression"
    assert data.n_features == 13
    assert np.isfinite(data.x_train).all()
    assert 0.1 < float(np.median(data.y_train)) < 5.5


def test_downloadable_sets_fail_offline_with_one_clear_message(monkeypatch) -> None:
    from tunecli.runtime import import_keras, init_backend

    init_backend(None)
    keras = import_keras()

    def offline():
        raise OSError("URL fetch failure: no network")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(DataError) as info:
        load_data(DataSpec(source="fashion_mnist", seed=12345))
    text = info.value.render()
    assert text.startswith("fashion_mnist: data.source:") and "download failed" in text


# --- bad files: each one DataError naming the file and the field --------------------------------------------------

ROWS = "\n".join(f"{i * 0.5},{i % 2}" for i in range(30))

BAD_CSV = [
    ("empty", "", {}, "data.source", "the file is empty"),
    ("header only", "x,y\n", {}, "data.source", "has a header (x, y) but no rows"),
    ("one row", "x,y\n1.5,0\n", {}, "data.source", "only 1 row;"),
    ("longer first row", "x,y\n1,2,3\n" + ROWS, {}, "data.source", "rows have more fields than the header"),
    ("longer later row", "x,y\n" + ROWS + "\n1,2,3\n", {}, "data.source", "cannot parse the table"),
    ("short row", "x,y\n1\n" + ROWS, {}, "data.target", "the target has 1 missing value;"),
    ("constant regression target", "x,y\n" + "\n".join(f"{i * 0.5},3.5" for i in range(30)), {},
     "data.target", "the target is constant (every row is 3.5)"),
    ("constant class", "x,y\n" + "\n".join(f"{i * 0.5},a" for i in range(30)), {}, "data.target", "single class ('a')"),
    ("one row per class", "x,y\n" + "\n".join(f"{i * 0.5},c{i}" for i in range(30)), {},
     "data.target", "a different value in every row (30 classes for 30 rows)"),
    ("inf in target", "x,y\n" + "\n".join(f"{i * 0.5},{'inf' if i == 4 else i * 1.5}" for i in range(30)), {},
     "data.target", "the target has 1 infinite value;"),
    ("missing text label", "x,y\n" + "\n".join(f"{i * 0.5},{'' if i % 10 == 0 else 'ab'[i % 2]}" for i in range(30)), {},
     "data.target", "the target has 3 missing values;"),
    ("drop unknown", "x,y\n" + ROWS, {"drop": ["z"]}, "data.drop", "cannot drop 'z': no such column; columns: x, y"),
    ("keep unknown", "x,y\n" + ROWS, {"keep": ["z"]}, "data.keep", "cannot keep 'z': no such column; columns: x, y"),
    ("drop everything", "x,y\n" + ROWS, {"drop": ["x"]}, "data.drop", "no feature columns are left"),
]


@pytest.mark.parametrize("content,spec,field,fragment", [c[1:] for c in BAD_CSV], ids=[c[0] for c in BAD_CSV])
def test_bad_csv_gives_one_data_error(tmp_path, content, spec, field, fragment) -> None:
    path = _csv(tmp_path, content)
    with pytest.raises(DataError) as info:
        load_data(DataSpec(source=str(path), target="y", **spec))
    assert info.value.field == field
    assert fragment in info.value.message
    assert info.value.source.endswith("t.csv")
    assert info.value.render() == f"{info.value.source}: {field}: {info.value.message}"


def test_inf_in_features_is_treated_as_missing(tmp_path) -> None:
    lines = ["x,z,y"] + [f"{'inf' if i % 5 == 0 else i * 0.5},{'-inf' if i % 2 else 1.5},{i % 2}" for i in range(30)]
    data = load_data(DataSpec(source=str(_csv(tmp_path, "\n".join(lines))), target="y"))
    assert data.feature_names == ["x", "z"] and data.dropped == {}
    assert np.isfinite(np.concatenate([data.x_train, data.x_val, data.x_test])).all()


def test_an_all_inf_column_has_no_values(tmp_path) -> None:
    lines = ["x,z,y"] + [f"inf,{i * 0.5},{i % 2}" for i in range(30)]
    data = load_data(DataSpec(source=str(_csv(tmp_path, "\n".join(lines))), target="y"))
    assert data.dropped == {"x": "no values at all"} and data.feature_names == ["z"]


def test_too_few_rows_per_class_to_stratify_splits_at_random(tmp_path) -> None:
    lines = ["x,y"] + [f"{i * 0.5},c{i % 10}" for i in range(30)]  # 3 rows per class, a test split of 6 rows
    data = load_data(DataSpec(source=str(_csv(tmp_path, "\n".join(lines))), target="y"))
    assert data.n_classes == 10
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (18, 6, 6)


def test_ten_thousand_columns_load_in_seconds(tmp_path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.integers(0, 5, size=(40, 10_000)), columns=[f"c{i}" for i in range(10_000)])
    frame["c0"] = np.arange(40)  # one row number among them
    frame["y"] = np.arange(40) % 2
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    started = time.perf_counter()
    data = load_data(DataSpec(source=str(path), target="y"))
    assert time.perf_counter() - started < 15  # about 2 s here; generous for a busy machine
    assert data.n_features == 9_999 and data.dropped == {"c0": "identifier"}


def _npz(tmp_path, name: str = "d.npz", **arrays) -> str:
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize("arrays,fragment", [
    ({"a": np.ones((30, 2))}, "needs arrays named x and y; found: a"),
    ({"x": np.ones((30, 2)), "y": np.ones(20)}, "x has 30 rows but y has 20"),
    ({"x": np.ones(30), "y": np.ones(30)}, "features must be a numeric array with one row per sample"),
    ({"x": np.ones((30, 2)), "y": np.ones((30, 3)) * 2}, "y must hold one value per row"),
])
def test_bad_npz_gives_one_data_error(tmp_path, arrays, fragment) -> None:
    with pytest.raises(DataError) as info:
        load_data(DataSpec(source=_npz(tmp_path, **arrays)))
    assert info.value.field == "data.source" and "d.npz" in info.value.render()
    assert fragment in info.value.message


def test_npz_that_is_not_an_archive(tmp_path) -> None:
    (tmp_path / "d.npz").write_text("x,y\n1,2\n")
    with pytest.raises(DataError) as info:
        load_data(DataSpec(source=str(tmp_path / "d.npz")))
    assert "not an .npz archive" in info.value.message and "d.npz" in info.value.render()
    assert not zipfile.is_zipfile(tmp_path / "d.npz")


def test_npz_one_hot_labels_and_an_empty_column(tmp_path) -> None:
    x = np.c_[np.random.rand(30, 2), np.full(30, np.nan)]
    data = load_data(DataSpec(source=_npz(tmp_path, x=x, y=np.eye(3)[np.arange(30) % 3])))
    assert data.n_classes == 3 and data.n_features == 2
    assert data.dropped == {"x2": "no values at all"}


def test_array_columns_can_be_dropped_by_name(tmp_path) -> None:
    data = load_data(DataSpec(source=_npz(tmp_path, x=np.random.rand(30, 3), y=np.arange(30) % 3), drop=["x1"]))
    assert data.feature_names == ["x0", "x2"] and data.dropped == {"x1": "data.drop"}
    with pytest.raises(DataError) as info:
        load_data(DataSpec(source="iris", keep=["petal"]))
    assert info.value.field == "data.keep" and "petal length (cm)" in info.value.message


@pytest.mark.parametrize("name", ["d.txt", "d"])
def test_unknown_suffix(tmp_path, name) -> None:
    (tmp_path / name).write_text("x,y\n1,2\n")
    with pytest.raises(DataError) as info:
        load_data(DataSpec(source=str(tmp_path / name), target="y"))
    assert info.value.field == "data.source" and "unsupported file" in info.value.message
    assert ".csv, .parquet or .npz" in info.value.message
