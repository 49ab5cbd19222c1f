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


def test_narrow_terminal_makes_room_for_the_parameters_first_and_says_what_it_left_out() -> None:
    importance = {c: i / 10 for i, c in enumerate(reversed(COLUMNS))}  # n_hidden most important
    table = tables.trials_table(_rows(), COLUMNS, "val_accuracy", flags=True, importance=importance, width=100)
    lines = _render(table, 100)
    header = _header(lines)
    assert header[:4] == ["rank", "#", "val_accuracy", "hid"]  # parameters by importance, short names
    assert [tables.SHORT[c] for c in COLUMNS] == header[3:11]  # every parameter fits at 100 columns
    assert header[11:] == ["epochs", "seconds", "flags"] and "state" not in header
    text = "\n".join(lines)
    assert "every trial shown is complete" in text  # one state for all: said once, not in a column
    assert "hid n_hidden, units n_neurons" in text  # what the short names stand for
    assert "not shown" not in text
    assert max(len(line.rstrip()) for line in lines) <= 100


#: A quick start's top trials: eight parameters (momentum only with its optimizer), re-ranked, pruned, flagged.
QUICKSTART = ["n_hidden", "n_neurons", "learning_rate", "activation", "optimizer", "momentum", "dropout"]
IMPORTANCE = {"learning_rate": 0.41, "n_neurons": 0.2, "optimizer": 0.15, "dropout": 0.1, "n_hidden": 0.08,
              "activation": 0.06}  # momentum: conditional, fANOVA leaves it out


def _quickstart_rows() -> list[dict]:
    rows = []
    for i in range(10):
        optimizer = ("adam", "nadam", "momentum")[i % 3]
        params = {"n_hidden": 1 + i % 3, "n_neurons": 32 + 21 * i, "learning_rate": 0.000834 * (i + 1.37),
                  "batch_size": 32, "activation": ("relu", "elu", "selu", "gelu")[i % 4], "optimizer": optimizer,
                  "dropout": 0.0317 * i}
        if optimizer == "momentum":
            params["momentum"] = 0.8123 + 0.0171 * i
        rows.append({"number": 19 - i, "value": 0.9852 - 0.0061 * i, "params": params, "epochs": 20 - i,
                     "seconds": 0.7, "state": "PRUNED" if i >= 8 else "COMPLETE", "flags": "CAP ≈" if i < 3 else "",
                     "repeats": [0.9852 - 0.0061 * i, 0.9889, 0.9722] if i < 5 else None})
    return rows


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_five_most_important_parameters_show_at_80_100_and_120_columns(width: int) -> None:
    console = Console(width=width, record=True, theme=THEME)
    console.print(tables.trials_table(_quickstart_rows(), QUICKSTART, "val_accuracy", title="top 10", flags=True,
                                      importance=IMPORTANCE, width=width))
    lines = console.export_text().splitlines()
    header = _header(lines)
    top5 = sorted(IMPORTANCE, key=IMPORTANCE.get, reverse=True)[:5]
    assert all(c in header or tables.SHORT[c] in header for c in top5), header
    assert header.index("lr") < header.index("units") < header.index("opt")  # most important first
    assert max(len(line.rstrip()) for line in lines) <= width
    text = "\n".join(lines)
    assert "0.9852 ±" in text and "0.001977" in text  # the score's noise stays; values at 4 significant digits
    assert ("st: C complete, P pruned" in text) == ("st" in header)
    if width == 80:
        assert "seconds" not in header and "not shown at 80 columns: seconds" in text


def test_a_panel_shows_the_best_configuration_whole_when_parameters_do_not_fit() -> None:
    console = Console(width=60, record=True, theme=THEME)
    console.print(tables.trials_table(_quickstart_rows(), QUICKSTART, "val_accuracy", flags=True,
                                      importance=IMPORTANCE, width=60))
    text = console.export_text()
    assert "best configuration (trial #19)" in text
    panel = text[text.index("best configuration"):]
    for name, value in (("learning_rate", "0.001143"), ("activation", "relu"), ("n_hidden", "1")):
        assert f"{name}  " in panel and value in panel


def _header(lines: list[str]) -> list[str]:
    return next(line for line in lines if "val_accuracy" in line).split()


def test_remaining_time_by_pace_and_by_timeout() -> None:
    progress = SearchProgress(10, 0, "val_accuracy", 20, live=False, timeout=None)
    assert progress.remaining() is None
    progress.started -= 20.0
    progress.done = progress.done_here = 4
    assert progress.remaining() == pytest.approx(30.0, abs=0.5)
    progress.timeout = 25.0
    assert progress.remaining() == pytest.approx(5.0, abs=0.5)
    assert clock(42) == "42s" and clock(185) == "3m05s" and clock(3720) == "1h02m"

