"""Rendering of core results for the terminal (tables and messages); no computing here."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from rich.text import Text

from tunecli.studies.diagnostics import LEGEND, diagnose
from tunecli.studies.results import objectives_of, ranked, varying_columns
from tunecli.studies.uncertainty import Z95, plus_minus
from tunecli.ui.console import console, err_console, fmt
from tunecli.ui.lrplot import lr_curve_text
from tunecli.ui.pareto import model_costs, show_front
from tunecli.ui.tables import importances_table, lr_rules_table, studies_table, trials_table

if TYPE_CHECKING:
    from tunecli.lrfinder.command import LRFindOutcome
    from tunecli.search.run import SearchOutcome
    from tunecli.studies.report import StudyReport
    from tunecli.studies.summary import StudySummary
    from tunecli.train import TrainOutcome

TOP = 10


def search_outcome(outcome: SearchOutcome) -> None:
    rows = ranked(outcome.rows, outcome.objective.direction)
    counted = [r for r in rows if not r["discarded"]]
    console.print(f"[muted]{outcome.dataset}[/]")
    if counted:
        columns = varying_columns(counted) or list(counted[0]["params"])[:6]
        title = f"Study {outcome.study}: top {min(TOP, len(counted))} of {len(counted)} trials"
        console.print(trials_table(counted[:TOP], columns, outcome.objective.metric, title=title,
                                   importance=outcome.importances or None, width=console.width, every="--json"))
        same = {k: v for k, v in counted[0]["params"].items() if k not in columns}
        if same:
            console.print(Text("same in every trial: " + ", ".join(f"{k}={fmt(v)}" for k, v in same.items()), style="muted"))
    best = outcome.best
    if best is None:
        err_console.print("[warn]No trial completed, so there is no best configuration yet.[/]")
    else:
        console.print(f"Best {outcome.objective.metric}: [value]{_best_value(best, outcome)}[/] (trial #{best['number']}); "
                      f"{outcome.ran} trials ran in {outcome.seconds:.1f}s; stored in {outcome.storage}")
        reranked = [r for r in counted if r.get("repeats")]
        if reranked:
            runs = max(len(r["repeats"]) for r in reranked)
            more = f", {outcome.reranked} runs now" if outcome.reranked else ""
            which = f"the configuration ran {runs} times" if len(reranked) == 1 else \
                f"the top {len(reranked)} configurations ran {runs} times each"
            console.print(f"[muted]Re-ranked: {which} (fresh seeds, same split{more}); ranked by their mean ± "
                          "standard deviation (×runs).[/]")
    show_front(counted, outcome.objective.names, outcome.objective.directions, study=outcome.study, out=console)
    if outcome.best_path:
        console.print(f"Best configuration written to [path]{outcome.best_path}[/]")
    for text in outcome.notes:
        console.print(text, style="muted", markup=False)
    if outcome.interrupted:
        what = "Stopped by SIGTERM" if outcome.stopped_by == "SIGTERM" else "Interrupted"
        err_console.print(f"[warn]{what}.[/] Finished trials are stored in {outcome.storage}; "
                          "run the same command again to resume (trials still training when it stopped do not count).")


def _best_value(best: dict, outcome: SearchOutcome) -> str:
    """The best score with its noise: mean ± sd over re-ranked runs, else ± its standard error."""
    from tunecli.studies.uncertainty import standard_error

    runs = [v for v in best.get("repeats") or [] if v is not None]
    if len(runs) >= 2:
        return f"{best['value']:.4f} (mean of {len(runs)} runs, sd {statistics.stdev(runs):.4f})"
    return plus_minus(best["value"], standard_error(outcome.objective.metric, best["value"], outcome.val_rows))


def study_list(summaries: list[StudySummary]) -> None:
    console.print(studies_table(summaries))


def study_report(report: StudyReport, top: int) -> None:
    from rich.panel import Panel

    s = report.summary()
    counts = ", ".join(f"{n} {k.lower()}" for k, n in sorted(s["counts"].items()))
    saved = f" ({s['saved_fraction']:.0%} of {s['epochs_cap']} saved by pruning and early stopping)" \
        if s["saved_fraction"] is not None else ""
    ties = len(s["tied_with_best"]) - 1
    within = f"; {ties} more within noise" if ties > 0 else ""
    runs = f"s.e. of the mean of {s['best_runs']} runs, " if (s["best_runs"] or 1) > 1 else (
        "s.e., " if s["best_standard_error"] is not None else "")
    best = "—" if s["best_value"] is None else \
        f"[value]{plus_minus(s['best_value'], s['best_standard_error'])}[/] ({runs}trial #{s['best_trial']}{within})"
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
    max_epochs = report.max_epochs
    tied_numbers = set(s["tied_with_best"])
    for row in rows:
        row["flags"] = " ".join(diagnose(row, max_epochs) + (["≈"] if row["number"] in tied_numbers else []))
    columns = report.varying() + (["lr_used"] if any(r.get("lr_used") for r in rows) else [])
    for row in rows:
        if row.get("lr_used"):
            row["params"] = {**row["params"], "lr_used": row["lr_used"]}
    table = trials_table(rows, columns, report.objective, title=f"top {len(rows)} trials", flags=True,
                         importance=report.importances or None, width=console.width)
    console.print(table)
    show_front(report.rows, *objectives_of(report.attrs, report.direction), study=report.study, out=console)
    _importances(report)
    _flag_legend(rows, s)


def _flag_legend(rows: list[dict], s: dict) -> None:
    """A line for each flag shown: what it means and which trials carry it (``≈``: its interval, in numbers)."""
    for flag in sorted({f for r in rows for f in r["flags"].split()}):
        carriers = [f"#{r['number']}" for r in rows if flag in r["flags"].split()]
        text = LEGEND[flag]
        if flag == "≈" and s["best_standard_error"] is not None:
            best, margin = s["best_value"], Z95 * s["best_standard_error"]
            bound = f"above {best - margin:.4f}" if s["direction"] == "maximize" else f"below {best + margin:.4f}"
            text += f": {best:.4f} ± {margin:.4f}, so {bound}"
        which = "every trial shown" if len(carriers) == len(rows) else "trials " + ", ".join(carriers)
        console.print(f"[value]{flag}[/] {text} [muted]({which})[/]")


def _importances(report: StudyReport) -> None:
    if report.importances:
        console.print(importances_table(report.importances, report.importance_note))
    elif report.importance_note:
        console.print(f"[muted]{report.importance_note}[/]")


def note(text: str) -> None:
    err_console.print(text, soft_wrap=True)


def train_outcome(outcome: TrainOutcome) -> None:
    """The refit's test score (and the kept model's beside it), or with ``--from-search`` the kept model's."""
    if outcome.model == "kept":
        if outcome.kept_note:
            console.print(f"[warn]{outcome.kept_note}[/]")
        _kept_outcome(outcome)
    else:
        search = "—" if outcome.search_score is None else f"{outcome.search_score:.4f}"
        beside = outcome.kept is not None or outcome.kept_note is not None
        console.print(f"{'refit on train + validation: ' if beside else ''}test {outcome.metric}: "
                      f"[value]{outcome.test_score:.4f}[/]   (search's validation {outcome.metric}: {search}; "
                      f"{outcome.epochs} epochs, {outcome.seconds:.1f}s)")
        _mc_line(outcome)
        if outcome.refit_note:
            console.print(f"[warn]{outcome.refit_note}[/]")
        if outcome.kept is not None:
            _kept_outcome(outcome.kept)
        elif outcome.kept_note:
            console.print(f"[muted]kept model of the search: none: {outcome.kept_note}[/]")
    if outcome.ensemble is not None:
        _ensemble_outcome(outcome.ensemble)
    if (line := model_costs(outcome.costs, outcome.search_costs, outcome.file_bytes)) is not None:
        console.print(f"[muted]{line}[/]")
    if outcome.model_path:
        console.print(f"{'kept model' if outcome.model == 'kept' else 'model'} saved to [path]{outcome.model_path}[/]")
    if outcome.kept is not None and outcome.kept.model_path:
        console.print(f"kept model saved to [path]{outcome.kept.model_path}[/]")
    if outcome.ensemble is not None and outcome.ensemble.model_path:
        console.print(f"ensemble saved to [path]{outcome.ensemble.model_path}[/]")
    elif outcome.kept is not None and not outcome.model_path and not outcome.kept.model_path:
        first = "the ensemble" if outcome.ensemble is not None else "the refit"
        console.print(f"[muted]save one with --output FILE ({first}) or --kept-output FILE (the kept model)[/]")


