"""From a data file to predictions on rows the search never saw, through the installed command: ``search`` (tiny),
``train --output``, then ``predict`` on new rows and on the test split; the predictions are the saved model's own,
loaded by Keras alone, and the test split scores what ``train`` said."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import TUNECLI

SPACE = {
    "study": "e2e", "data": {"source": "train.csv", "target": "y"},
    "search": {"trials": 2, "seed": 1, "rerank": {"top": 0}},
    "training": {"max_epochs": 4, "early_stopping": {"patience": 4}},
    "space": {"n_hidden": 1, "n_neurons": {"choice": [8, 16]}, "learning_rate": 0.01},
}


def people(n: int, seed: int) -> pd.DataFrame:
    """An id, a number with missing cells, a text category, and a label that depends on both."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n).round(1)
    region = rng.choice(["north", "south", "east"], n)
    label = np.where(age + 15 * (region == "north") > 45, "yes", "no")
    age[::7] = np.nan
    return pd.DataFrame({"id": np.arange(n) + 1000 * seed, "age": age, "region": region, "y": label})


def tunecli(folder: Path, *args: str) -> str:
    proc = subprocess.run([TUNECLI, *args], cwd=folder, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def own_predictions(path: Path, frame: pd.DataFrame) -> np.ndarray:
    """The saved model's predictions, fed as its metadata says: one input per column (NaN, "" for a missing cell)."""
    import keras
    import tensorflow as tf

    from tunecli.serving import metadata

    record = metadata.read(path)
    inputs = {}
    for column in record["columns"]:
        values = frame[column["name"]]
        if column["kind"] == "text":
            inputs[column["input"]] = tf.constant(values.fillna("").astype(str).to_numpy(dtype=object).reshape(-1, 1))
        else:
            inputs[column["input"]] = values.to_numpy("float32").reshape(-1, 1)
    return np.asarray(keras.models.load_model(path).predict(inputs, verbose=0))


@pytest.mark.slow  # a search, a refit and predictions through the installed command
def test_search_train_predict_on_rows_the_search_never_saw(tmp_path: Path) -> None:
    people(150, seed=1).to_csv(tmp_path / "train.csv", sep=";", index=False)
    fresh = people(40, seed=2)
    fresh.to_csv(tmp_path / "new.csv", index=False)
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(SPACE))
    tunecli(tmp_path, "search", "space.yaml")
    trained = json.loads(tunecli(tmp_path, "train", "e2e-best.yaml", "--output", "m.keras", "--json"))

    tunecli(tmp_path, "predict", "m.keras", "new.csv", "--proba", "--output", "preds.csv")
    written = pd.read_csv(tmp_path / "preds.csv")
    expected = own_predictions(tmp_path / "m.keras", fresh)
    np.testing.assert_allclose(written[["proba_no", "proba_yes"]].to_numpy(), expected, rtol=1e-5, atol=1e-6)
    assert written["prediction"].tolist() == [["no", "yes"][i] for i in expected.argmax(axis=1)]

    split = json.loads(tunecli(tmp_path, "predict", "m.keras", "--test-split", "e2e-best.yaml", "--json"))
    assert split["score"]["metric"] == "accuracy" and split["score"]["rows"] == 30
    assert split["score"]["value"] == pytest.approx(trained["test_score"], abs=1e-9)
