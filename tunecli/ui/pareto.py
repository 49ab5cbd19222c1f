"""The Pareto table of a study of several objectives, and the cost of the best trial of a study of one.

``search`` and ``report`` call ``show_front`` after their trials table: with several objectives it prints the
Pareto-optimal trials (``studies.pareto``) sorted by the first objective, each with every objective, the re-ranked
mean where there is one, and the knee marked; with one objective, one line with what the best trial's network costs.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from tunecli.studies import pareto
from tunecli.studies.results import best_row
from tunecli.ui.console import console

#: The knee's mark in the table.
KNEE_MARK = "◆"
#: How each cost is shown: its column title and its cell.
COST_TITLES = {"params": "params", "latency": "latency ms", "size": "size kB"}


def cost_cell(name: str, row: dict[str, Any]) -> str:
    """One cost of a row as a cell: ``12,345`` params, ``0.041 ±0.003`` ms (median, interquartile range), ``26.3`` kB."""
    value = (row.get("costs") or {}).get(name)
    if value is None:
        return "—"
    if name == "params":
        return f"{int(value):,}"
    if name == "size":
        return f"{value / 1e3:.1f}"
    spread = row.get("latency_iqr")
    return f"{value:.3f}" + (f" ±{spread:.3f}" if spread is not None else "")


def costs_text(row: dict[str, Any]) -> str:
    """``12,345 params, 0.041 ms per 256 rows, ~26.3 kB`` (what is measured)."""
    costs = row.get("costs") or {}
    parts = []
    if costs.get("params") is not None:
        parts.append(f"{int(costs['params']):,} params")
    if costs.get("latency") is not None:
        parts.append(f"{costs['latency']:.3f} ms per 256 rows")
    if costs.get("size") is not None:
        parts.append(f"~{costs['size'] / 1e3:.1f} kB")
    return ", ".join(parts)


def pareto_table(rows: list[dict[str, Any]], names: Sequence[str], directions: Sequence[str]) -> Table:
    """The Pareto-optimal trials, best first by the first objective, the knee marked (see ``studies.pareto``)."""
    optimal = pareto.front(rows, names, directions)
    knee = pareto.knee(optimal, names, directions)
    table = Table(header_style="header", box=box.SIMPLE_HEAD, pad_edge=False)
    extra = [c for c in ("params", "latency") if c not in names]   # measured anyway: shown, muted
    reranked = any(len(r.get("repeats") or []) >= 2 for r in optimal)
    table.add_column("", no_wrap=True)
    table.add_column("#", justify="right", style="muted")
    table.add_column(names[0], justify="right", style="value")
    if reranked:
        table.add_column("mean ×runs", justify="right")
    for name in [*names[1:], *extra]:
        table.add_column(COST_TITLES[name], justify="right", style="muted" if name in extra else None, no_wrap=True)
    for row in optimal:
        cells = [f"[chosen]{KNEE_MARK}[/]" if row is knee else "", str(row["number"]), f"{row['search_value']:.4f}"]
        if reranked:
            cells.append(_mean_cell(row))
        table.add_row(*cells, *[cost_cell(name, row) for name in [*names[1:], *extra]])
    return table


def front_title(rows: list[dict[str, Any]], names: Sequence[str], directions: Sequence[str]) -> str:
    """``Pareto front: 4 of 20 complete trials (val_accuracy max, params min)``."""
    optimal = pareto.front(rows, names, directions)
    counted = [r for r in rows if r["state"] == "COMPLETE" and not r.get("discarded")]
    aims = ", ".join(f"{n} {'max' if d == 'maximize' else 'min'}" for n, d in zip(names, directions))
    return f"Pareto front: {len(optimal)} of {len(counted)} complete trials ({aims})"


def _mean_cell(row: dict[str, Any]) -> str:
    runs = [v for v in row.get("repeats") or [] if v is not None]
    return f"{statistics.fmean(runs):.4f} ×{len(runs)}" if len(runs) >= 2 else ""


def notes(rows: list[dict[str, Any]], names: Sequence[str]) -> list[str]:
    """What the table's marks and units mean, and how many trials broke a constraint."""
    out = [pareto.KNEE, f"{names[0]}: the trial's own run; latency: 256 rows, one CPU thread, median ± IQR; "
           "size: the .keras file, estimated."]
    broken = [r for r in rows if r["state"] == "COMPLETE" and r.get("violated")]
    if broken:
        shown = ", ".join(f"#{r['number']} ({'; '.join(map(str, r['violated']))})" for r in broken[:6])
        more = f" and {len(broken) - 6} more" if len(broken) > 6 else ""
        subject = "1 complete trial" if len(broken) == 1 else f"{len(broken)} complete trials"
        out.append(f"{subject} broke a constraint, left out of the front and never the best: {shown}{more}.")
    return out


def show_front(rows: list[dict[str, Any]], names: Sequence[str], directions: Sequence[str], *, study: str,
               out: Console = console) -> None:
    """After a trials table, on ``out``: the Pareto table (several objectives) or what the best trial costs (one)."""
    if len(names) > 1:
        out.print(front_title(rows, names, directions), style="header")
        out.print(pareto_table(rows, names, directions))
        for line in notes(rows, names):
            out.print(f"[muted]{line}[/]")
        out.print(f"[muted]Pick one: tunecli report {study} --export FILE --pick knee (or a trial number, or a "
                      f"rule such as 'params<=20000'); tunecli train SPACE.yaml --pick knee trains it.[/]")
        return
    best = best_row(rows, directions[0])
    if best is not None and costs_text(best):
        out.print(f"[muted]Best trial #{best['number']}'s network: {costs_text(best)}.[/]")


def model_costs(costs: dict[str, Any] | None, search: dict[str, Any] | None, file_bytes: int | None) -> str | None:
    """``network: 4,810 params, 0.041 ms per 256 rows (in the search: 4,810 params, 0.040 ms); file 43.2 kB``."""
    if not costs:
        return None
    text = f"network: {costs_text({'costs': costs})}"
    if search:
        shown = [f"{int(search['params']):,} params" if search.get("params") is not None else "",
                 f"{search['latency']:.3f} ms" if search.get("latency") is not None else ""]
        text += f" (in the search: {', '.join(s for s in shown if s)})"
    return text + (f"; saved file {file_bytes / 1e3:.1f} kB" if file_bytes else "")
