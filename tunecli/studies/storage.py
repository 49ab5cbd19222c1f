"""Where studies live: the embedded default file, or any Optuna storage URL."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import socket
import sys
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.errors import StorageError, shorten, show

if TYPE_CHECKING:
    import optuna

DEFAULT_FILE = "tunecli.journal"


def mask(url: str | None) -> str:
    """Hide the password in ``scheme://user:password@host`` (up to the last ``@``: a password may hold one)
    and in a ``password=`` query parameter."""
    if not url:
        return DEFAULT_FILE
    url = re.sub(r"(://[^:/@\s]*:)[^\s]*@", r"\1***@", url)
    return re.sub(r"(?i)((?:password|passwd|pwd)=)[^&\s]*", r"\1***", url)


def describe(url: str | None) -> str:
    return mask(url) if url else f"{DEFAULT_FILE} (in {Path.cwd()})"


def open_storage(url: str | None, *, must_exist: bool = False) -> optuna.storages.BaseStorage:
    """Open the default journal file (``url`` None), a ``*.journal`` path, or an Optuna RDB URL.

    Raises:
        StorageError: the store is missing (``must_exist``) or cannot be opened; the password is masked.
    """
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if url is None or "://" not in url:
        path = Path(url or DEFAULT_FILE)
        if must_exist and not path.exists():
            raise StorageError("no study store here; run `tunecli search SPACE.yaml` first or pass --storage",
                               source=str(path))
        if path.exists() and not path.is_file():
            raise StorageError("not a file", source=str(path))
        lock = _journal_lock(str(path))
        try:
            backend = JournalFileBackend(str(path), lock_obj=lock)
        except OSError as exc:
            raise StorageError(f"cannot create the study store: {os_reason(exc)}", source=str(path),
                               field="--storage" if url else None) from None
        repair_journal(path, lock)
        try:
            return JournalStorage(backend)
        except (OSError, ValueError) as exc:  # a record in the middle of the file is garbled
            raise StorageError(f"cannot open: {exc}", source=str(path)) from None
    if must_exist and _missing_sqlite_file(url):
        raise StorageError("no such database file; run `tunecli search SPACE.yaml --storage URL` first",
                           source=mask(url), field="--storage")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Dead workers are found by tunecli's own heartbeats (coordination.py), for every store alike.
            return optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
    except ImportError:
        raise StorageError("the database driver is not installed; for PostgreSQL: pip install 'psycopg[binary]' "
                           "(or pip install 'tunecli[postgres]')", source=mask(url), field="--storage") from None
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy and drivers raise many types
        detail = mask(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        raise StorageError(f"cannot open the storage: {detail[:300]}", source=mask(url), field="--storage") from None


def holder(pid: int | None = None) -> str:
    """This process (or the local process ``pid``) as ``host:pid:pid-namespace``, to tell later whether it died."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}:{_pid_namespace()}"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return ""


