"""Every table tunecli prints: trials, studies of a store, importances, LR suggestions."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

from rich import box
from rich.measure import Measurement
from rich.table import Table

from tunecli.config.catalogue import LR_RULES
from tunecli.ui.console import console, fmt, state_style

if TYPE_CHECKING:
    from tunecli.lrfinder.rules import LRFindResult
    from tunecli.studies.summary import StudySummary


def _table(title: str | None) -> Table:
    return Table(title=title, title_justify="left", header_style="header", box=box.SIMPLE_HEAD, pad_edge=False)


def trials_table(rows: list[dict[str, Any]], columns: list[str], metric: str, title: str | None = None,
                 flags: bool = False, importance: dict[str, float] | None = None, width: int | None = None) -> Table:
    """Top trials: rank, value, the varying parameters, epochs, seconds, state (and flags).

    The table fits ``width`` (the terminal's): parameter columns are left out, the least important
    first (by ``importance`` when given, else from the right), and the caption says which.
    """
    width = console.width if width is None else width
    shown, hidden = list(columns), []
    while True:
        table = _trials_table(rows, shown, metric, title, flags)
        if not shown or Measurement.get(console, console.options.update(width=100_000), table).maximum <= width:
            break
        drop = min(shown, key=lambda c: (importance or {}).get(c, 0.0)) if importance else shown[-1]
        shown.remove(drop)
        hidden.insert(0, drop)
    if hidden:
        table.caption = f"not shown (terminal too narrow): {', '.join(hidden)}; all of them: --format json"
        table.caption_justify = "left"
    return table


def _trials_table(rows: list[dict[str, Any]], columns: list[str], metric: str, title: str | None,
                  flags: bool) -> Table:
    table = _table(title)
    table.add_column("rank", justify="right")
    table.add_column("#", justify="right", style="muted")
    table.add_column(metric, justify="right", style="value", min_width=len(metric))
    for col in columns:
        table.add_column(col, min_width=min(len(col), 14), no_wrap=True)
    for extra in ("epochs", "seconds", "state"):
        table.add_column(extra, justify="right" if extra != "state" else "left", no_wrap=True)
    if flags:
        table.add_column("flags", style="flag", no_wrap=True, min_width=5)
    for rank, row in enumerate(rows, 1):
        cells = [str(rank), str(row["number"]), _value_cell(row)]
        cells += [fmt(row["params"].get(c, "")) for c in columns]
        state = row["state"]
        style = state_style(state)
        cells += [str(row.get("epochs", "")), f"{row.get('seconds', 0):.1f}", f"[{style}]{state}[/]" if style else state]
        if flags:
            cells.append(row.get("flags", ""))
        table.add_row(*cells)
    return table


def _value_cell(row: dict[str, Any]) -> str:
    """``0.9833``; a re-ranked trial: ``0.9806 ±0.0028 ×3`` (mean, standard deviation, runs)."""
    if row["value"] is None:
        return "—"
    runs = [v for v in row.get("repeats") or [] if v is not None]
    if len(runs) < 2:
        return f"{row['value']:.4f}"
    return f"{row['value']:.4f} ±{statistics.stdev(runs):.4f} ×{len(runs)}"


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
    """Each rule's suggestion; the chosen one marked."""
    table = _table("Suggested learning rates")
    table.add_column("rule")
    table.add_column("learning rate", justify="right")
    table.add_column("how")
    for name, lr in result.suggestions.items():
        label = f"[chosen]→ {name}[/]" if name == result.rule else f"  {name}"
        table.add_row(label, f"{lr:.3g}", LR_RULES[name])
    return table
