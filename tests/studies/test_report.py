"""report: studies built directly through Optuna (no training)."""

from __future__ import annotations

import csv
import io
import json

import optuna
import pytest
import yaml
from typer.testing import CliRunner

from tunecli.cli import app
from tunecli.config.space import load_space
from tunecli.studies import attrs
from tunecli.studies.diagnostics import diagnose
from tunecli.studies.storage import open_storage

runner = CliRunner()
SPACE_FILE = {"study": "fake", "data": {"source": "iris"}, "objective": "val_accuracy",
              "space": {"n_hidden": {"int": [1, 3]}, "activation": {"choice": ["relu", "elu"]}, "dropout": 0.1}}


def _make_study(path, name: str = "fake", n: int = 12):
    storage = open_storage(str(path))
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    for key, value in {attrs.OBJECTIVE: "val_accuracy", attrs.ENGINE: "optuna", attrs.ALGORITHM: "tpe",
                       attrs.PRUNER: "median", attrs.MAX_EPOCHS: 10, attrs.SPACE_FILE: SPACE_FILE}.items():
        study.set_user_attr(key, value)
    for i in range(n):
        trial = study.ask()
        n_hidden = trial.suggest_int("n_hidden", 1, 3)
        act = trial.suggest_categorical("activation", ["relu", "elu"])
        config = {"n_hidden": n_hidden, "activation": act, "dropout": 0.1}
        acc = [0.5 + 0.04 * n_hidden * e / 10 for e in range(1, 11)]
        trial.set_user_attr(attrs.CONFIG, config)
        trial.set_user_attr(attrs.EPOCHS, 10)
        trial.set_user_attr(attrs.SECONDS, 1.5)
        trial.set_user_attr(attrs.BEST_EPOCH, 10)
        trial.set_user_attr(attrs.CURVE, {"val_accuracy": acc, "loss": [1 / e for e in range(1, 11)],
                                      "val_loss": [1 / e for e in range(1, 11)]})
        if i == 3:
            trial.set_user_attr(attrs.FAIL_REASON, "loss became nan at epoch 2")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif i == 4:
            trial.report(0.4, 1)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, acc[-1])
    return study


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _make_study(tmp_path / "tunecli.journal")
    return tmp_path


def test_table_shows_summary_top_trials_importances_and_flags(store) -> None:
    result = runner.invoke(app, ["report", "--top", "3"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "study fake" in out and "val_accuracy (maximize)" in out
    assert "10 complete" in out and "1 pruned" in out and "1 fail" in out
    assert "top 3 trials" in out and "n_hidden" in out
    assert "What mattered" in out and "n_hidden" in out.split("What mattered")[1]
    assert "CAP" in out and "still improving" in out  # best epoch at the cap


def test_json_shape(store) -> None:
    result = runner.invoke(app, ["report", "fake", "--format", "json"])
    data = json.loads(result.stdout)
    assert set(data) >= {"study", "direction", "best", "trials"}
    assert data["direction"] == "maximize" and len(data["trials"]) == 12
    assert {t["state"] for t in data["trials"]} == {"COMPLETE", "PRUNED", "FAIL"}
    first = data["trials"][0]
    assert set(first) >= {"number", "state", "value", "params", "epochs", "seconds", "curve"}
    assert first["value"] == max(t["value"] for t in data["trials"] if t["state"] == "COMPLETE")
    fail = next(t for t in data["trials"] if t["state"] == "FAIL")
    assert "nan" in fail["reason"] and fail["flags"] == ["NaN"]


def test_csv_and_yaml_round_trip(store) -> None:
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["report", "--format", "csv"]).stdout)))
    assert len(rows) == 12 and {"n_hidden", "activation", "curve"} <= set(rows[0])
    assert json.loads(rows[0]["curve"])["val_accuracy"]
    data = yaml.safe_load(runner.invoke(app, ["report", "--format", "yaml"]).stdout)
    assert data["study"] == "fake" and len(data["trials"]) == 12


def test_export_reloads_as_a_fixed_space(store) -> None:
    result = runner.invoke(app, ["report", "--export", "best.yaml"])
    assert result.exit_code == 0, result.output
    space = load_space(store / "best.yaml")
    assert space.space["n_hidden"].value == 3 and space.space["dropout"].value == 0.1
    assert space.training.refit_epochs == 10 and space.origin["study"] == "fake"


def test_plots_are_png_files(store) -> None:
    result = runner.invoke(app, ["report", "--plots", "plots"])
    assert result.exit_code == 0, result.output
    files = sorted((store / "plots").glob("*.png"))
    names = {f.name for f in files}
    assert {"fake_optimization_history.png", "fake_param_importances.png", "fake_learning_curves.png",
            "fake_parallel_coordinates.png"} <= names
    for f in files:
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_several_studies_are_listed(store) -> None:
    _make_study(store / "tunecli.journal", name="other", n=3)
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 0 and "fake" in result.output and "other" in result.output
    assert "name one" in result.output


@pytest.mark.parametrize("args,fragment", [
    (["report", "nope"], "no study named 'nope'; studies here: fake"),
    (["report", "--storage", "postgresql://u:secret@127.0.0.1:1/db"], "cannot open"),
    (["report", "--format", "xml"], "'xml' is not one of 'table', 'json', 'csv', 'yaml'"),
])
def test_bad_report_input(store, args, fragment) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "secret" not in result.output and "Traceback" not in result.output


def test_no_store_and_unwritable_plots(tmp_path, monkeypatch, store) -> None:
    monkeypatch.chdir(tmp_path / "..")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 2 and "no study store here" in result.output
    monkeypatch.chdir(store)
    (store / "afile").write_text("")
    result = runner.invoke(app, ["report", "--plots", "afile/sub"])
    assert result.exit_code == 2 and "cannot write plots" in result.output


def test_diagnose_overfitting_and_plateau() -> None:
    row = {"state": "COMPLETE", "epochs": 8, "curve": {"loss": [1, .8, .6, .5, .4, .3, .2, .1],
                                                        "val_loss": [1, .5, .6, .7, .8, .9, 1.0, 1.1]}}
    assert diagnose(row, 20) == ["OVF", "FLAT"] or diagnose(row, 20) == ["OVF"]
    assert diagnose({"state": "FAIL", "reason": "loss became nan at epoch 1"}, 20) == ["NaN"]


def test_an_lr_finder_trial_exports_the_learning_rate_it_used() -> None:
    from tunecli.config.space import validate_space
    from tunecli.studies.results import fixed_space

    row = {"number": 2, "value": 0.9, "best_epoch": 4, "lr_used": 0.0123,
           "params": {"n_hidden": 2, "lr_multiplier": 1.5, "batch_size": 32}}
    raw = {"data": {"source": "iris"}, "space": {"learning_rate": {"lr_finder": {"rule": "valley"}}}}
    out = fixed_space(raw, row, "s", "val_accuracy")
    assert out["space"] == {"n_hidden": 2, "batch_size": 32, "learning_rate": 0.0123}
    assert validate_space(out).space["learning_rate"].value == 0.0123   # train can run it

