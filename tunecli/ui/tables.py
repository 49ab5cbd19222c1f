"""Every table tunecli prints: trials, studies of a store, importances, LR suggestions."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tunecli.config.catalogue import LR_RULES
from tunecli.ui.console import console, fmt, state_style

if TYPE_CHECKING:
    from tunecli.lrfinder.rules import LRFindResult
    from tunecli.studies.summary import StudySummary


def _table(title: str | None) -> Table:
    return Table(title=title, title_justify="left", header_style="header", box=box.SIMPLE_HEAD, pad_edge=False)


#: Short column headers, used when the full names do not fit (a legend line says what each stands for).
SHORT = {"n_hidden": "hid", "n_neurons": "units", "learning_rate": "lr", "batch_size": "bs", "activation": "act",
         "optimizer": "opt", "momentum": "mom", "dropout": "drop", "initializer": "init", "batch_norm": "bn",
         "schedule": "sched", "weight_decay": "wd", "mc_dropout": "mcd", "max_norm": "maxn", "clipnorm": "clipn",
         "clipvalue": "clipv", "lr_used": "lr*", "beta_1": "b1", "beta_2": "b2"}

#: One letter per trial state, when the words do not fit.
STATE_LETTERS = {"COMPLETE": "C", "PRUNED": "P", "FAIL": "F", "RUNNING": "R", "WAITING": "W"}

#: The columns that are not parameters, in the order they are left out when the table is too wide (the network's
#: costs and the seconds first, then the ×runs of a value, then these).
EXTRAS = ("rank", "epochs", "flags")
FIRST_OUT = ("latency", "params", "seconds")


@dataclass
class _Layout:
    """What a trials table shows; ``_narrower`` takes it one step closer to a given width."""

    params: list[str]
    extras: list[str]
    state: str = "word"  # word | letter | shared (left out: every row has the same)
    short: bool = False
    runs: bool = True  # the value cell's ×N (runs of a re-ranked trial)
    hidden: list[str] = field(default_factory=list)


def trials_table(rows: list[dict[str, Any]], columns: list[str], metric: str, title: str | None = None,
                 flags: bool = False, importance: dict[str, float] | None = None, width: int | None = None,
                 every: str = "--format json") -> Group:
    """Top trials: rank, value, the varying parameters (most important first), epochs, seconds, the network's
    parameters and CPU latency (where the trials measured them), state, flags.

    The table fits ``width`` (the terminal's, or ``COLUMNS``) by giving the parameters the room, one step at a
    time: a one-letter state (or none, where every row shares it), short headers, no latency, no params, no
    seconds, no ×runs, no rank, no epochs, no flags; only then the least important parameters go (``importance``,
    else from the right), and a panel under the table shows the best configuration whole. Lines under the table
    say what changed, and that ``every`` (an option) shows every column.
    """
    width = console.width if width is None else width
    order = sorted(columns, key=lambda c: -(importance or {}).get(c, -1.0)) if importance else list(columns)
    costs = [c for c in ("params", "latency") if any((r.get("costs") or {}).get(c) is not None for r in rows)]
    layout = _Layout(list(order), ["rank", "epochs", "seconds", *costs] + (["flags"] if flags else []))
    table = _trials_table(rows, layout, metric, title)
    while _width(table) > width and _narrower(layout, rows):
        table = _trials_table(rows, layout, metric, title)
    parts: list[Any] = [table, *(Text(line, style="muted") for line in _notes(rows, layout, width, every))]
    if rows and any(c in rows[0]["params"] for c in layout.hidden):
        parts.append(best_panel(rows[0], order))
    return Group(*parts)


def _width(table: Table) -> int:
    return Measurement.get(console, console.options.update(width=100_000), table).maximum


def _narrower(layout: _Layout, rows: list[dict[str, Any]]) -> bool:
    """One step narrower (see ``trials_table``); False when there is no step left."""
    if layout.state == "word":
        layout.state = "shared" if len({r["state"] for r in rows}) == 1 else "letter"
    elif not layout.short and any(_header(c, True) != c for c in layout.params):
        layout.short = True
    elif any(e in layout.extras for e in FIRST_OUT):
        _hide(layout, next(e for e in FIRST_OUT if e in layout.extras))
    elif layout.runs and any(len(r.get("repeats") or []) > 1 for r in rows):
        layout.runs = False
    elif any(e in layout.extras for e in EXTRAS):
        _hide(layout, next(e for e in EXTRAS if e in layout.extras))
    elif layout.params:
        _hide(layout, layout.params[-1])
    else:
        return False
    return True


def _hide(layout: _Layout, column: str) -> None:
    (layout.extras if column in layout.extras else layout.params).remove(column)
    layout.hidden.append(column)


def _header(column: str, short: bool) -> str:
    return SHORT.get(column, column) if short else column


def _trials_table(rows: list[dict[str, Any]], layout: _Layout, metric: str, title: str | None) -> Table:
    table = _table(title)
    table.collapse_padding = True  # two spaces between columns, not three
    extras = layout.extras
    if "rank" in extras:
        table.add_column("rank", justify="right")
    table.add_column("#", justify="right", style="muted")
    table.add_column(metric, justify="right", style="value", min_width=len(metric))
    for col in layout.params:
        header = _header(col, layout.short)
        table.add_column(header, min_width=min(len(header), 14), no_wrap=True)
    for extra in ("epochs", "seconds", "params", "latency"):
        if extra in extras:
            table.add_column(extra, justify="right", no_wrap=True)
    if layout.state != "shared":
        table.add_column("state" if layout.state == "word" else "st", no_wrap=True)
    if "flags" in extras:
        table.add_column("flags", style="flag", no_wrap=True, min_width=5)
    for rank, row in enumerate(rows, 1):
        table.add_row(*_cells(rank, row, layout))
    return table


def _cells(rank: int, row: dict[str, Any], layout: _Layout) -> list[str]:
    extras = layout.extras
    cells = [str(rank)] if "rank" in extras else []
    cells += [str(row["number"]), _value_cell(row, layout.runs)]
    cells += [fmt(row["params"].get(c, "")) for c in layout.params]
    if "epochs" in extras:
        cells.append("—" if row.get("epochs") is None else str(row["epochs"]))
    if "seconds" in extras:
        cells.append(f"{row.get('seconds') or 0:.1f}")
    costs = row.get("costs") or {}
    if "params" in extras:
        cells.append("—" if costs.get("params") is None else f"{costs['params']:,}")
    if "latency" in extras:
        cells.append("—" if costs.get("latency") is None else f"{costs['latency']:.3g}ms")
    if layout.state != "shared":
        state = row["state"]
        text = state if layout.state == "word" else STATE_LETTERS.get(state, state[:1])
        style = state_style(state)
        cells.append(f"[{style}]{text}[/]" if style else text)
    if "flags" in extras:
        cells.append(row.get("flags", ""))
    return cells


def _notes(rows: list[dict[str, Any]], layout: _Layout, width: int, every: str) -> list[str]:
    """The lines under a narrowed table: what each short name stands for, what was left out and where it is."""
    notes = []
    if layout.state == "shared" and rows:
        notes.append(f"every trial shown is {rows[0]['state'].lower()}")
    elif layout.state == "letter":
        used = dict.fromkeys(r["state"] for r in rows)
        notes.append("st: " + ", ".join(f"{STATE_LETTERS.get(s, s[:1])} {s.lower()}" for s in used))
    short = [f"{_header(c, True)} {c}" for c in layout.params if layout.short and _header(c, True) != c]
    if short:
        notes.append(", ".join(short))
    if not layout.runs:
        runs = max(len(r.get("repeats") or []) for r in rows)
        notes.append(f"±: standard deviation of a re-ranked configuration's {runs} runs")
    if layout.hidden:
        notes.append(f"not shown at {width} columns: {', '.join(layout.hidden)}; every column: {every}")
    return notes


def best_panel(row: dict[str, Any], columns: list[str]) -> Panel:
    """The best trial's parameters, one a line: what a narrow table could not show."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="muted")
    grid.add_column()
    for name in columns:
        if name in row["params"]:
            grid.add_row(name, fmt(row["params"][name]))
    return Panel(grid, title=f"best configuration (trial #{row['number']})", title_align="left", expand=False)


def _value_cell(row: dict[str, Any], runs_shown: bool = True) -> str:
    """``0.9833``; a re-ranked trial: ``0.9806 ±0.0028 ×3`` (mean, standard deviation, runs)."""
    if row["value"] is None:
        return "—"
    runs = [v for v in row.get("repeats") or [] if v is not None]
    if len(runs) < 2:
        return f"{row['value']:.4f}"
    return f"{row['value']:.4f} ±{statistics.stdev(runs):.4f}" + (f" ×{len(runs)}" if runs_shown else "")


def studies_table(summaries: list[StudySummary]) -> Table:
    """One line per study of a store."""
    table = _table("Studies in this store (name one: tunecli report STUDY)")
    for col in ("study", "engine", "complete", "pruned", "failed", "best", "last update"):
        table.add_column(col, justify="right" if col in ("complete", "pruned", "failed", "best") else "left")
    for s in summaries:
        table.add_row(s.name, s.engine, str(s.complete), str(s.pruned), str(s.failed),
                      "—" if s.best is None else f"{s.best:.4f}", s.last_update or "—")
    return table


def importances_table(importances: dict[str, float], note: str | None) -> Table:
    """fANOVA importances with a bar each."""
    table = _table("What mattered (fANOVA importance)" + (f"; {note}" if note else ""))
    table.add_column("parameter")
    table.add_column("importance", justify="right")
    table.add_column("")
    for name, value in importances.items():
        table.add_row(name, f"{value:.3f}", "█" * max(1, round(value * 40)))
    return table


def lr_rules_table(result: LRFindResult) -> Table:
    """Each rule's suggestion, lowest learning rate first (the plot's left to right); the chosen one marked."""
    table = _table("Suggested learning rates")
    table.add_column("rule")
    table.add_column("learning rate", justify="right")
    table.add_column("how")
    for name, lr in result.by_lr():
        label = f"[chosen]→ {name}[/]" if name == result.rule else f"  {name}"
        table.add_row(label, f"{lr:.3g}", LR_RULES[name])
    return table
