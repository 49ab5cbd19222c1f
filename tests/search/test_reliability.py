"""Parallel workers, PostgreSQL, dead workers (SIGKILL), Ctrl-C twice."""

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

from tests.conftest import TINY_SPACE
from tests.test_cli_e2e import TUNECLI
from tunecli.search.coordination import DISCARDED, counts
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


def test_a_killed_worker_is_reaped_and_its_trial_retried(tmp_path) -> None:
    space = {**TINY_SPACE, "data": {"source": "digits"},
             "training": {"max_epochs": 100_000, "early_stopping": {"enabled": False}},
             "search": {"trials": 2, "seed": 3, "pruner": "none"}}
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space))
    env = {**os.environ, "TUNECLI_HEARTBEAT_SECONDS": "1", "TUNECLI_HEARTBEAT_GRACE": "4"}
    proc = subprocess.Popen([TUNECLI, "search", str(path)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = str(tmp_path / "tunecli.journal")
    deadline = time.time() + 120
    running = []
    while time.time() < deadline and not running:
        time.sleep(1)
        try:
            running = [t for t in _trials(journal, "tiny") if t.state == optuna.trial.TrialState.RUNNING]
        except (KeyError, ValueError, optuna.exceptions.OptunaError):
            continue
    assert running, "no trial started"
    time.sleep(2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed = running[0]
    time.sleep(5)  # past the grace period
    fast = {**space, "training": {"max_epochs": 1}}
    path.write_text(yaml.safe_dump(fast))  # only training changed: the same study resumes
    again = subprocess.run([TUNECLI, "search", str(path), "--json"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    trials = _trials(journal, "tiny")
    _assert_exact(trials, 2)
    dead = next(t for t in trials if t.number == killed.number)
    assert dead.state == optuna.trial.TrialState.FAIL and "worker died" in dead.user_attrs[DISCARDED]
    retried = [t for t in trials if t.user_attrs.get("retry_of") == killed.number]
    assert retried and retried[0].params == killed.params and counts(retried[0])


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
