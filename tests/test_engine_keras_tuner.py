"""The Keras Tuner engine end to end on tiny data; trials land in the Optuna study."""

from __future__ import annotations

import json
import subprocess

import keras_tuner as kt
import optuna
import pytest

from tunecli.engines._keras_tuner import declare
from tunecli.space import validate_space

from .test_cli_e2e import ROOT, TUNECLI, _study

SPACE = {"space": {"optimizer": {"choice": ["adam", "momentum"]},
                   "momentum": {"float": [0.8, 0.99], "when": {"optimizer": ["momentum"]}},
                   "n_neurons": {"int": [8, 64], "log": True}, "dropout": 0.1}}


def test_declare_respects_conditions() -> None:
    space = validate_space(SPACE)
    for optimizer in ("adam", "momentum"):
        hp = kt.HyperParameters()
        hp.values["optimizer"] = optimizer
        params = declare(hp, space)
        assert ("momentum" in params) == (params["optimizer"] == "momentum")
        assert params["dropout"] == 0.1 and 8 <= params["n_neurons"] <= 64


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["random", "bayesian", "hyperband"])
def test_each_algorithm_end_to_end(tmp_path, algorithm: str) -> None:
    proc = subprocess.run([TUNECLI, "search", str(ROOT / "search_spaces" / "quickstart.yaml"), "--engine",
                           "keras-tuner", "--algorithm", algorithm, "--trials", "2", "--max-epochs", "2", "--json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["best"]["state"] == "COMPLETE"
    study = _study(tmp_path, "digits-quickstart")
    assert study.user_attrs["engine"] == "keras-tuner"
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert done and all(t.user_attrs["epochs"] <= 2 for t in done)
    for t in done:
        assert ("momentum" in t.params) == (t.params["optimizer"] == "momentum")
    assert (tmp_path / "tunecli-runs" / "digits-quickstart" / "keras-tuner").is_dir()
    rep = subprocess.run([TUNECLI, "report", "--format", "json"], cwd=tmp_path, capture_output=True, text=True)
    assert len(json.loads(rep.stdout)["trials"]) == len(study.trials)
