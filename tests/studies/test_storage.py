"""Opening stores; end to end, the journal store after a crash while writing and on a full disk."""

from __future__ import annotations

import json
import os
import resource
import subprocess
from pathlib import Path

import optuna
import pytest
import yaml

from tests.helpers import TINY_SPACE
from tunecli.errors import StorageError
from tunecli.search.coordination import counts
from tunecli.studies.storage import open_storage


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
