"""The one Console pair (stdout, stderr) and every style tunecli uses, by name.

Other modules write markup only with these names (``[muted]…[/]``), never with colours.
"""

from __future__ import annotations

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
    """Full width on a terminal; a wide fixed width when piped, so tables are not cut."""
    return None if getattr(stream, "isatty", lambda: False)() else 160


console = Console(highlight=False, width=_width(sys.stdout), theme=THEME)
err_console = Console(stderr=True, highlight=False, width=_width(sys.stderr), theme=THEME)


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
