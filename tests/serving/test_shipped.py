"""The model that ships predicts, from the raw rows, what tunecli's own pipeline predicts (``FeatureTransform`` then
the network); a random network stands in for a trained one (the round trip through ``train`` and a process without
tunecli is ``tests/train/test_roundtrip.py``)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.serving.reference import feed, pipeline
from tests.serving.tables import housing, titanic
from tunecli.config.space import DataSpec
from tunecli.data import load_data
from tunecli.runtime import init_backend
from tunecli.serving import metadata
from tunecli.serving.inputs import input_names

init_backend(None)

from tunecli.serving.shipped import ship  # noqa: E402
from tunecli.trainers.keras.model import build_mlp, dropout_masks, keras  # noqa: E402


def _network(dataset, **params):  # noqa: ANN001, ANN003, ANN202
    keras.utils.set_random_seed(0)
    return build_mlp({"n_hidden": 2, "n_neurons": 8, **params}, dataset.n_features, dataset.task, dataset.n_classes)


def _table(tmp_path: Path, frame, target: str, **data) -> tuple:  # noqa: ANN001, ANN003
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return load_data(DataSpec(source=str(path), target=target, **data)), frame.drop(columns=[target])


def test_input_names_are_keras_and_savedmodel_names_and_distinct() -> None:
    names = input_names(["sepal length (cm)", "1st", "Sex", "sex", "é", "values", "a/b", "where", "mean_3", "means"])
    assert names == {"sepal length (cm)": "sepal_length_cm", "1st": "c_1st", "Sex": "Sex", "sex": "sex_2",
                     "é": "c_", "values": "values_2", "a/b": "a_b", "where": "where_column", "mean_3": "mean_3_column",
                     "means": "means"}


@pytest.mark.parametrize("missing", [True, False])
def test_a_table_with_missing_cells_and_text_predicts_as_tunecli_does(tmp_path: Path, missing: bool) -> None:
    dataset, frame = _table(tmp_path, housing(missing=missing), "median_house_value", target_scale=100_000)
    assert dataset.transform.scaling.medians is None or missing
    network = _network(dataset, activation="elu", batch_norm="before")
    model, raw = ship(network, dataset, source=str(tmp_path / "table.csv"), target_scale=100_000)
    rows = frame.copy()  # cells the training rows never had: missing (whether or not they had), infinite, unknown
    rows.loc[:3, "total rooms"] = [np.nan, np.inf, -np.inf, 1e6]
    rows.loc[:3, "ocean_proximity"] = [None, "SPACE", "INLAND", ""]
    rows.loc[4:6, "latitude"] = np.nan
    record = {"layout": raw.layout, "columns": raw.columns}
    np.testing.assert_allclose(model.predict(feed(record, rows), verbose=0),
                               pipeline(network, dataset, rows, scale=100_000), rtol=1e-5, atol=1.0)  # 1e-5 of 100k
    assert [c["input"] for c in raw.columns] == ["longitude", "latitude", "total_rooms", "median_income",
                                                "ocean_proximity"]
    assert model.output.name.startswith("values") or model.layers[-1].name == "values"


def test_identifiers_and_free_text_are_not_inputs(tmp_path: Path) -> None:
    dataset, frame = _table(tmp_path, titanic(), "Survived")
    network = _network(dataset, dropout=0.2)
    model, raw = ship(network, dataset, source=str(tmp_path / "table.csv"))
    assert [c["name"] for c in raw.columns] == ["Pclass", "Age", "Fare", "Sex", "Embarked"]
    assert set(dataset.dropped) == {"PassengerId", "Name"}
    record = {"layout": raw.layout, "columns": raw.columns}
    np.testing.assert_allclose(model.predict(feed(record, frame), verbose=0), pipeline(network, dataset, frame),
                               rtol=1e-5, atol=1e-6)


def test_an_array_source_takes_every_feature_and_ignores_the_dropped_ones() -> None:
    from sklearn.datasets import load_iris

    dataset = load_data(DataSpec(source="iris", drop=["petal width (cm)"]))
    network = _network(dataset)
    model, raw = ship(network, dataset, source="iris")
    raw_x = load_iris().data
    assert raw.layout == "array" and model.input_shape == (None, 4) and dataset.n_features == 3
    import pandas as pd

    frame = pd.DataFrame(raw_x, columns=dataset.transform.columns)
    np.testing.assert_allclose(model.predict({"x": raw_x}, verbose=0), pipeline(network, dataset, frame), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "selu"])  # Dropout; AlphaDropout
def test_mc_dropout_averages_fixed_masks_inside_and_loads_without_tunecli_classes(tmp_path: Path,
                                                                                   activation: str) -> None:
    from sklearn.datasets import load_iris

    from tunecli.trainers.keras.model import predict_mc

    dataset = load_data(DataSpec(source="iris"))
    network = _network(dataset, activation=activation, dropout=0.3, mc_dropout=True, batch_norm="after")
    model, _ = ship(network, dataset, source="iris", passes=20)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert "tunecli>" not in archive.read("config.json").decode()
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    import pandas as pd

    raw_x = load_iris().data
    frame = pd.DataFrame(raw_x, columns=dataset.transform.columns)
    shipped = loaded.predict({"x": raw_x}, verbose=0)
    np.testing.assert_allclose(shipped, pipeline(network, dataset, frame, passes=20), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(shipped, loaded.predict({"x": raw_x}, verbose=0))  # the same masks every time
    many = ship(network, dataset, source="iris", passes=500)[0].predict({"x": raw_x}, verbose=0)
    fresh = predict_mc(network, dataset.transform.apply(frame, dataset.x_train), 500).mean(axis=0)  # fresh masks
    assert np.abs(many - fresh).mean() < 0.02  # two MC estimates of the same mean (measured: 0.007 to 0.01)
    assert not np.allclose(shipped, network.predict(dataset.transform.apply(frame, dataset.x_train), verbose=0))
    masks = dropout_masks(network, 20)
    assert len(masks) == 2 and masks[0][0].shape == (20, 1, 8)


def test_the_record_is_json_and_names_each_input(tmp_path: Path) -> None:
    dataset, _ = _table(tmp_path, titanic(), "Survived")
    _, raw = ship(_network(dataset), dataset, source=str(tmp_path / "table.csv"))
    kinds = {c["name"]: c["kind"] for c in json.loads(json.dumps(raw.columns))}
    assert kinds == {"Pclass": "number", "Age": "number", "Fare": "number", "Sex": "text", "Embarked": "text"}


def test_a_shipped_model_is_reusable_by_transfer_as_its_network(tmp_path: Path) -> None:
    from tunecli.transfer.keras_file import read_keras_file

    dataset, _ = _table(tmp_path, housing(), "median_house_value", target_scale=100_000)
    network = _network(dataset, dropout=0.2, mc_dropout=True, batch_norm="before", activation="elu")
    model, _ = ship(network, dataset, source=str(tmp_path / "table.csv"), target_scale=100_000, passes=5)
    model.save(tmp_path / "m.keras")
    metadata.write(tmp_path / "m.keras", {"task": "regression"})
    layers = read_keras_file(tmp_path / "m.keras")
    dense = [layer for layer in network.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.kernel.shape for layer in layers] == [tuple(d.kernel.shape) for d in dense]
    assert [layer.activation for layer in layers] == ["elu", "elu", None]
    assert layers[0].kernel.shape[0] == dataset.n_features  # the preprocessed features, as the network took them
