"""The model ``tunecli train`` ships loads in a fresh Python process that never imported tunecli,
for every catalogue option, and predicts what the trained model predicted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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


LOAD = """
import json, sys
from pathlib import Path
import numpy as np
import keras
folder = Path(sys.argv[1])
x = np.load(folder / "x.npy")
plain = sorted(folder.glob("plain-*.keras"))
assert not any(m.startswith("tunecli") for m in sys.modules)
for path in plain:  # before tunecli is imported
    np.save(path.with_suffix(".npy"), keras.models.load_model(path).predict(x, verbose=0))
import tunecli.trainers.keras.model  # MC dropout layers are tunecli's own (documented)
layers = {}
for path in sorted(folder.glob("mc-*.keras")):
    model = keras.models.load_model(path)
    np.save(path.with_suffix(".npy"), model.predict(x, verbose=0))
    layers[path.name] = [type(layer).__name__ for layer in model.layers]
print(json.dumps(layers))
"""


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list]:
    """Every configuration trained one epoch by ``train_best`` and saved; loaded back in one fresh process."""
    from tunecli.config.space import DataSpec
    from tunecli.data import load_data
    from tunecli.train import train_best

    folder = tmp_path_factory.mktemp("shipped")
    np.save(folder / "x.npy", load_data(DataSpec(source="iris")).x_test)
    outcomes = []
    for i, config in enumerate(_configs()):
        space = validate_space({"study": f"rt{i}", "data": {"source": "iris"}, "training": {"max_epochs": 3},
                                "space": config})
        kind = "mc" if config.get("mc_dropout") else "plain"
        outcomes.append(train_best(space, output=folder / f"{kind}-{i:02d}.keras", epochs=1))
    proc = subprocess.run([sys.executable, "-c", LOAD, str(folder)], capture_output=True, text=True, timeout=600,
                          env={"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder, json.loads(proc.stdout.splitlines()[-1]), outcomes


@pytest.mark.parametrize("i", range(len(_configs())))
def test_saved_model_loads_without_tunecli_and_predicts_the_same(i: int, shipped: tuple[Path, dict, list]) -> None:
    import keras

    folder, mc_layers, outcomes = shipped
    outcome = outcomes[i]
    assert outcome.model_path.exists() and np.isfinite(outcome.test_score)
    loaded = np.load(outcome.model_path.with_suffix(".npy"))
    x = np.load(folder / "x.npy")
    assert loaded.shape == (len(x), 3)
    if outcome.model_path.name.startswith("mc-"):
        assert any(name.startswith("MC") for name in mc_layers[outcome.model_path.name])
        assert outcome.mc_passes == 10  # scored on the mean of MC passes
        return
    here = keras.models.load_model(outcome.model_path).predict(x, verbose=0)
    np.testing.assert_allclose(loaded, here, rtol=1e-5, atol=1e-6)