def _mc_line(outcome: TrainOutcome) -> None:
    if outcome.mc_passes:
        console.print(f"MC dropout ({outcome.mc_passes} passes): test {outcome.metric} of the mean prediction "
                      f"{outcome.mc_mean:.4f}; spread of single passes ±{outcome.mc_std:.4f}")


def _ensemble_outcome(ensemble: TrainOutcome) -> None:
    """The ensemble of kept models: its test score, its members and weights, its validation score."""
    if ensemble.note:
        console.print(f"[warn]{ensemble.note}[/]")
    members = ", ".join(f"#{m['trial']} {m['weight']:.2f}" for m in ensemble.members or [])
    console.print(f"ensemble of kept models (trial weight: {members}; chosen on validation): test "
                  f"{ensemble.metric}: [value]{ensemble.test_score:.4f}[/]   (validation {ensemble.metric}: "
                  f"{ensemble.val_score:.4f})")


def _kept_outcome(kept: TrainOutcome) -> None:
    """The model a search trial trained and kept: its test score, and its validation score again."""
    metric = kept.metric
    search = "—" if kept.search_score is None else f"{kept.search_score:.4f}"
    val = "—" if kept.val_score is None else f"{kept.val_score:.4f}"
    console.print(f"kept from the search (trial #{kept.trial}, epoch {kept.epochs}, trained on train only): "
                  f"test {metric}: [value]{kept.test_score:.4f}[/]   (validation {metric}: {val}; "
                  f"in the search: {search})")
    _mc_line(kept)
    if (not kept.mc_passes and kept.val_score is not None and kept.search_score is not None
            and abs(kept.val_score - kept.search_score) > 1e-6 * max(1.0, abs(kept.search_score))):
        console.print("[warn]its validation score is not the search's: the data or its preprocessing "
                      "changed since the search[/]")


