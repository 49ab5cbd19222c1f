"""Parallel workers, PostgreSQL, dead workers (SIGKILL to a worker or to tunecli), heartbeats, Ctrl-C twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter

import optuna
import pytest
import yaml

from tests.helpers import TINY_SPACE, TUNECLI
from tunecli.liveness import holder
from tunecli.search.coordination import counts, reap_dead, reap_owner
from tunecli.studies import attrs
from tunecli.studies.attrs import DISCARDED, HEARTBEAT, OWNER
from tunecli.studies.storage import open_storage

pytestmark = pytest.mark.slow


def _space(tmp_path, **search) -> str:
    space = {**TINY_SPACE, "search": {**TINY_SPACE["search"], **search}}
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space))
    return str(path)


def _trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=open_storage(url)).trials


def _assert_exact(trials, total: int) -> None:
    counted = [t for t in trials if counts(t)]
    assert len(counted) == total, [(t.number, t.state, t.user_attrs.get(DISCARDED)) for t in trials]
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    numbers = Counter(t.number for t in trials)
    assert max(numbers.values()) == 1  # no trial recorded twice


def test_two_workers_share_the_journal_and_stop_at_exactly_the_total(tmp_path) -> None:
    proc = subprocess.run([TUNECLI, "search", _space(tmp_path), "--trials", "7", "--workers", "2", "--json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "locked" not in proc.stderr
    _assert_exact(_trials(str(tmp_path / "tunecli.journal"), "tiny"), 7)


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get("TUNECLI_TEST_PG_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must provide PostgreSQL: .ci/run exports TUNECLI_TEST_PG_URL")
        pytest.skip("no PostgreSQL server: set TUNECLI_TEST_PG_URL (see .ci/postgres.sh)")
    try:
        open_storage(url)
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL not reachable in CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    return url


def test_three_processes_on_postgresql(tmp_path, pg_url) -> None:
    study = f"pg-{uuid.uuid4().hex[:8]}"
    space = _space(tmp_path)
    cmd = [TUNECLI, "search", space, "--trials", "9", "--study", study, "--storage", pg_url, "--json"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=400) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "tunecli-pass" not in out + err
    _assert_exact(_trials(pg_url, study), 9)


def test_wrong_password_is_masked(tmp_path, pg_url) -> None:
    bad = pg_url.replace("tunecli-pass", "not-the-password")
    proc = subprocess.run([TUNECLI, "search", _space(tmp_path), "--storage", bad], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not-the-password" not in proc.stderr and "***" in proc.stderr


def test_a_killed_search_is_reaped_by_the_next_run_at_once(tmp_path) -> None:
    """SIGKILL to the whole ``tunecli`` process: the next run on this machine sees that the trial's process is
    gone and retries it at once (no heartbeat grace to wait for; the default grace is 60 s)."""
    space = {**TINY_SPACE, "data": {"source": "digits"},
             "training": {"max_epochs": 100_000, "early_stopping": {"enabled": False}},
             "search": {"trials": 2, "seed": 3, "pruner": "none"}}
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNECLI_HEARTBEAT")}
    proc = subprocess.Popen([TUNECLI, "search", str(path)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = str(tmp_path / "tunecli.journal")
    deadline = time.time() + 50
    running = []
    while time.time() < deadline and not running:
        time.sleep(0.5)
        try:
            running = [t for t in _trials(journal, "tiny")
                       if t.state == optuna.trial.TrialState.RUNNING and t.user_attrs.get(OWNER)]
        except (KeyError, ValueError, optuna.exceptions.OptunaError):
            continue
    assert running, "no trial started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed = running[0]
    fast = {**space, "training": {"max_epochs": 1}}
    path.write_text(yaml.safe_dump(fast))  # only training changed: the same study resumes
    again = subprocess.run([TUNECLI, "search", str(path), "--json"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    trials = _trials(journal, "tiny")
    _assert_exact(trials, 2)
    dead = next(t for t in trials if t.number == killed.number)
    assert dead.state == optuna.trial.TrialState.FAIL and "worker died" in dead.user_attrs[DISCARDED]
    retried = [t for t in trials if t.user_attrs.get(attrs.RETRY_OF) == killed.number]
    assert retried and retried[0].params == killed.params and counts(retried[0])


def test_a_worker_killed_mid_trial_is_replaced_and_the_run_reaches_the_total(tmp_path) -> None:
    """SIGKILL to one of two workers: the process that started it reaps its trial at once (failed as
    "worker died", parameters queued again), starts a new worker and reaches the total in the same run."""
    total = 6
    space = {"study": "killed", "data": {"source": "digits"}, "objective": "val_accuracy",
             "search": {"trials": total, "seed": 2, "pruner": "none"},
             "training": {"max_epochs": 40, "early_stopping": {"enabled": False}},
             "space": {"n_hidden": 1, "n_neurons": 16, "learning_rate": {"float": [1.0e-3, 5.0e-2], "log": True}}}
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNECLI_HEARTBEAT")}  # the 60 s grace
    start = time.monotonic()
    proc = subprocess.Popen([TUNECLI, "search", str(path), "--workers", "2"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    journal = str(tmp_path / "tunecli.journal")
    victim = None
    while time.monotonic() - start < 50 and victim is None and proc.poll() is None:
        time.sleep(0.3)
        try:
            trials = _trials(journal, "killed")
        except (KeyError, ValueError, optuna.exceptions.OptunaError):
            continue
        running = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING and t.user_attrs.get(OWNER)]
        if running and any(t.state == optuna.trial.TrialState.COMPLETE for t in trials):
            victim = running[0]
    assert victim is not None, "no trial running after one finished"
    pid = int(victim.user_attrs[OWNER].split(":")[1])
    assert pid != proc.pid  # a worker process, not tunecli itself
    os.kill(pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert f"{total} trials ran" in out
    trials = _trials(journal, "killed")
    _assert_exact(trials, total)
    dead = next(t for t in trials if t.number == victim.number)
    assert dead.state == optuna.trial.TrialState.FAIL
    # reaped by the parent ("worker died (exit code -9)"), or first by the other worker, which saw the pid gone
    assert dead.user_attrs[DISCARDED].startswith("worker died")
    retried = [t for t in trials if t.user_attrs.get(attrs.RETRY_OF) == victim.number]
    assert len(retried) == 1 and retried[0].params == victim.params and counts(retried[0])


def _running(study: optuna.Study, **attrs) -> int:
    trial = study.ask()
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    return trial.number


def test_heartbeats_still_reap_workers_of_other_machines(monkeypatch) -> None:
    monkeypatch.setenv("TUNECLI_HEARTBEAT_GRACE", "60")
    study = optuna.create_study()
    now = time.time()
    elsewhere = "another-machine:4242:4026531836"
    silent = _running(study, **{OWNER: elsewhere, HEARTBEAT: now - 120})
    alive = _running(study, **{OWNER: elsewhere, HEARTBEAT: now})
    dead_here = _running(study, **{OWNER: holder(_dead_pid()), HEARTBEAT: now})  # fresh stamp, process gone
    running_here = _running(study, **{OWNER: holder(), HEARTBEAT: now})
    assert sorted(reap_dead(study)) == [silent, dead_here]
    states = {t.number: t.state for t in study.trials}
    assert states[alive] == states[running_here] == optuna.trial.TrialState.RUNNING
    queued = [t for t in study.trials if t.state == optuna.trial.TrialState.WAITING]
    assert sorted(t.user_attrs[attrs.RETRY_OF] for t in queued) == [silent, dead_here]


def test_reap_owner_fails_only_that_workers_trials() -> None:
    study = optuna.create_study()
    pid = _dead_pid()
    mine = _running(study, **{OWNER: holder(pid)})
    other = _running(study, **{OWNER: holder()})
    assert reap_owner(study, pid, "interrupted (SIGTERM)", requeue=False) == [mine]
    trials = {t.number: t for t in study.trials}
    assert trials[mine].user_attrs[DISCARDED] == "interrupted (SIGTERM)" and not counts(trials[mine])
    assert trials[other].state == optuna.trial.TrialState.RUNNING
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.WAITING]  # not queued again


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_second_ctrl_c_exits_at_once(tmp_path) -> None:
    space = {**TINY_SPACE, "data": {"source": "digits"},
             "training": {"max_epochs": 100_000, "early_stopping": {"enabled": False}},
             "search": {"trials": 5, "pruner": "none"}}
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space))
    proc = subprocess.Popen([TUNECLI, "search", str(path)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    journal = str(tmp_path / "tunecli.journal")
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(1)
        try:
            if any(t.state == optuna.trial.TrialState.RUNNING for t in _trials(journal, "tiny")):
                break
        except (KeyError, ValueError, optuna.exceptions.OptunaError):
            continue
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    start = time.time()
    proc.wait(timeout=30)
    assert time.time() - start < 10
    assert proc.returncode != 0
    out = proc.stdout.read()
    assert "Traceback" not in out
