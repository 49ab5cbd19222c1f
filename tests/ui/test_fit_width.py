"""Tables fit the terminal; the progress display estimates the time left."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tunecli.ui import tables
from tunecli.ui.console import THEME
from tunecli.ui.progress import SearchProgress, clock

COLUMNS = ["n_hidden", "n_neurons", "learning_rate", "batch_size", "activation", "optimizer", "dropout", "momentum"]


def _rows(n: int = 5) -> list[dict]:
    params = {"n_hidden": 2, "n_neurons": 128, "learning_rate": 0.001234, "batch_size": 64, "activation": "selu",
              "optimizer": "nadam", "dropout": 0.25, "momentum": 0.9}
    return [{"number": i, "value": 0.9 + i / 100, "params": params, "epochs": 12, "seconds": 1.5, "state": "COMPLETE",
             "flags": "OVF FLAT"} for i in range(n)]


def _render(table, width: int) -> list[str]:  # noqa: ANN001
    buf = io.StringIO()
    Console(file=buf, width=width, theme=THEME).print(table)
    return buf.getvalue().splitlines()


def test_wide_terminal_shows_every_column() -> None:
    table = tables.trials_table(_rows(), COLUMNS, "val_accuracy", flags=True, width=200)
    text = "\n".join(_render(table, 200))
    assert all(c in text for c in COLUMNS) and "not shown" not in text


def test_narrow_terminal_leaves_out_the_least_important_columns_and_says_which() -> None:
    importance = {c: i / 10 for i, c in enumerate(reversed(COLUMNS))}  # n_hidden most important
    table = tables.trials_table(_rows(), COLUMNS, "val_accuracy", flags=True, importance=importance, width=100)
    lines = _render(table, 100)
    header = next(line for line in lines if "rank" in line)
    for kept in ("val_accuracy", "epochs", "seconds", "state", "flags", "n_hidden"):
        assert kept in header
    assert "momentum" not in header
    caption = " ".join(lines[lines.index(next(line for line in lines if "not shown" in line)):])
    assert "momentum" in caption and "n_hidden" not in caption
    assert max(len(line.rstrip()) for line in lines) <= 100
    assert "COMPLETE" in "\n".join(lines)  # the state column is whole, not cropped


def test_remaining_time_by_pace_and_by_timeout() -> None:
    progress = SearchProgress(10, 0, "val_accuracy", 20, live=False, timeout=None)
    assert progress.remaining() is None
    progress.started -= 20.0
    progress.done = progress.done_here = 4
    assert progress.remaining() == pytest.approx(30.0, abs=0.5)
    progress.timeout = 25.0
    assert progress.remaining() == pytest.approx(5.0, abs=0.5)
    assert clock(42) == "42s" and clock(185) == "3m05s" and clock(3720) == "1h02m"

