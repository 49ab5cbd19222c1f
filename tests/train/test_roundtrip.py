"""The model ``tunecli train`` ships loads in a fresh Python process that never imports tunecli and predicts, from
the raw rows, what tunecli's own pipeline predicts (``FeatureTransform.apply``, then the trained network, times the
target's scale) to 1e-5: every catalogue option, digits, generated housing and Titanic-like tables (missing cells,
text, an id, free text), the shared housing.csv where present, a transfer model and MC dropout models. The SavedModel
``--export-saved-model`` writes serves the same predictions from the same raw inputs.

MC dropout models are compared exactly with the same fixed masks the shipped model holds
(``tests.serving.reference.masked``); how close those come to fresh MC passes is ``tests/serving/test_shipped.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import SHARED
from tests.serving import reference
from tests.serving.tables import housing, titanic
from tests.transfer.keras_files import keras_bytes
from tunecli.config import catalogue
from tunecli.config.space import validate_space

pytestmark = pytest.mark.slow


def _configs() -> list[dict]:
    """Every activation, optimizer, schedule, batch-norm placement and dropout kind at least once."""
    acts, opts, scheds, bns = catalogue.ACTIVATIONS, catalogue.OPTIMIZERS, catalogue.SCHEDULES, catalogue.BATCH_NORM
    configs = []
    for i, act in enumerate(acts):
        configs.append({"n_hidden": 2, "n_neurons": 8, "activation": act, "optimizer": opts[i % len(opts)],
                        "schedule": scheds[i % len(scheds)], "batch_norm": bns[i % len(bns)],
                        "dropout": [0.0, 0.2][i % 2], "max_norm": [None, 2.0][i % 2], "l1": [0.0, 1e-4][i % 2],
                        "l2": [1e-4, 0.0][i % 2], "learning_rate": 0.01, "batch_size": 16})
    configs.append({**configs[0], "schedule": "power", "power_c": 2.0})            # power with c != 1 (tunecli's own)
    configs.append({**configs[1], "optimizer": "adamw", "schedule": "one_cycle"})   # 1cycle (tunecli's own)
    configs.append({**configs[0], "dropout": 0.3, "mc_dropout": True, "batch_norm": "before"})   # MC dropout
    configs.append({**configs[4], "dropout": 0.3, "mc_dropout": True, "activation": "selu"})     # MC alpha dropout
    return configs


def test_configs_cover_the_catalogue() -> None:
    configs = _configs()
    for name, values in (("activation", catalogue.ACTIVATIONS), ("optimizer", catalogue.OPTIMIZERS),
                         ("schedule", catalogue.SCHEDULES), ("batch_norm", catalogue.BATCH_NORM)):
        assert {c[name] for c in configs} >= set(values), name


#: Run in a process that never imports tunecli: ``reference.py`` (its ``feed``: the raw rows as a user feeds them),
#: then this, which predicts every case's raw rows with the ``.keras`` file and with the exported SavedModel.
LOAD = """
import json, sys, zipfile
from pathlib import Path
import keras, pandas as pd, tensorflow as tf
cases = json.loads(Path(sys.argv[1]).read_text())
for case in cases:
    record = json.loads(zipfile.ZipFile(case["model"]).read("tunecli.json"))
    rows = pd.read_csv(case["rows"]) if case["rows"].endswith(".csv") else pd.DataFrame(np.load(case["rows"]))
    inputs = feed(record, rows)
    np.save(case["model"] + ".npy", keras.models.load_model(case["model"]).predict(inputs, verbose=0))
    if case["export"]:
        tensors = {k: tf.constant(v) for k, v in inputs.items()} if isinstance(inputs, dict) else tf.constant(inputs)
        served = tf.saved_model.load(case["export"])  # kept in a name: its variables live as long as it does
        np.save(case["export"] + ".npy", served.serve(tensors).numpy())
