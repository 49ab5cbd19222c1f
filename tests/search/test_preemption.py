"""Preemption: SIGTERM (Kubernetes, Slurm) stops a search like Ctrl-C, within a grace period, exit code 143."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import optuna
import pytest
import yaml

from tests.helpers import TUNECLI
from tunecli.search.coordination import counts
from tunecli.studies.attrs import DISCARDED
from tunecli.studies.storage import open_storage

pytestmark = pytest.mark.slow

TOTAL = 5
SPACE = {
    "study": "preempt",
    "data": {"source": "digits"},
    "objective": "val_accuracy",
    "search": {"trials": TOTAL, "seed": 1, "pruner": "none"},
    # many epochs (about 1.5 ms each), one compiled structure: a trial lasts seconds, so one is running when SIGTERM comes
    "training": {"max_epochs": 1500, "early_stopping": {"enabled": False}},
    "space": {"n_hidden": 1, "n_neurons": 16, "learning_rate": {"float": [1.0e-3, 5.0e-2], "log": True}},
}


def _trials(journal: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="preempt", storage=open_storage(journal)).trials


@pytest.mark.parametrize(("how", "args", "recycle", "group"), [
    ("two workers, SIGTERM to tunecli only (Kubernetes)", ["--workers", "2"], 25, False),
    ("recycling worker, SIGTERM to every process (Slurm)", [], 2, True),
    ("trials in the tunecli process", [], 25, False),
], ids=["workers-2", "recycling-group", "in-process"])
def test_sigterm_keeps_finished_trials_discards_the_running_one_and_exits_143(
        tmp_path, how: str, args: list[str], recycle: int, group: bool) -> None:
    space = {**SPACE, "training": {**SPACE["training"], "recycle_after": recycle}}
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space))
    journal = str(tmp_path / "tunecli.journal")
    proc = subprocess.Popen([TUNECLI, "search", str(path), *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=group)
    deadline = time.time() + 50
    ready = False
    while time.time() < deadline and not ready and proc.poll() is None:
        time.sleep(0.3)
        try:
            states = [t.state for t in _trials(journal)]
        except (KeyError, ValueError, optuna.exceptions.OptunaError):
            continue
        ready = optuna.trial.TrialState.COMPLETE in states and optuna.trial.TrialState.RUNNING in states
    assert ready, f"{how}: no trial finished while another ran"
    sent = time.monotonic()
    if group:
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert proc.returncode == 143, out
    assert took < 10, f"{how}: stopped {took:.1f}s after SIGTERM"
    assert "Traceback" not in out and "SIGTERM" in out

    trials = _trials(journal)
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    kept = [t.number for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert kept and all(counts(t) for t in trials if t.number in kept)
    stopped = [t for t in trials if t.user_attrs.get(DISCARDED)]
    assert stopped and all(t.user_attrs[DISCARDED] == "interrupted (SIGTERM)" for t in stopped)

    fast = {**space, "training": {**space["training"], "max_epochs": 2}}  # only training changed: the same study
    path.write_text(yaml.safe_dump(fast))
    again = subprocess.run([TUNECLI, "search", str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    trials = _trials(journal)
    assert sum(counts(t) for t in trials) == TOTAL
    assert set(kept) <= {t.number for t in trials if t.state == optuna.trial.TrialState.COMPLETE}
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
