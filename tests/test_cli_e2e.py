"""End-to-end runs of the installed ``tunecli`` command in a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import yaml

from tests.helpers import ROOT, TUNECLI, journal_study
from tunecli.studies import attrs

pytestmark = pytest.mark.slow


def _run(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([TUNECLI, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_quickstart_search_json_and_best_file(tmp_path) -> None:
    proc = _run("search", str(ROOT / "search_spaces" / "quickstart.yaml"), "--trials", "3", "--max-epochs", "2",
                "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["study"] == "digits-quickstart" and summary["trials_run"] == 3
    assert len(summary["trials"]) == 3
    best = summary["best"]
    assert best["state"] == "COMPLETE" and 0 < best["value"] <= 1
    best_file = tmp_path / "digits-quickstart-best.yaml"
    assert best_file.exists()
    fixed = yaml.safe_load(best_file.read_text())
    assert all(not isinstance(v, dict) for v in fixed["space"].values())
    # the best file runs again as a space file (every value fixed)
    again = _run("search", str(best_file), "--trials", "1", "--max-epochs", "1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Best val_accuracy" in again.stdout


def test_resume_runs_only_the_missing_trials(tmp_path) -> None:
    space = str(ROOT / "search_spaces" / "quickstart.yaml")
    first = _run("search", space, "--trials", "2", "--max-epochs", "1", "--study", "r", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = _run("search", space, "--trials", "3", "--max-epochs", "1", "--study", "r", "--json", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["trials_run"] == 1
    assert len(journal_study(tmp_path, "r").trials) == 3


def test_sigint_keeps_finished_trials_and_resumes(tmp_path) -> None:
    space = str(ROOT / "search_spaces" / "quickstart.yaml")
    proc = subprocess.Popen([TUNECLI, "search", space, "--trials", "500", "--max-epochs", "30", "--study", "s",
                             "--pruner", "none"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    seen = ""
    deadline = time.time() + 240
    while time.time() < deadline:
        line = proc.stdout.readline()
        seen += line
        if "COMPLETE" in line or "PRUNED" in line:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    seen += out
    assert proc.returncode == 130, seen
    assert "resume" in seen and "Traceback" not in seen
    study = journal_study(tmp_path, "s")
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert finished, seen
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    total = len(finished) + 1
    again = _run("search", space, "--trials", str(total), "--max-epochs", "1", "--study", "s", "--json",
                 cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["trials_run"] == 1
    kept = [t.number for t in journal_study(tmp_path, "s").trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert set(t.number for t in finished) <= set(kept)


def test_changed_space_does_not_corrupt_the_study(tmp_path) -> None:
    space = yaml.safe_load((ROOT / "search_spaces" / "quickstart.yaml").read_text())
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(space))
    assert _run("search", str(path), "--trials", "1", "--max-epochs", "1", cwd=tmp_path).returncode == 0
    space["space"]["n_hidden"] = {"int": [1, 8]}
    path.write_text(yaml.safe_dump(space))
    proc = _run("search", str(path), "--trials", "2", "--max-epochs", "1", cwd=tmp_path)
    assert proc.returncode == 2 and "different search space" in proc.stderr
    assert len(journal_study(tmp_path, "digits-quickstart").trials) == 1


def test_housing_example_on_the_real_csv(shared_data, tmp_path) -> None:
    proc = subprocess.run([TUNECLI, "search", str(ROOT / "search_spaces" / "housing.yaml"), "--trials", "2",
                           "--max-epochs", "2", "--json", "--data", str(shared_data / "housing.csv")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["objective"] == "val_rmse" and 0 < summary["best"]["value"] < 2.0


def test_help_lists_commands() -> None:
    proc = subprocess.run([TUNECLI, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for command in ("search", "lr-find", "report", "train"):
        assert command in proc.stdout


def test_search_report_export_train(tmp_path) -> None:
    space = str(ROOT / "search_spaces" / "quickstart.yaml")
    assert _run("search", space, "--trials", "2", "--max-epochs", "2", cwd=tmp_path).returncode == 0
    rep = _run("report", "--export", "best.yaml", cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr
    assert "study digits-quickstart" in rep.stdout and (tmp_path / "best.yaml").exists()
    proc = _run("train", "best.yaml", "--output", "model.keras", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert 0 < out["test_score"] <= 1 and out["metric"] == "accuracy"
    assert out["search_score"] is not None
    assert (tmp_path / "model.keras").stat().st_size > 1000
    unfixed = _run("train", space, cwd=tmp_path)
    assert unfixed.returncode == 2 and "still vary" in unfixed.stderr


def test_lr_find_json_plot_and_written_space(tmp_path) -> None:
    proc = _run("lr-find", str(ROOT / "search_spaces" / "quickstart.yaml"), "--plot", "out.png", "--json",
                "--write-space", "lr.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data["suggestions"]) == {"valley", "steep", "minimum", "slide", "divergence"}
    assert 1e-6 < data["lr"] < 1.0 and data["rule"] == "valley"
    assert len(data["curve"]["lr"]) == len(data["curve"]["loss"]) > 5
    assert (tmp_path / "out.png").read_bytes()[:4] == b"\x89PNG"
    written = yaml.safe_load((tmp_path / "lr.yaml").read_text())
    low, high = written["space"]["learning_rate"]["float"]
    assert written["space"]["learning_rate"]["log"] is True and 0 < low < high


def test_lr_find_without_descent_exits_1(tmp_path) -> None:
    proc = _run("lr-find", str(ROOT / "search_spaces" / "quickstart.yaml"), "--min-lr", "1e-9", "--max-lr", "1e-8",
                cwd=tmp_path)
    assert proc.returncode == 1 and "flat" in proc.stderr and "Traceback" not in proc.stderr


def test_search_with_lr_finder_stores_the_lr_used(tmp_path) -> None:
    space = yaml.safe_load((ROOT / "search_spaces" / "quickstart.yaml").read_text())
    space["space"]["learning_rate"] = {"lr_finder": {"rule": "valley", "multiplier": {"float": [0.5, 2.0], "log": True}}}
    path = tmp_path / "lrf.yaml"
    path.write_text(yaml.safe_dump(space))
    proc = _run("search", str(path), "--trials", "2", "--max-epochs", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    study = journal_study(tmp_path, "digits-quickstart")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert done
    for t in done:
        assert t.user_attrs[attrs.LR_USED] == pytest.approx(t.user_attrs[attrs.LR_FOUND] * t.params["lr_multiplier"])
        assert t.user_attrs[attrs.LR_FINDER_SECONDS] > 0 and t.user_attrs[attrs.LR_CURVE]["lr"]
    rep = _run("report", cwd=tmp_path)
    assert "lr_used" in rep.stdout


def test_two_objectives_pareto_table_then_train_the_knee(tmp_path) -> None:
    """search with [val_accuracy, params] -> the Pareto table -> train --pick knee: the model is the knee's."""
    space = {"study": "front", "data": {"source": "iris"}, "objective": ["val_accuracy", "params"],
             "search": {"trials": 6, "seed": 3, "rerank": {"top": 0}},
             "training": {"max_epochs": 3, "early_stopping": {"patience": 2}},
             "space": {"n_hidden": {"int": [1, 2]}, "n_neurons": {"choice": [4, 16, 64]}, "learning_rate": 0.02}}
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(space))
    proc = _run("search", "space.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Pareto front:" in proc.stdout, proc.stdout
    knee = next(line for line in proc.stdout.splitlines() if line.lstrip().startswith("◆")).split()
    number, params = int(knee[1]), int(knee[3].replace(",", ""))
    study = journal_study(tmp_path, "front")
    assert study.trials[number].values[1] == params   # the table shows what the study holds
    again = json.loads(_run("search", "space.yaml", "--json", cwd=tmp_path).stdout)   # the study holds its 6 trials
    assert again["trials_run"] == 0 and again["knee"] == number and number in again["front"]
    assert again["objectives"] == ["val_accuracy", "params"]
    trained = _run("train", "space.yaml", "--pick", "knee", "--output", "knee.keras", "--json", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    out = json.loads(trained.stdout)
    assert out["costs"]["params"] == params and out["search_costs"]["params"] == params
    assert 0.1 < out["costs"]["latency"] / out["search_costs"]["latency"] < 10   # the same measure, a noisy machine
    assert out["file_bytes"] == (tmp_path / "knee.keras").stat().st_size
