"""Rendering of core results for the terminal (tables and messages); no computing here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box

from tunecli.console import console, err_console, fmt, trials_table
from tunecli.results import ranked, varying_columns

if TYPE_CHECKING:
    from tunecli.report import StudyReport
    from tunecli.search import SearchOutcome

TOP = 10


def search_outcome(outcome: SearchOutcome) -> None:
    rows = ranked(outcome.rows, outcome.objective.direction)
    counted = [r for r in rows if not r["discarded"]]
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


def study_list(summaries: list) -> None:  # list[storage.StudySummary]
    from rich.table import Table

    table = Table(title="Studies in this store (name one: tunecli report STUDY)", title_justify="left",
                  header_style="bold", box=box.SIMPLE_HEAD)
    for col in ("study", "engine", "complete", "pruned", "failed", "best", "last update"):
        table.add_column(col, justify="right" if col in ("complete", "pruned", "failed", "best") else "left")
    for s in summaries:
        table.add_row(s.name, s.engine, str(s.complete), str(s.pruned), str(s.failed),
                      "—" if s.best is None else f"{s.best:.4f}", s.last_update or "—")
    console.print(table)


def study_report(report: StudyReport, top: int) -> None:
    from rich.panel import Panel

    from tunecli.diagnose import LEGEND, diagnose

    s = report.summary()
    counts = ", ".join(f"{n} {k.lower()}" for k, n in sorted(s["counts"].items()))
    saved = f" ({s['saved_fraction']:.0%} of {s['epochs_cap']} saved by pruning and early stopping)" \
        if s["saved_fraction"] is not None else ""
    best = "—" if s["best_value"] is None else f"[bold]{s['best_value']:.4f}[/] (trial #{s['best_trial']})"
    lines = [
        f"objective  {s['objective']} ({s['direction']})   best {best}",
        f"engine     {s['engine']} / {s['algorithm']}   pruner {s['pruner']}",
        f"trials     {counts}",
        f"time       {s['total_seconds']:.1f}s in trials, median {s['median_seconds']}s per trial",
        f"epochs     {s['epochs_run']} run{saved}",
    ]
    if s["fixed"]:
        lines.append("fixed      " + ", ".join(f"{k}={fmt(v)}" for k, v in s["fixed"].items()))
    console.print(Panel("\n".join(lines), title=f"study {report.study}", subtitle=report.storage, expand=False))
    rows = [r for r in ranked(report.rows, report.direction) if not r["discarded"]][:top]
    max_epochs = report.attrs.get("max_epochs")
    for row in rows:
        row["flags"] = " ".join(diagnose(row, max_epochs))
    columns = report.varying() + (["lr_used"] if any(r.get("lr_used") for r in rows) else [])
    for row in rows:
        if row.get("lr_used"):
            row["params"] = {**row["params"], "lr_used": row["lr_used"]}
    table = trials_table(rows, columns, report.objective, title=f"top {len(rows)} trials", flags=True)
    console.print(table)
    _importances(report)
    used = sorted({f for r in rows for f in r["flags"].split()})
    for flag in used:
        console.print(f"[bold]{flag}[/] {LEGEND[flag]}")


def _importances(report: StudyReport) -> None:
    from rich.table import Table

    if not report.importances:
        if report.importance_note:
            console.print(f"[dim]{report.importance_note}[/]")
        return
    title = "What mattered (fANOVA importance)" + (f"; {report.importance_note}" if report.importance_note else "")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, header_style="bold")
    table.add_column("parameter")
    table.add_column("importance", justify="right")
    table.add_column("")
    for name, value in report.importances.items():
        table.add_row(name, f"{value:.3f}", "█" * max(1, round(value * 40)))
    console.print(table)


def note(text: str) -> None:
    err_console.print(text, soft_wrap=True)


def train_outcome(outcome) -> None:  # noqa: ANN001 - train.TrainOutcome
    search = "—" if outcome.search_score is None else f"{outcome.search_score:.4f}"
    console.print(f"test {outcome.metric}: [bold]{outcome.test_score:.4f}[/]   "
                  f"(search's validation {outcome.metric}: {search}; {outcome.epochs} epochs, {outcome.seconds:.1f}s)")
    if outcome.mc_passes:
        console.print(f"MC dropout ({outcome.mc_passes} passes): test {outcome.metric} of the mean prediction "
                      f"{outcome.mc_mean:.4f}; spread of single passes ±{outcome.mc_std:.4f}")
    if outcome.model_path:
        console.print(f"model saved to [bold]{outcome.model_path}[/]")


def lr_find_outcome(outcome) -> None:  # noqa: ANN001 - lr_find.LRFindOutcome
    from rich.table import Table

    result = outcome.result
    console.print(f"[dim]{outcome.dataset}[/]")
    shown = {k: v for k, v in outcome.config.items() if k != "learning_rate"}
    console.print(f"model: {outcome.config_source}: " + ", ".join(f"{k}={fmt(v)}" for k, v in shown.items()))
    _terminal_plot(result)
    table = Table(title="Suggested learning rates", title_justify="left", box=box.SIMPLE_HEAD, header_style="bold")
    table.add_column("rule")
    table.add_column("learning rate", justify="right")
    table.add_column("how")
    how = {"valley": "inside the longest falling stretch (fastai's default)",
           "steep": "steepest descent of loss vs log(lr)", "minimum": "LR at the lowest loss / 10",
           "slide": "fastai's interval slide rule", "divergence": "10x below where the loss starts to climb"}
    for name, lr in result.suggestions.items():
        mark = "[bold green]→ " if name == result.rule else "  "
        table.add_row(f"{mark}{name}[/]" if name == result.rule else f"{mark}{name}", f"{lr:.3g}", how[name])
    console.print(table)
    low, high = result.bounds()
    console.print(f"Suggested learning rate ({result.rule}): [bold]{result.lr:.3g}[/]   "
                  f"search bounds: {low:.3g} to {high:.3g} (log-uniform)")
    console.print(f"[dim]{result.steps} steps in {result.seconds:.1f}s"
                  f"{'; stopped early: the loss exploded' if result.stopped_early else ''}[/]")
    for text in result.notes:
        console.print(f"[dim]{text}[/]")


def _terminal_plot(result, width: int = 72, height: int = 14) -> None:  # noqa: ANN001
    """Loss vs log10(LR) drawn with characters; the chosen rule's LR marked with '|'."""
    import math

    xs = [math.log10(x) for x in result.lrs]
    ys = [y for y in result.losses if math.isfinite(y)]
    if len(ys) < 2:
        return
    x0, x1, y0, y1 = xs[0], xs[-1], min(ys), min(max(ys), 4 * min(ys) if min(ys) > 0 else max(ys))
    grid = [[" "] * width for _ in range(height)]
    col = lambda x: min(width - 1, max(0, round((x - x0) / ((x1 - x0) or 1) * (width - 1))))  # noqa: E731
    mark = col(math.log10(result.lr))
    for row in grid:
        row[mark] = "|"
    for x, y in zip(xs, result.losses):
        if math.isfinite(y):
            r = height - 1 - min(height - 1, max(0, round((min(y, y1) - y0) / ((y1 - y0) or 1) * (height - 1))))
            grid[r][col(x)] = "•"
    console.print(f"loss (smoothed) {y1:.3g}", markup=False)
    for row in grid:
        console.print("  " + "".join(row), markup=False, highlight=False)
    console.print(f"  {y0:.3g} at bottom; lr 1e{x0:.1f} … 1e{x1:.1f}; | = {result.rule} {result.lr:.3g}", markup=False)
