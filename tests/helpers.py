"""What several test modules share: paths, the installed command, a tiny space and data set, the fast
trainer's structure of a configuration and its Keras twin. Heavy imports (JAX, Keras) stay inside the
functions that need them."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from tunecli.data import Dataset
    from tunecli.trainers.fast.structure import Structure

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
#: The installed ``tunecli`` command (the one next to this Python when it is not on PATH).
TUNECLI = shutil.which("tunecli") or str(Path(sys.executable).with_name("tunecli"))

TINY_SPACE = {
    "study": "tiny",
    "data": {"source": "iris"},
    "search": {"trials": 2, "seed": 1},
    "training": {"max_epochs": 2, "early_stopping": {"patience": 2}},
    "space": {"n_hidden": {"int": [1, 2]}, "n_neurons": {"choice": [8, 16]}, "learning_rate": 0.01},
}


def invoke_in(folder: Path, *args: str) -> Any:
    """Run the ``tunecli`` command with ``args`` in ``folder`` (relative paths resolve there), in process."""
    from typer.testing import CliRunner

    from tunecli.cli import app

    here = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        os.chdir(here)


def journal_study(cwd: Path, name: str) -> optuna.Study:
    """The study ``name`` of the default journal in ``cwd`` (which becomes the working directory)."""
    import optuna

    from tunecli.studies.storage import open_storage

    os.chdir(cwd)
    return optuna.load_study(study_name=name, storage=open_storage(str(cwd / "tunecli.journal")))


def tiny_dataset(task: str = "classification", n_features: int = 5) -> Dataset:
    """40 random rows (3 classes, or a regression target), the same rows in every split."""
    import numpy as np

    from tunecli.data import Dataset

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, n_features)).astype("float32")
    y = (rng.integers(0, 3, 40) if task == "classification" else rng.normal(size=40)).astype(
        "int64" if task == "classification" else "float32")
    return Dataset("tiny", task, x, y, x, y, x, y, n_classes=3 if task == "classification" else 0)


def fast_structure(params: dict, data: Dataset) -> tuple[Structure, list[int], dict]:
    """The fast trainer's structure of ``params`` (defaults filled in), its real widths, and its initial
    weights (rng 1), hyperparameters on the device and configuration: ``(st, widths, {theta, hp, p})``."""
    from tunecli.runtime import init_backend

    init_backend(None)   # before JAX or Keras is first imported
    import jax
    import numpy as np

    from tunecli.config.catalogue import with_defaults
    from tunecli.trainers.fast import initial, structure

    p = with_defaults(params)
    st, widths = structure.structure_of(p, data, p["batch_size"])
    init = initial.initial_theta(p, st, widths, np.random.default_rng(1))
    hp = {**initial.hyper(p, st, steps=3, max_epochs=4), **{k: init[k] for k in ("mask", "reg", "var_id")}}
    return st, widths, {"theta": init["theta"], "hp": jax.device_put(hp), "p": p}


def keras_twin(st: Structure, widths: list[int], theta: Any, bn: tuple, params: dict, data: Dataset) -> tuple:
    """The Keras model ``build_mlp`` makes, holding the fast trainer's weights (unpadded).

    Returns:
        ``(model, dense layers, batch-norm layers, real widths with the input and output)``.
    """
    import numpy as np

    from tunecli.runtime import init_backend

    init_backend(None)
    from tunecli.trainers.fast import structure
    from tunecli.trainers.keras.model import build_mlp, keras

    model = build_mlp(params, data.n_features, data.task, data.n_classes)
    layers = structure.unflatten(st, np.asarray(theta))
    real = [data.n_features, *widths, data.n_classes or 1]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    prelus = [layer for layer in model.layers if isinstance(layer, keras.layers.PReLU)]
    for i, layer in enumerate(dense):
        n_in, n_out = real[i], real[i + 1]
        weights = [layers[i]["kernel"][:n_in, :n_out]] + ([layers[i]["bias"][:n_out]] if layer.use_bias else [])
        layer.set_weights(weights)
    for i, layer in enumerate(prelus):
        layer.set_weights([layers[i]["alpha"][:real[i + 1]]])
    for i, layer in enumerate(norms):
        n = real[i + 1]
        layer.set_weights([layers[i]["gamma"][:n], layers[i]["beta"][:n], np.asarray(bn[i][0])[:n],
                           np.asarray(bn[i][1])[:n]])
    return model, dense, norms, real