assert not any(m.startswith("tunecli") for m in sys.modules), "tunecli was imported"
print("loaded", len(cases))
"""


@dataclass
class Case:
    """One model trained by ``train_best`` and saved: its network and job (spied on), its raw rows."""

    path: Path
    rows: Path  # a .csv (a table: the data file itself) or a .npy (an array's raw features)
    export: Path | None = None
    network: Any = None
    job: Any = None
    outcome: Any = None


def _train(case: Case, raw: dict, folder: Path, saved: dict) -> Case:
    from tunecli.train import train_best

    space = validate_space(raw, source=str(folder / "space.yaml"))
    case.outcome = train_best(space, output=case.path, epochs=1, export=case.export)
    case.network, case.job = saved[case.path]
    return case


def _cases(folder: Path) -> list[tuple[Case, dict]]:
    from sklearn.datasets import load_digits, load_iris

    np.save(folder / "iris.npy", load_iris().data)
    np.save(folder / "digits.npy", load_digits().data)
    housing().to_csv(folder / "housing.csv", index=False)
    titanic().to_csv(folder / "titanic.csv", index=False)
    (folder / "base.keras").write_bytes(keras_bytes([8, 6], 4, "elu", n_out=3))
    short = {"max_epochs": 3}
    cases = [(Case(folder / f"{'mc' if c.get('mc_dropout') else 'plain'}-{i:02d}.keras", folder / "iris.npy"),
              {"study": f"rt{i}", "data": {"source": "iris"}, "training": short, "space": c})
             for i, c in enumerate(_configs())]
    cases += [
        (Case(folder / "digits.keras", folder / "digits.npy"),
         {"study": "digits", "data": {"source": "digits"}, "training": short,
          "space": {"n_hidden": 2, "n_neurons": 32, "activation": "elu", "dropout": 0.1, "learning_rate": 0.01}}),
        (Case(folder / "housing.keras", folder / "housing.csv", folder / "housing-savedmodel"),
         {"study": "housing", "data": {"source": "housing.csv", "target": "median_house_value",
                                       "target_scale": 100_000}, "training": short,
          "space": {"n_hidden": 2, "n_neurons": 16, "batch_norm": "after", "learning_rate": 0.01}}),
        (Case(folder / "titanic.keras", folder / "titanic.csv", folder / "titanic-savedmodel"),
         {"study": "titanic", "data": {"source": "titanic.csv", "target": "Survived"}, "training": short,
          "space": {"n_hidden": 2, "n_neurons": 16, "dropout": 0.2, "mc_dropout": True, "learning_rate": 0.01}}),
        (Case(folder / "transfer.keras", folder / "iris.npy"),
         {"study": "transfer", "data": {"source": "iris"}, "transfer": {"from": "base.keras"}, "training": short,
          "space": {"reuse_layers": 1, "activation": "elu", "n_hidden": 2, "n_neurons": 8, "learning_rate": 0.01}}),
    ]
    if (SHARED / "housing.csv").is_file():  # read where it is, never copied
        cases.append((Case(folder / "housing-shared.keras", SHARED / "housing.csv"),
                      {"study": "housing-shared", "data": {"source": str(SHARED / "housing.csv"),
                                                           "target": "median_house_value", "target_scale": 100_000},
                       "training": short, "space": {"n_hidden": 1, "n_neurons": 16, "learning_rate": 0.01}}))
    return cases


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    """Every case trained one epoch by ``train_best`` and saved; loaded back in one process without tunecli."""
    import tunecli.train.command as command

    folder = tmp_path_factory.mktemp("shipped")
    saved: dict[Path, tuple] = {}

    def spy(model: Any, path: Path | None, job: Any, *args: Any, **kwargs: Any) -> Path | None:
        saved[path] = (model, job)
        return real(model, path, job, *args, **kwargs)

    real = command.save
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(command, "save", spy)
        cases = [_train(case, raw, folder, saved) for case, raw in _cases(folder)]
    listing = folder / "cases.json"
    listing.write_text(json.dumps([{"model": str(c.path), "rows": str(c.rows), "export": str(c.export or "")}
                                   for c in cases]))
    script = Path(reference.__file__).read_text() + LOAD
    proc = subprocess.run([sys.executable, "-c", script, str(listing)], capture_output=True, text=True, timeout=900,
                          env={"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return cases


def _frame(case: Case) -> Any:
    import pandas as pd

    if case.rows.suffix == ".csv":
        return pd.read_csv(case.rows)
    return pd.DataFrame(np.load(case.rows), columns=case.job.dataset.transform.columns)


def test_every_case_is_saved_with_its_record(shipped: list[Case]) -> None:
    assert len(shipped) >= len(_configs()) + 4
    for case in shipped:
        with zipfile.ZipFile(case.path) as archive:
            assert "tunecli>" not in archive.read("config.json").decode(), case.path.name  # Keras' own classes only
            record = json.loads(archive.read("tunecli.json"))
        assert record["model"] == "refit" and record["mc_passes"] == case.job.passes
        assert record["scores"]["test"] is not None and record["data"]["rows"] > 0


def test_the_file_alone_predicts_what_tunecli_predicts_from_the_raw_rows(shipped: list[Case]) -> None:
    for case in shipped:
        dataset, passes = case.job.dataset, case.job.passes
        scale = case.job.space.data.target_scale if dataset.task == "regression" else 1.0
        expected = reference.pipeline(case.network, dataset, _frame(case), passes=passes, scale=scale)
        loaded = np.load(f"{case.path}.npy")
        assert loaded.shape == expected.shape, case.path.name
        np.testing.assert_allclose(loaded, expected, rtol=1e-5, atol=1e-5 * scale, err_msg=case.path.name)
        if case.export:
            np.testing.assert_allclose(np.load(f"{case.export}.npy"), loaded, rtol=1e-5, atol=1e-5 * scale)


def test_the_tables_models_take_their_columns_and_say_what_they_ignore(shipped: list[Case]) -> None:
    titanic_case = next(c for c in shipped if c.path.name == "titanic.keras")
    record = json.loads(zipfile.ZipFile(titanic_case.path).read("tunecli.json"))
    assert [(c["name"], c["kind"]) for c in record["columns"]] == [
        ("Pclass", "number"), ("Age", "number"), ("Fare", "number"), ("Sex", "text"), ("Embarked", "text")]
    assert set(record["ignored"]) == {"PassengerId", "Name"} and record["classes"] == ["0", "1"]
    assert record["mc_passes"] == 10 and record["outputs"] == "probabilities"
    house = json.loads(zipfile.ZipFile(next(c for c in shipped if c.path.name == "housing.keras").path)
                       .read("tunecli.json"))
    assert house["outputs"] == "values" and house["target_scale"] == 100_000 and house["layout"] == "table"
    assert house["scores"]["metric"] == "rmse" and house["scores"]["test"] > 1_000  # in dollars, not /100k
