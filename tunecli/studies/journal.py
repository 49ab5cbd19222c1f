"""The journal file store's own care: a lock that knows its holder, and the repair of a record cut short.

Imported when a journal is opened (it subclasses Optuna's lock, so it imports Optuna).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optuna.storages.journal import JournalFileOpenLock

from tunecli.liveness import holder, holder_dead

#: The lock file is the journal's path plus this (Optuna's own name, so that both kinds of lock exclude each other).
LOCK_SUFFIX = ".lock"


@dataclass
class _Wait:
    """How long the lock file has looked unchanged, and the next pause before trying again."""

    mtime: float | None = None
    since: float = field(default_factory=time.monotonic)
    pause: float = 0.001

    def sleep(self) -> None:
        time.sleep(self.pause)
        self.pause = min(self.pause * 2, 0.05)


class JournalLock(JournalFileOpenLock):
    """Optuna's journal lock (a file made with O_EXCL), with two changes.

    - The lock file names its holder (``liveness.holder()``); a lock left by a process of this machine that died
      while writing (SIGKILL, out of memory) is taken over at once rather than after Optuna's 30 s grace.
    - A lock file that cannot be created raises its OSError (disk full, read-only folder): Optuna's own
      clean-up after the failure hides it behind ``RuntimeError: did not possess lock``.

    Both of Optuna's methods are replaced, so the lock file's path is kept here (``path``) rather than read from
    Optuna's private attribute.
    """

    def __init__(self, journal: str, grace_period: int | None = 30) -> None:
        super().__init__(journal, grace_period)
        self.path = journal + LOCK_SUFFIX

    def acquire(self) -> bool:
        """Wait for the lock file and create it, naming this process in it."""
        wait = _Wait()
        while (fd := self._create()) is None:
            if not self.take_over_dead() and not self._release_stale(wait):
                wait.sleep()
        try:
            os.write(fd, holder().encode())
        finally:
            os.close(fd)
        return True

    def release(self) -> None:
        """Remove the lock file (renamed first, so that a process that takes it over meanwhile keeps its own).

        Raises:
            RuntimeError: the lock file was not there (as Optuna's lock says it).
        """
        moved = f"{self.path}{uuid.uuid4()}.rename"
        try:
            os.rename(self.path, moved)
            os.unlink(moved)
        except OSError:
            raise RuntimeError("Error: did not possess lock") from None

    def take_over_dead(self) -> bool:
        """Remove a lock file whose holder died; True when the lock is worth trying again at once."""
        try:
            text = Path(self.path).read_text()
        except OSError:
            return True  # released meanwhile: try again
        if not holder_dead(text):
            return False
        moved = f"{self.path}.{uuid.uuid4().hex}.stale"
        try:
            os.rename(self.path, moved)
        except OSError:
            return True  # another process took it over first
        try:
            if Path(moved).read_text() != text:  # a live holder's lock, made since we read: put it back
                with contextlib.suppress(OSError):
                    os.link(moved, self.path)
        finally:
            os.unlink(moved)
        return True

    def _create(self) -> int | None:
        """The new lock file's descriptor; None while another process holds the lock."""
        try:
            return os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return None

    def _release_stale(self, wait: _Wait) -> bool:
        """Release a lock file unchanged for longer than the grace period; True when worth trying again at once."""
        try:
            current = os.stat(self.path).st_mtime
        except OSError:
            return True
        if current != wait.mtime:
            wait.mtime, wait.since = current, time.monotonic()
            return False
        if self.grace_period is None or time.monotonic() - wait.since <= self.grace_period:
            return False
        with contextlib.suppress(RuntimeError):  # another process released it first
            self.release()
        return True


def repair_journal(path: Path, lock: JournalLock) -> Path | None:
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
