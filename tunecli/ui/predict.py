"""What ``tunecli predict`` shows: a saved model's story (``--info``), the run's progress bar and its outcome.

Predictions may go to standard output, so everything here but ``--info`` and ``--json`` is written on standard error.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich import box
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from tunecli.ui.console import console, err_console, fmt

if TYPE_CHECKING:
    from tunecli.predict.command import PredictOutcome

SHOWN_NAMES = 6      # a long list of columns or classes: its first few names, then the last
COLUMN_TABLE = 20    # up to this many columns get a table of their own


class ChunkProgress:
    """A progress bar of the rows read (by bytes for a CSV file) on standard error, only on a terminal."""

    def __init__(self, total: float, *, show: bool = True) -> None:
        self.shown = show and err_console.is_terminal and total > 0
        self.bar = Progress(TextColumn("predicting"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                            TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True)
        self.task = self.bar.add_task("rows", total=total)

    def __enter__(self) -> ChunkProgress:
        if self.shown:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.shown:
            self.bar.stop()

    def update(self, completed: float) -> None:
        self.bar.update(self.task, completed=completed)


def predict_outcome(outcome: PredictOutcome, *, as_json: bool = False) -> None:
    """Notes, the score on the file's targets beside the model's own, and where the predictions went (or the JSON
    summary on standard output)."""
    if as_json:
        print(json.dumps(outcome.summary(), indent=2, default=str))
        return
    for text in outcome.notes:
        err_console.print(Text("note: ", style="warn") + Text(text), soft_wrap=True)
    score = outcome.score
    if score is not None:
        line = Text(f"{score['metric']} on the {score['rows']} rows with a target: ") + \
            Text(score_text(score["value"]), style="value")
        line.append(_beside(score["metric"], outcome.model_scores), style="muted")
        err_console.print(line, soft_wrap=True)
        if score["unknown"]:
            what = "a class the model does not know (counted as wrong)" if outcome.classes else "no number (not scored)"
            err_console.print(f"[muted]{score['unknown']} targets hold {what}[/]", soft_wrap=True)
    if outcome.output:
        err_console.print(Text(f"wrote {outcome.rows} predictions to ") + Text(outcome.output, style="path"), soft_wrap=True)


def _beside(metric: str, scores: dict[str, Any]) -> str:
    known = [f"{split} {score_text(scores[split])}" for split in ("validation", "test")
             if scores.get("metric") == metric and isinstance(scores.get(split), (int, float))]
    return f"   (the model's {metric} when trained: {', '.join(known)})" if known else ""


def model_info(info: dict[str, Any], *, as_json: bool = False) -> None:
    """The story a model file tells of itself: inputs, classes, configuration, origin and scores (or it as JSON)."""
    if as_json:
        print(json.dumps(info, indent=2, default=str))
        return
    record = info.get("record")
    if record is None:
        console.print(Text(f"{info['path']}: no tunecli metadata (a Keras model another tool saved); "
                           "tunecli predict feeds it the data file's columns in order.", style="warn"), soft_wrap=True)
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="muted", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in _story(record):
        grid.add_row(key, value)
    console.print(Panel(grid, title=Text(info["path"], style="path"), title_align="left", expand=False))
    columns = record.get("columns") or []
    if 1 < len(columns) <= COLUMN_TABLE:
        table = Table("column", "kind", "input", title="Columns", title_justify="left", header_style="header",
                      box=box.SIMPLE_HEAD, pad_edge=False)
        for column in columns:
            table.add_row(str(column.get("name")), str(column.get("kind")), str(column.get("input")))
        console.print(table)
    config = record.get("config") or {}
    if config:
        table = Table("parameter", "value", title="Configuration", title_justify="left", header_style="header",
                      box=box.SIMPLE_HEAD, pad_edge=False)
        for name, value in config.items():
            table.add_row(str(name), fmt(value))
        console.print(table)


def _story(record: dict[str, Any]) -> list[tuple[str, str]]:
    classes = [str(c) for c in record.get("classes") or []]
    task = record.get("task", "?")
    kind = f"{task}: {len(classes)} classes ({_names(classes)})" if classes else str(task)
    rows = [("task", kind), ("target", str(record.get("target") or "— (an array's y)")),
            ("inputs", _inputs(record.get("columns") or []))]
    if record.get("ignored"):
        rows.append(("ignored", ", ".join(f"{k} ({v})" for k, v in list(record["ignored"].items())[:SHOWN_NAMES])
                     + (" …" if len(record["ignored"]) > SHOWN_NAMES else "")))
    passes = record.get("mc_passes") or 0
    rows.append(("outputs", f"{record.get('outputs', '?')}" + (f"; MC dropout: mean of {passes} passes" if passes else "")))
    rows.append(("model", _origin(record)))
    rows.append(("scores", _scores(record.get("scores") or {})))
    data = record.get("data") or {}
    rows.append(("data", f"{data.get('source', '?')}" + (f", {data['rows']} training rows" if data.get("rows") else "")))
    rows.append(("written by", f"tunecli {record.get('tunecli_version', '?')} (format {record.get('format')})"))
    return rows


def _inputs(columns: list[dict[str, Any]]) -> str:
    names = [str(c.get("name")) for c in columns]
    kinds = [c.get("kind") for c in columns]
    counts = ", ".join(f"{kinds.count(k)} {k}" for k in ("number", "text") if k in kinds)
    inputs = len({c.get("input") for c in columns})
    return f"{len(columns)} columns ({counts}; {inputs} model input{'s' if inputs != 1 else ''}): {_names(names)}"


def _origin(record: dict[str, Any]) -> str:
    origin = record.get("origin") or {}
    kind = record.get("model") or "model"
    text = f"{kind}, trial #{origin.get('trial')} of study {origin.get('study')}" if origin else str(kind)
    members = record.get("members") or []
    if members:
        text += "; members: " + ", ".join(f"#{m.get('trial')} ×{fmt(m.get('weight'))}" for m in members[:SHOWN_NAMES])
    return text


def _scores(scores: dict[str, Any]) -> str:
    metric = scores.get("metric", "score")
    parts = [f"{split} {score_text(scores[split])}" for split in ("validation", "test")
             if isinstance(scores.get(split), (int, float))]
    return f"{metric}: {', '.join(parts)}" if parts else "—"


def score_text(value: float) -> str:
    """``0.9778``; a score in a target's large units without its noise digits (``64,729``)."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4f}"


def _names(names: list[str]) -> str:
    if len(names) <= SHOWN_NAMES + 1:
        return ", ".join(names)
    return ", ".join(names[:SHOWN_NAMES]) + f", … {names[-1]}"

