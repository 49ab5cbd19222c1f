from __future__ import annotations

import numpy as np
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
        lines.append(f"{a},{i},{['red', 'blue', 'green'][i % 3]},{'yes' if i % 2 else 'no'}")
    data = load_data(DataSpec(source=str(_csv(tmp_path, "\n".join(lines))), target="label"))
    assert data.task == "classification"
    assert data.class_names == ["no", "yes"]
    assert data.n_features == 5  # a, b and three one-hot columns
    assert np.isfinite(data.x_train).all()


def test_regression_csv_with_target_scale(tmp_path) -> None:
    lines = ["x,y"] + [f"{i},{i * 1000.5}" for i in range(40)]
    data = load_data(DataSpec(source=str(_csv(tmp_path, "\n".join(lines))), target="y", target_scale=1000))
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
    ("x,e,y\n" + "\n".join(f"{i},,{i % 2}" for i in range(30)), {"target": "y"}, "no values at all"),
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
