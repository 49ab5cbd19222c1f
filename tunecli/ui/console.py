"""The one Console pair (stdout, stderr) and every style tunecli uses, by name.

Other modules write markup only with these names (``[muted]…[/]``), never with colours.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
from typing import Any

from rich.console import Console
from rich.text import Text
from rich.theme import Theme

#: Every style of tunecli's output: change a colour here and every command follows.
THEME = Theme({
    "muted": "dim",
    "value": "bold",
    "header": "bold",
    "path": "bold",
    "warn": "yellow",
    "error": "bold red",
    "reason": "red",
    "flag": "magenta",
    "chosen": "bold green",
    "state.COMPLETE": "green",
    "state.PRUNED": "yellow",
    "state.FAIL": "red",
    "state.RUNNING": "cyan",
})


def _width(stream: object) -> int | None:
    """``COLUMNS`` when set; else the full width on a terminal, and a wide fixed width when piped or redirected."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if getattr(stream, "isatty", lambda: False)() else 160


class _Console(Console):
    """Rich's Console, except that a reader that goes away ends the command quietly with 0."""

    def on_broken_pipe(self) -> None:
        """``tunecli report | head -3``: ``head`` has read enough; that is no error (``git log | head`` exits 0)."""
        self.quiet = True
        _to_devnull(self.file)
        raise SystemExit(0)


console = _Console(highlight=False, width=_width(sys.stdout), theme=THEME)
err_console = _Console(stderr=True, highlight=False, width=_width(sys.stderr), theme=THEME)


def _to_devnull(stream: Any) -> None:
    """What is left to write to ``stream`` goes to /dev/null (so that no flush at exit fails again)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def stdout_gone() -> bool:
    """True when stdout is a pipe whose reader has gone (``| head``); what is left to print then goes to /dev/null.

    Flushes stdout, and asks the pipe itself: another broken pipe (a worker's) is not stdout's.
    """
    try:
        sys.stdout.flush()
        gone = _reader_closed(sys.stdout.fileno())
    except BrokenPipeError:
        gone = True
    except (OSError, ValueError, AttributeError):
        return False
    if gone:
        _to_devnull(sys.stdout)
    return gone


def _reader_closed(fd: int) -> bool:
    if not hasattr(select, "poll"):
        return False
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poll.poll(0))


def state_style(state: str) -> str:
    """The style name of a trial state (COMPLETE, PRUNED, FAIL, RUNNING)."""
    return f"state.{state}" if f"state.{state}" in THEME.styles else ""


def error(message: str) -> None:
    """``error: message`` on stderr (the message is never read as markup)."""
    err_console.print(Text("error: ", style="error") + Text(message), soft_wrap=True)


def fmt(value: Any) -> str:
    """A parameter value for a table cell: floats to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
