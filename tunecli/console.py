"""All terminal output: the one Console, styles, the search progress display and tables."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    import optuna

    from tunecli.trial import TrialResult

def _width(stream: object) -> int | None:
    """Full width on a terminal; a wide fixed width when piped, so tables are not cut."""
    return None if getattr(stream, "isatty", lambda: False)() else 160


console = Console(highlight=False, width=_width(sys.stdout))
err_console = Console(stderr=True, highlight=False, width=_width(sys.stderr))
STATE_STYLE = {"COMPLETE": "green", "PRUNED": "yellow", "FAIL": "red", "RUNNING": "cyan"}


def error(message: str) -> None:
    err_console.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class SearchProgress:
    """Live line while searching: trial i of N, best so far, the running trial's epoch and metric."""

    def __init__(self, total: int, done: int, metric: str, max_epochs: int, *, quiet: bool = False,
                 live: bool = True) -> None:
        self.total, self.done, self.metric, self.max_epochs = total, done, metric, max_epochs
        self.best: float | None = None
        self.maximize = metric.endswith("accuracy")
        self.current: tuple[int, dict[str, Any]] | None = None
        self.epoch_text = ""
        out = err_console if quiet else console
        self.quiet, self.show_live = quiet, live
        self.live = Live(self._render(), console=out, refresh_per_second=8, transient=True,
                         redirect_stdout=False, redirect_stderr=False)

    def __enter__(self) -> SearchProgress:
        if self.show_live and (sys.stderr.isatty() or not self.quiet):
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def _render(self) -> Text:
        best = "—" if self.best is None else f"{self.best:.4f}"
        text = Text(f"trial {min(self.done + 1, self.total)}/{self.total}  best {self.metric} {best}", style="bold")
        if self.epoch_text:
            text.append(f"   {self.epoch_text}", style="dim")
        return text

    def set_best(self, study: optuna.Study) -> None:
        values = [t.value for t in study.get_trials(deepcopy=False) if t.value is not None and t.state.name == "COMPLETE"]
        if values:
            self.best = max(values) if self.maximize else min(values)

    def start_trial(self, number: int, config: dict[str, Any]) -> None:
        self.current = (number, config)
        self.epoch_text = "building…"
        self.live.update(self._render())

    def epoch(self, epoch: int, value: float, logs: dict[str, float]) -> None:  # noqa: ARG002
        self.epoch_text = f"trial #{self.current[0] if self.current else '?'} epoch {epoch}/{self.max_epochs} {self.metric} {value:.4f}"
        self.live.update(self._render())

    def end_trial(self, number: int, result: TrialResult, study: optuna.Study) -> None:
        self.done += 1
        self.set_best(study)
        style = STATE_STYLE.get(result.state, "")
        value = "—" if result.value is None else f"{result.value:.4f}"
        line = Text(f"#{number:<4}", style="dim") + Text(f"{result.state:<9}", style=style)
        line.append(f"{self.metric} {value}  {result.epochs} epochs  {result.seconds:.1f}s")
        if result.reason:
            line.append(f"  {result.reason}", style="red")
        self.live.console.print(line)
        self.epoch_text = ""
        self.live.update(self._render())


def trials_table(rows: list[dict[str, Any]], columns: list[str], metric: str, title: str | None = None,
                 flags: bool = False) -> Table:
    """Top trials: rank, value, the varying parameters, epochs, seconds, state."""
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    table.add_column("rank", justify="right")
    table.add_column("#", justify="right", style="dim")
    table.add_column(metric, justify="right", style="bold", min_width=len(metric))
    for col in columns:
        table.add_column(col, min_width=min(len(col), 14))
    for extra in ("epochs", "seconds", "state"):
        table.add_column(extra, justify="right" if extra != "state" else "left")
    if flags:
        table.add_column("flags", style="magenta")
    for rank, row in enumerate(rows, 1):
        value = "—" if row["value"] is None else f"{row['value']:.4f}"
        cells = [str(rank), str(row["number"]), value]
        cells += [fmt(row["params"].get(c, "")) for c in columns]
        state = row["state"]
        cells += [str(row.get("epochs", "")), f"{row.get('seconds', 0):.1f}",
                  f"[{STATE_STYLE.get(state, '')}]{state}[/]"]
        if flags:
            cells.append(row.get("flags", ""))
        table.add_row(*cells)
    return table
