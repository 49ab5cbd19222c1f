"""Worker processes of a search: worker_main's exit codes (in process) and run_pool (spawned workers)."""

from __future__ import annotations

import copy

import optuna
import pytest

from tests.helpers import TINY_SPACE
from tunecli import interrupt
from tunecli.config.objective import resolve_objective
from tunecli.config.space import validate_space
from tunecli.errors import DataError, RunError
from tunecli.search import workers
from tunecli.search.coordination import counts, finished
from tunecli.search.study import create_or_resume


def _raw(**training) -> dict:
    raw = copy.deepcopy(TINY_SPACE)
    raw["training"].update({"max_epochs": 1, **training})
    return raw


@pytest.fixture
def in_process(monkeypatch):
    """Run worker_main in the test process: no parent-death signal, no SIGINT handler left behind."""
    monkeypatch.setattr(workers, "die_with_parent", lambda: None)
    monkeypatch.setattr(interrupt, "install", lambda: None)


def _exit_code(raw: dict, url: str | None = None) -> int:
    with pytest.raises(SystemExit) as info:
        workers.worker_main(raw, "space.yaml", url, 0, 1, True)
    return info.value.code


def test_a_bad_space_exits_2_with_the_message(in_process, capsys) -> None:
    raw = _raw()
    raw["space"]["n_hidden"] = {"int": [3, 1]}
    assert _exit_code(raw) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: space.yaml: space.n_hidden") and "low <= high" in err


def test_missing_data_exits_2(in_process, capsys) -> None:
    raw = _raw()
    raw["data"] = {"source": "no-such-file.csv"}
    assert _exit_code(raw) == 2
    assert "no such file, and not a built-in data set" in capsys.readouterr().err


@pytest.mark.parametrize("raised,code,message", [
    (RuntimeError("boom"), 1, "error: worker: unexpected RuntimeError: boom"),
    (KeyboardInterrupt(), 130, ""),
    (DataError("gone", source="x.csv"), 2, "error: x.csv: gone"),
])
def test_exit_codes(in_process, monkeypatch, capsys, raised: BaseException, code: int, message: str) -> None:
    def work(*args: object) -> None:
        raise raised

    monkeypatch.setattr(workers, "work_in_process", work)
    assert _exit_code(_raw()) == code
    assert capsys.readouterr().err.strip() == message


@pytest.mark.slow  # runs a search's trials in process
def test_one_worker_runs_recycle_after_trials_then_returns(in_process, tmp_path) -> None:
    url = str(tmp_path / "w.journal")
    raw = _raw(recycle_after=1)
    space = validate_space(raw)
    study = create_or_resume(space, resolve_objective("auto", "classification"), url)
    workers.worker_main(raw, None, url, 0, 1, True)  # returns: no SystemExit
    assert finished(study) == 1
    workers.worker_main(raw, None, url, 0, 2, True)  # the next generation of the slot
    assert finished(study) == 2
    assert {t.state for t in study.get_trials()} == {optuna.trial.TrialState.COMPLETE}


@pytest.mark.slow  # runs a search's trials in process
def test_a_worker_keeps_the_searchs_deadline_not_its_own_start(in_process, tmp_path) -> None:
    import time

    from tunecli.search.progress import QuietProgress

    url = str(tmp_path / "d.journal")
    raw = _raw(recycle_after=5)
    raw["search"] = {**raw["search"], "trials": 5, "timeout": 600}
    study = create_or_resume(validate_space(raw), resolve_objective("auto", "classification"), url)
    workers.worker_main(raw, None, url, 0, 2, True, QuietProgress, time.time() - 1)  # started after the timeout ended
    assert finished(study) == 0
    workers.worker_main(raw, None, url, 0, 3, True, QuietProgress, time.time() + 600)
    assert finished(study) == 5


def _study(space, url: str) -> optuna.Study:
    return create_or_resume(space, resolve_objective("auto", "classification"), url)


@pytest.mark.slow  # spawns worker processes
def test_run_pool_recycles_workers_until_the_total(tmp_path) -> None:
    url = str(tmp_path / "pool.journal")
    raw = _raw(recycle_after=1)
    raw["search"]["trials"] = 3
    space = validate_space(raw)
    study = _study(space, url)
    assert workers.run_pool(space, url, study, quiet=True) is False
    trials = study.get_trials()
    assert finished(study) == 3 and len([t for t in trials if counts(t)]) == 3
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]


@pytest.mark.slow  # spawns a worker process
def test_run_pool_stops_when_a_worker_exits_2(tmp_path) -> None:
    url = str(tmp_path / "pool.journal")
    space = validate_space(_raw(recycle_after=1))
    study = _study(space, url)
    space.raw["data"] = {"source": "no-such-file.csv"}  # the workers, not the parent, find this out
    with pytest.raises(RunError, match="exit code 2"):
        workers.run_pool(space, url, study, quiet=True)
    assert finished(study) == 0
