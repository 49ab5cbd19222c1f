"""Domain exceptions. Library code raises these; only ``cli.py`` prints them.

Every value a message echoes back goes through ``show`` (or ``shorten``): a hostile file can hold a
string of a megabyte or a list that expands to millions of items, and a message stays one short line.
"""

from __future__ import annotations

import builtins
import errno
import reprlib
from typing import Any

#: At most this many characters of a value echoed back in a message ("…" marks the cut).
MAX_VALUE_CHARS = 40
#: At most this many characters of a dotted field, and of a source path (its end is kept: the file name).
MAX_FIELD_CHARS = 80
MAX_SOURCE_CHARS = 120
#: At most this many characters of a whole message (a safety net for messages built anywhere).
MAX_MESSAGE_CHARS = 450
#: The whole rendered line (the CLI adds "error: ", so a message stays under 500 characters).
MAX_TOTAL_CHARS = 480


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` itself, or its first ``limit - 1`` characters followed by "…"."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


class _ShortRepr(reprlib.Repr):
    """``repr`` that never builds the whole text of a huge or deeply nested value."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = self.maxdict = 6
        self.maxstring = self.maxlong = self.maxother = limit

    def repr_str(self, x: str, level: int) -> str:
        return builtins.repr(x) if len(x) <= self.maxstring else builtins.repr(x[: self.maxstring]) + "…"

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4 * self.maxlong:  # also avoids Python's limit on converting huge ints to text
            return f"<an integer of about {int(x.bit_length() * 0.30103)} digits>"
        return builtins.repr(x)

    def repr_instance(self, x: Any, level: int) -> str:
        if isinstance(x, (bytes, bytearray)):
            return builtins.repr(x[: self.maxother])
        try:
            return builtins.repr(x)[: self.maxother + 1]
        except Exception:  # noqa: BLE001 - a value whose repr fails is still named
            return f"<{type(x).__name__}>"


def show(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A value as a message echoes it: its ``repr``, at most ``limit`` characters (cut with "…")."""
    return shorten(_ShortRepr(limit).repr(value), limit)


#: What an OS error usually means where tunecli writes (a store, a model, a YAML file).
_OS_HINTS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
             errno.EFBIG: "the file is too large for the disk or a file-size limit",
             errno.EROFS: "the file system is read-only", errno.EACCES: "no permission to write here",
             errno.EPERM: "no permission to write here", errno.ENOTDIR: "a part of the path is a file, not a folder",
             errno.ENOENT: "the folder does not exist", errno.EEXIST: "a part of the path is a file, not a folder"}


def os_reason(exc: OSError) -> str:
    """``exc``'s reason, with what it usually means here (``No space left on device (the disk is full)``)."""
    hint = _OS_HINTS.get(exc.errno or 0)
    reason = exc.strerror or str(exc)
    return f"{reason} ({hint})" if hint and hint.lower() != reason.lower() else reason


def one_line(text: str) -> str:
    """Join the lines of ``text`` with "; " (a message is one line)."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


class TuneCliError(Exception):
    """Bad input or usage: the CLI prints the message and exits with code 2."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None) -> None:
        self.message = message
        self.source = source
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        """``source: field: message`` on one line, each part capped (see ``MAX_*_CHARS``)."""
        source = one_line(self.source or "")
        if len(source) > MAX_SOURCE_CHARS:
            source = "…" + source[-(MAX_SOURCE_CHARS - 1):]
        where = ": ".join(part for part in (source, shorten(one_line(self.field or ""), MAX_FIELD_CHARS)) if part)
        room = max(MAX_VALUE_CHARS, MAX_TOTAL_CHARS - len(where) - 2) if where else MAX_TOTAL_CHARS
        message = shorten(one_line(self.message), min(MAX_MESSAGE_CHARS, room))
        return f"{where}: {message}" if where else message


class SpaceError(TuneCliError):
    """The search-space file is malformed or inconsistent."""


class DataError(TuneCliError):
    """The data source is missing, unreadable or unsuitable."""


class StorageError(TuneCliError):
    """The study store cannot be opened or does not hold what was asked for."""


class RunError(TuneCliError):
    """A run-time failure that is not the user's input (exit code 1)."""

    exit_code = 1