def lr_find_outcome(outcome: LRFindOutcome) -> None:
    result = outcome.result
    console.print(f"[muted]{outcome.dataset}[/]")
    shown = {k: v for k, v in outcome.config.items() if k != "learning_rate"}
    console.print(f"model: {outcome.config_source}: " + ", ".join(f"{k}={fmt(v)}" for k, v in shown.items()))
    colour = console.color_system is not None and not console.no_color
    plot = lr_curve_text(result, width=min(console.width, 100) - 2, color=colour)
    if plot:
        console.print(Text.from_ansi(plot, no_wrap=True))
    console.print(lr_rules_table(result))
    low, high = result.bounds()
    console.print(f"Suggested learning rate ({result.rule}): [value]{result.lr:.3g}[/]   "
                  f"search bounds: {low:.3g} to {high:.3g} (log-uniform)")
    console.print(f"[muted]{result.steps} steps on the {'fast' if result.trainer == 'jax' else 'Keras'} trainer "
                  f"in {result.seconds:.1f}s"
                  f"{'; stopped early: the loss exploded' if result.stopped_early else ''}[/]")
    for text in result.notes:
        console.print(f"[muted]{text}[/]")


def dashboard_ready(url: str, store: str | None) -> None:
    """The dashboard's address on stdout (flushed: a script reading it sees it at once)."""
    from tunecli.studies.urls import describe

    console.print(f"Dashboard of {describe(store)} at [path]{url}[/] (Ctrl-C stops it)", soft_wrap=True)
    console.file.flush()