def holder_dead(text: str | None) -> bool:
    """True when ``text`` (from ``holder()``) names a process of this machine (and PID namespace) that is gone.

    False when it is alive, or cannot be told (another machine or container, no ``/proc``).
    """
    try:
        host, pid, namespace = (text or "").rsplit(":", 2)
        number = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname() or not namespace or namespace != _pid_namespace():
        return False
    try:
        os.kill(number, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:  # a zombie (dead, not yet waited for) is dead too
        return Path(f"/proc/{number}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _journal_lock(path: str) -> Any:
    """Optuna's journal lock (a file made with O_EXCL), with two changes.

    - The lock file names its holder (``holder()``); a lock left by a process of this machine that died
      while writing (SIGKILL, out of memory) is taken over at once rather than after Optuna's 30 s grace.
    - A lock file that cannot be created raises its OSError (disk full, read-only folder): Optuna's own
      clean-up after the failure hides it behind ``RuntimeError: did not possess lock``.
    """
    from optuna.storages.journal import JournalFileOpenLock

    class Lock(JournalFileOpenLock):
        def acquire(self) -> bool:
            me = holder().encode()
            sleep, mtime, since = 0.001, None, time.monotonic()
            while True:
                try:
                    fd = os.open(self._lock_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    if self._take_over_dead():
                        continue
                    try:
                        current = os.stat(self._lock_file).st_mtime
                    except OSError:
                        continue
                    if current != mtime:
                        mtime, since = current, time.monotonic()
                    elif self.grace_period is not None and time.monotonic() - since > self.grace_period:
                        with contextlib.suppress(RuntimeError):  # another process released it first
                            self.release()
                        continue
                    time.sleep(sleep)
                    sleep = min(sleep * 2, 0.05)
                    continue
                try:
                    os.write(fd, me)
                finally:
                    os.close(fd)
                return True

        def _take_over_dead(self) -> bool:
            try:
                text = Path(self._lock_file).read_text()
            except OSError:
                return True  # released meanwhile: try again
            if not holder_dead(text):
                return False
            moved = f"{self._lock_file}.{uuid.uuid4().hex}.stale"
            try:
                os.rename(self._lock_file, moved)
            except OSError:
                return True  # another process took it over first
            try:
                if Path(moved).read_text() != text:  # a live holder's lock, made since we read: put it back
                    with contextlib.suppress(OSError):
                        os.link(moved, self._lock_file)
            finally:
                os.unlink(moved)
            return True

    return Lock(path)


_HINTS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
          errno.EFBIG: "the file is too large for the disk or a file-size limit",
          errno.EROFS: "the file system is read-only", errno.EACCES: "no permission to write here",
          errno.EPERM: "no permission to write here", errno.ENOTDIR: "a part of the path is a file, not a folder",
          errno.ENOENT: "the folder does not exist", errno.EEXIST: "a part of the path is a file, not a folder"}


def os_reason(exc: OSError) -> str:
    """``exc``'s reason, with what it usually means here (``No space left on device (the disk is full)``)."""
    hint = _HINTS.get(exc.errno or 0)
    reason = exc.strerror or str(exc)
    return f"{reason} ({hint})" if hint and hint.lower() != reason.lower() else reason


def write_failure(exc: OSError, url: str | None) -> str:
    """One clear message for a failed write during a search (disk full, read-only folder)."""
    where = exc.filename if exc.filename else describe(url)
    return (f"cannot write {where}: {os_reason(exc)}. Finished trials are kept in {describe(url)}; "
            "make room (or pick a writable folder or --storage) and run the same command again to resume")


def repair_journal(path: Path, lock: Any) -> Path | None:
    """Cut a last record that was written only in part (a crash or a full disk while writing).

    Optuna skips such a tail when reading but appends the next record right after it, which makes
    the whole file unreadable. The cut bytes are kept beside the file (``NAME.partial-TIME``); the
    store opens from every complete record. Returns the backup's path, or None when nothing was cut.
    """
    if _complete_up_to(path) is None:
        return None
    try:
        lock.acquire()
    except OSError:
        return None  # a read-only place: reading skips the partial tail anyway; writing will say why it fails
    try:
        keep = _complete_up_to(path)  # again, now that no writer can be half-way through a record
        if keep is None:
            return None
        with open(path, "rb") as f:
            f.seek(keep)
            tail = f.read()
        backup = path.with_name(f"{path.name}.partial-{time.strftime('%Y%m%d-%H%M%S')}")
        backup.write_bytes(tail)
        os.truncate(path, keep)
    except OSError:
        return None
    finally:
        lock.release()
    print(f"note: {path}: its last record was cut short (a crash or a full disk while writing); its "
          f"{len(tail)} bytes were moved to {backup} and the store opens from every complete record.",
          file=sys.stderr)
    return backup


def _complete_up_to(path: Path, most: int = 3) -> int | None:
    """The size the journal should be cut to, or None when its last record is complete.

    Only a short tail is cut (``most`` lines that are not whole records: a record written in part, a
    block of zeros): a file whose last lines are all unreadable is not a journal cut short; it is left alone.
    """
    try:
        with open(path, "rb") as f:
            end = keep = f.seek(0, os.SEEK_END)
            for _ in range(most + 1):
                if keep == 0:  # nothing whole before: the first record was cut short
                    break
                start = _line_start(f, keep)
                f.seek(start)
                line = f.read(keep - start)
                if line.endswith(b"\n") and _is_record(line):
                    break
                keep = start
            else:
                return None
    except OSError:
        return None
    return None if keep == end else keep


def _line_start(f: Any, end: int, chunk: int = 1 << 16) -> int:
    """Where the line that ends at ``end`` (its newline excluded) starts."""
    pos = end - 1  # the line's own newline, if any, is at end - 1
    while pos > 0:
        step = min(chunk, pos)
        f.seek(pos - step)
        found = f.read(step).rfind(b"\n")
        if found >= 0:
            return pos - step + found + 1
        pos -= step
    return 0


def _is_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _missing_sqlite_file(url: str) -> bool:
    """True for ``sqlite:///PATH`` whose file does not exist (opening it would create an empty database)."""
    if not url.startswith("sqlite:///"):
        return False
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return bool(path) and path != ":memory:" and not Path(path).exists()


def _engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("postgresql"):
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    return {}


def load_study(name: str | None, storage_url: str | None) -> optuna.Study | None:
    """Load the named study, or the only one in the store; list them when there are several."""
    import optuna

    storage = open_storage(storage_url, must_exist=True)
    try:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign store
        raise StorageError(f"cannot read the store: {type(exc).__name__}: {shorten(mask(str(exc)), 200)}",
                           source=describe(storage_url)) from None
    if not names:
        raise StorageError("the store holds no study yet; run `tunecli search SPACE.yaml` first",
                           source=describe(storage_url))
    if name is None:
        if len(names) > 1:
            return None
        name = names[0]
    if name not in names:
        raise StorageError(f"no study named {show(name)}; studies here: {shorten(', '.join(names), 200)}",
                           source=describe(storage_url), field="STUDY")
    return optuna.load_study(study_name=name, storage=storage)


@dataclass
class StudySummary:
    name: str
    engine: str
    complete: int
    pruned: int
    failed: int
    running: int
    best: float | None
    direction: str
    last_update: str | None


def summarize(storage: optuna.storages.BaseStorage) -> list[StudySummary]:
    """One line per study in the store."""
    import optuna

    out = []
    for s in optuna.get_all_study_summaries(storage, include_best_trial=False):
        study = optuna.load_study(study_name=s.study_name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        counts = {st: sum(t.state == st for t in trials) for st in optuna.trial.TrialState}
        done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        best = (max if maximize else min)((t.value for t in done), default=None)
        ends = [t.datetime_complete for t in trials if t.datetime_complete]
        out.append(StudySummary(s.study_name, study.user_attrs.get("engine", "optuna"),
                                counts[optuna.trial.TrialState.COMPLETE], counts[optuna.trial.TrialState.PRUNED],
                                counts[optuna.trial.TrialState.FAIL], counts[optuna.trial.TrialState.RUNNING], best,
                                "maximize" if maximize else "minimize",
                                max(ends).strftime("%Y-%m-%d %H:%M") if ends else None))
    return out
