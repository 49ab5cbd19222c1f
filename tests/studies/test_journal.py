"""The journal store after a crash while writing: a cut-short last record, a lock left behind, a lock file
that cannot be made."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from pathlib import Path

import optuna
import pytest

from tunecli.liveness import holder
from tunecli.studies import attrs
from tunecli.studies.journal import JournalLock, repair_journal
from tunecli.studies.storage import open_storage, write_failure


def _journal(path: Path, trials: int = 3) -> optuna.Study:
    study = optuna.create_study(study_name="s", storage=open_storage(str(path)), direction="maximize")
    for i in range(trials):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        trial.set_user_attr(attrs.CURVE, list(range(50)))
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
    assert repair_journal(path, JournalLock(str(path))) is None
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
    lock = JournalLock(str(path))
    for text in (holder(), holder(os.getppid()), "another-machine:12:4026531836", ""):
        Path(lock.path).write_text(text)
        assert not lock.take_over_dead(), text
        assert Path(lock.path).read_text() == text


def test_a_lock_file_that_cannot_be_made_says_why(tmp_path, monkeypatch) -> None:
    lock = JournalLock(str(tmp_path / "x.journal"))
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
