"""The live display of a running search: a progress bar of trials with elapsed and remaining time,
the best value so far and the running trial's epoch (on a terminal); one plain line per finished trial."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from tunecli.ui.console import console, err_console, error, state_style

if TYPE_CHECKING:
    import optuna

    from tunecli.trial import TrialResult


class SearchProgress:
    """Live line while searching: trial i of N, best so far, the running trial's epoch and metric."""

    error = staticmethod(error)

    def __init__(self, total: int, done: int, metric: str, max_epochs: int, *, quiet: bool = False,
                 live: bool = True, timeout: float | None = None) -> None:
        self.total, self.done, self.metric, self.max_epochs = total, done, metric, max_epochs
        self.started, self.timeout = time.monotonic(), timeout
        self.done_here = 0  # trials finished by this process (the pace for the remaining time)
        self.best: float | None = None
        self.maximize = metric.endswith("accuracy")
        self.current: tuple[int, dict[str, Any]] | None = None
        self.epoch_text = ""
        out = err_console if quiet else console
        self.quiet, self.show_live = quiet, live
        self.live = Live(console=out, refresh_per_second=4, transient=True, redirect_stdout=False,
                         redirect_stderr=False, get_renderable=self._render)

    def __enter__(self) -> SearchProgress:
        if self.show_live and (sys.stderr.isatty() or not self.quiet):
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def _render(self) -> Group:
        best = "—" if self.best is None else f"{self.best:.4f}"
        text = Text(f"trial {min(self.done + 1, self.total)}/{self.total}  best {self.metric} {best}", style="value")
        if self.epoch_text:
            text.append(f"   {self.epoch_text}", style="muted")
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=max(self.total, 1), completed=min(self.done, self.total), width=30),
                    Text(f"{self.done}/{self.total} trials", style="value"),
                    Text(f"elapsed {clock(time.monotonic() - self.started)}", style="muted"),
                    Text(self.remaining_text(), style="muted"))
        return Group(text, bar)

    def remaining(self) -> float | None:
        """Seconds left: by the pace of the trials so far, or by ``timeout``, whichever ends first."""
        elapsed = time.monotonic() - self.started
        estimates = []
        if self.done_here:
            estimates.append(elapsed / self.done_here * max(0, self.total - self.done))
        if self.timeout is not None:
            estimates.append(max(0.0, self.timeout - elapsed))
        return min(estimates) if estimates else None

    def remaining_text(self) -> str:
        left = self.remaining()
        return "remaining —" if left is None else f"remaining ~{clock(left)}"

    def set_best(self, study: optuna.Study) -> None:
        values = [t.values[0] for t in study.get_trials(deepcopy=False) if t.values and t.state.name == "COMPLETE"]
        if values:
            self.best = max(values) if self.maximize else min(values)

    def start_trial(self, number: int, config: dict[str, Any]) -> None:
        self.current = (number, config)
        self.epoch_text = "building…"

    def epoch(self, epoch: int, value: float, logs: dict[str, float]) -> None:  # noqa: ARG002
        number = self.current[0] if self.current else "?"
        self.epoch_text = f"trial #{number} epoch {epoch}/{self.max_epochs} {self.metric} {value:.4f}"

    def end_trial(self, number: int, result: TrialResult, study: optuna.Study) -> None:
        self.done += 1
        self.done_here += 1
        self.set_best(study)
        value = "—" if result.value is None else f"{result.value:.4f}"
        line = Text(f"#{number:<4}", style="muted") + Text(f"{result.state:<9}", style=state_style(result.state))
        line.append(f"{self.metric} {value}  {result.epochs} epochs  {result.seconds:.1f}s")
        if result.reason:
            line.append(f"  {result.reason}", style="reason")
        self.live.console.print(line)
        self.epoch_text = ""


def clock(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
