"""Rendering of core results for the terminal (tables and messages); no computing here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunecli.console import console, err_console, trials_table
from tunecli.results import ranked, varying_columns

if TYPE_CHECKING:
    from tunecli.search import SearchOutcome

TOP = 10


def search_outcome(outcome: SearchOutcome) -> None:
    rows = ranked(outcome.rows, outcome.objective.direction)
    counted = [r for r in rows if not r["interrupted"]]
    console.print(f"[dim]{outcome.dataset}[/]")
    if counted:
        columns = varying_columns(counted) or list(counted[0]["params"])[:6]
        title = f"Study {outcome.study}: top {min(TOP, len(counted))} of {len(counted)} trials"
        console.print(trials_table(counted[:TOP], columns, outcome.objective.metric, title=title))
    best = outcome.best
    if best is None:
        err_console.print("[yellow]No trial completed, so there is no best configuration yet.[/]")
    else:
        console.print(f"Best {outcome.objective.metric}: [bold]{best['value']:.4f}[/] (trial #{best['number']}); "
                      f"{outcome.ran} trials ran in {outcome.seconds:.1f}s; stored in {outcome.storage}")
    if outcome.best_path:
        console.print(f"Best configuration written to [bold]{outcome.best_path}[/]")
    if outcome.interrupted:
        err_console.print(f"[yellow]Interrupted.[/] Finished trials are stored in {outcome.storage}; "
                          "run the same command again to resume.")
