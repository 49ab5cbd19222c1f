"""The journal store after a crash while writing: a cut-short last record, a lock left behind; a full disk."""

from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import yaml

from tests.helpers import TINY_SPACE
from tunecli.errors import StorageError
from tunecli.search.coordination import counts
from tunecli.studies import storage
from tunecli.studies.storage import holder, open_storage, write_failure


def _journal(path: Path, trials: int = 3) -> optuna.Study:
    study = optuna.create_study(study_name="s", storage=open_storage(str(path)), direction="maximize")
    for i in range(trials):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        trial.set_user_attr("curve", list(range(50)))
        study.tell(trial, 0.1 * i)
    return study


def _load(path: Path) -> optuna.Study:
    return optuna.load_study(study_name="s", storage=open_storage(str(path)))


def test_a_cut_short_last_record_is_moved_aside_and_the_store_opens_and_takes_writes(tmp_path, capsys) -> None:
    path = tmp_path / "tunecli.journal"
    _journal(path)
    whole = path.read_bytes()
    last = whole.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(whole[: last + (len(whole) - last) // 2])  # power cut in the middle of the last record

    study = _load(path)
    assert "cut short" in capsys.readouterr().err
    backups = list(tmp_path.glob("tunecli.journal.partial-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == whole[last: last + (len(whole) - last) // 2]
    assert path.read_bytes() == whole[:last]  # every complete record kept
    assert [t.state for t in study.trials][:2] == [optuna.trial.TrialState.COMPLETE] * 2
    trial = study.ask()  # the next write lands on a clean line: the file stays readable
    study.tell(trial, 1.0)
    assert len(_load(path).trials) == 4 and not capsys.readouterr().err  # nothing more to cut


def test_zeros_and_a_garbled_line_at_the_end_are_cut(tmp_path) -> None:
    path = tmp_path / "x.journal"
    _journal(path, trials=2)
    whole = path.read_bytes()
    path.write_bytes(whole + b"\0" * 100 + b"\n" + b'{"op_code": 6, "stu')
    assert len(_load(path).trials) == 2
    assert path.read_bytes() == whole


def test_a_file_that_is_not_a_journal_is_left_alone(tmp_path) -> None:
    path = tmp_path / "x.journal"
    text = b"not json\n" * 20
    path.write_bytes(text)
    assert storage.repair_journal(path, storage._journal_lock(str(path))) is None
    assert path.read_bytes() == text and not list(tmp_path.glob("*.partial-*"))


def test_a_lock_left_by_a_dead_process_is_taken_over_at_once(tmp_path) -> None:
    path = tmp_path / "x.journal"
    _journal(path, trials=1)
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = Path(f"{path}.lock")
    lock.write_text(holder(dead.pid))  # SIGKILL while writing: the lock file stays
    start = time.monotonic()
    study = _load(path)
    study.tell(study.ask(), 0.5)
    assert time.monotonic() - start < 5  # not Optuna's 30 s grace
    assert not lock.exists()


def test_a_lock_of_a_live_or_unknown_process_is_respected(tmp_path) -> None:
    path = tmp_path / "x.journal"
    lock = storage._journal_lock(str(path))
    for text in (holder(), holder(os.getppid()), "another-machine:12:4026531836", ""):
        Path(lock._lock_file).write_text(text)
        assert not lock._take_over_dead(), text
        assert Path(lock._lock_file).read_text() == text


def test_a_lock_file_that_cannot_be_made_says_why(tmp_path, monkeypatch) -> None:
    lock = storage._journal_lock(str(tmp_path / "x.journal"))
    real_open = os.open

    def read_only(name, flags, *args):
        if str(name).endswith(".lock"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), name)
        return real_open(name, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(OSError) as caught:
        lock.acquire()
    assert caught.value.errno == errno.EROFS
    message = write_failure(caught.value, None)
    assert "read-only" in message and "run the same command again" in message


def test_a_store_under_a_file_is_refused_clearly(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError) as caught:
        open_storage(str(blocker / "x.journal"))
    assert caught.value.exit_code == 2 and "a part of the path is a file, not a folder" in caught.value.render()


# -- end to end ------------------------------------------------------------------------------------------------

def _space(tmp_path: Path, trials: int) -> str:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({**TINY_SPACE, "search": {**TINY_SPACE["search"], "trials": trials}}))
    return str(path)


def _tunecli(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    from tests.helpers import TUNECLI

    return subprocess.run([TUNECLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120, **kwargs)


def _trials(cwd: Path) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="tiny", storage=open_storage(str(cwd / "tunecli.journal"))).trials


@pytest.mark.slow
def test_a_journal_cut_in_its_last_record_still_reports_and_resumes(tmp_path) -> None:
    space = _space(tmp_path, 3)
    assert _tunecli("search", space, cwd=tmp_path).returncode == 0
    journal = tmp_path / "tunecli.journal"
    whole = journal.read_bytes()
    last = whole.rstrip(b"\n").rfind(b"\n") + 1
    journal.write_bytes(whole[: last + (len(whole) - last) // 2])

    report = _tunecli("report", "--format", "json", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "cut short" in report.stderr and "Traceback" not in report.stderr
    shown = json.loads(report.stdout)["trials"]
    complete = [t for t in _trials(tmp_path) if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) >= 2 and {t["number"] for t in shown} >= {t.number for t in complete}

    again = _tunecli("search", space, "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    trials = _trials(tmp_path)
    assert sum(counts(t) for t in trials) == 3
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]


@pytest.mark.slow
def test_a_full_disk_stops_with_a_clear_message_and_the_search_resumes_later(tmp_path) -> None:
    space = _space(tmp_path, 2)
    assert _tunecli("search", space, cwd=tmp_path).returncode == 0
    limit = (tmp_path / "tunecli.journal").stat().st_size + 3000  # room for a trial or so, then "disk full"

    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # Python ignores SIGXFSZ: writes fail with EFBIG

    env = {**os.environ, "TUNECLI_CACHE_DIR": "off", "TUNECLI_HEARTBEAT_GRACE": "1"}
    full = _tunecli("search", space, "--trials", "8", cwd=tmp_path, env=env, preexec_fn=full_disk)
    assert full.returncode == 1, full.stderr
    assert "cannot write" in full.stderr and "File too large" in full.stderr and "resume" in full.stderr
    assert "Traceback" not in full.stderr

    # A trial whose first record was lost has no owner to check: the heartbeat grace (1 s here) reaps it.
    again = _tunecli("search", space, "--trials", "8", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    trials = _trials(tmp_path)
    assert sum(counts(t) for t in trials) == 8
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]


@pytest.mark.slow
def test_an_unwritable_store_or_best_file_says_so(tmp_path) -> None:
    space = _space(tmp_path, 1)
    blocker = tmp_path / "file"
    blocker.write_text("")  # tests run as root, where a read-only folder is still writable: a file is no folder
    bad_store = _tunecli("search", space, "--storage", str(blocker / "x.journal"), cwd=tmp_path)
    assert bad_store.returncode == 2
    assert "cannot create the study store" in bad_store.stderr and "not a folder" in bad_store.stderr

    bad_best = _tunecli("search", space, "--best-out", str(blocker / "best.yaml"), cwd=tmp_path)
    assert bad_best.returncode == 1
    assert "best.yaml: cannot write the file" in bad_best.stderr and "not a folder" in bad_best.stderr
    assert "--export" in bad_best.stderr and "Traceback" not in bad_best.stderr
    assert sum(counts(t) for t in _trials(tmp_path)) == 1  # the search itself is stored
