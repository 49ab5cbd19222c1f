"""The Keras Tuner engine end to end on tiny data; trials land in the Optuna study."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import keras_tuner as kt
import optuna
import pytest

from tests.helpers import ROOT, TUNECLI, journal_study
from tunecli.config.space import validate_space
from tunecli.search.engines._keras_tuner import RUNS_DIR, declare, project_folder
from tunecli.studies import attrs
from tunecli.studies.attrs import KERAS_TUNER_PROJECT

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
    study = journal_study(tmp_path, "digits-quickstart")
    assert study.user_attrs[attrs.ENGINE] == "keras-tuner"
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert done and all(t.user_attrs[attrs.EPOCHS] <= 2 for t in done)
    for t in done:
        assert ("momentum" in t.params) == (t.params["optimizer"] == "momentum")
    project = study.user_attrs[KERAS_TUNER_PROJECT]
    assert project.startswith("digits-quickstart-") and (tmp_path / RUNS_DIR / project / "keras-tuner").is_dir()
    rep = subprocess.run([TUNECLI, "report", "--format", "json"], cwd=tmp_path, capture_output=True, text=True)
    assert len(json.loads(rep.stdout)["trials"]) == len(study.trials)


@pytest.mark.slow
def test_interrupted_keras_tuner_search_resumes_and_keeps_finished_trials(tmp_path) -> None:
    import signal
    import time

    space = str(ROOT / "search_spaces" / "quickstart.yaml")
    cmd = [TUNECLI, "search", space, "--engine", "keras-tuner", "--algorithm", "random", "--max-epochs", "30"]
    proc = subprocess.Popen([*cmd, "--trials", "500"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = ""
    deadline = time.time() + 240
    while time.time() < deadline:
        line = proc.stdout.readline()
        seen += line
        if "COMPLETE" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    seen += out
    assert proc.returncode == 130, seen
    assert "resume" in seen and "Traceback" not in seen
    kept = [t.number for t in journal_study(tmp_path, "digits-quickstart").trials
            if t.state == optuna.trial.TrialState.COMPLETE]
    assert kept
    again = subprocess.run([*cmd, "--trials", str(len(kept) + 1), "--max-epochs", "1"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    trials = journal_study(tmp_path, "digits-quickstart").trials
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert set(kept) <= {t.number for t in complete}
    assert len(complete) == len(kept) + 1


def _ctx(study_name: str, study: optuna.Study) -> SimpleNamespace:
    return SimpleNamespace(study=study, space=SimpleNamespace(study=study_name))


def test_the_project_folder_belongs_to_the_study_in_its_store(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    first, second = optuna.create_study(), optuna.create_study()  # the same study name in two stores
    folder = project_folder(_ctx("kt", first))
    assert folder.parent == Path(RUNS_DIR) and folder.name.startswith("kt-")
    assert project_folder(_ctx("kt", first)) == folder  # kept in the study: the next run resumes it
    assert first.user_attrs[KERAS_TUNER_PROJECT] == folder.name
    assert project_folder(_ctx("kt", second)) != folder


def test_a_study_made_before_keeps_its_old_project_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / RUNS_DIR / "kt" / "keras-tuner" / "trial_3").mkdir(parents=True)
    old = optuna.create_study()
    old.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={attrs.KT_TRIAL_ID: "3"}))
    assert project_folder(_ctx("kt", old)).name == "kt"
    other = optuna.create_study()  # another store's study of that name: the old folder holds none of its trials
    other.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={attrs.KT_TRIAL_ID: "7"}))
    assert project_folder(_ctx("kt", other)).name.startswith("kt-")


@pytest.mark.slow
def test_the_same_study_name_in_two_stores_runs_in_both_and_an_empty_search_fails(tmp_path) -> None:
    from tunecli.studies.storage import open_storage

    cmd = [TUNECLI, "search", str(ROOT / "search_spaces" / "quickstart.yaml"), "--engine", "keras-tuner",
           "--algorithm", "random", "--study", "kt", "--trials", "1", "--max-epochs", "1", "--json"]
    for db in ("a.db", "b.db"):
        proc = subprocess.run([*cmd, "--storage", f"sqlite:///{db}"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["trials_run"] == 1
    folders = set()
    for db in ("a.db", "b.db"):
        study = optuna.load_study(study_name="kt", storage=open_storage(f"sqlite:///{tmp_path / db}"))
        assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE]
        folders.add(study.user_attrs[KERAS_TUNER_PROJECT])
    assert len(folders) == 2
    empty = subprocess.run([*cmd, "--storage", "sqlite:///c.db", "--timeout", "0.01s"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert empty.returncode == 1 and not empty.stdout
    assert "no trial ran" in empty.stderr and "timeout" in empty.stderr and "Traceback" not in empty.stderr
