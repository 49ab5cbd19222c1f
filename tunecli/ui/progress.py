"""The live display of a running search: trial i of N, best so far, the running trial's epoch."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from rich.live import Live
from rich.text import Text

from tunecli.ui.console import console, err_console, error, state_style

if TYPE_CHECKING:
    import optuna

    from tunecli.trial import TrialResult


class SearchProgress:
    """Live line while searching: trial i of N, best so far, the running trial's epoch and metric."""

    error = staticmethod(error)

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
        text = Text(f"trial {min(self.done + 1, self.total)}/{self.total}  best {self.metric} {best}", style="value")
        if self.epoch_text:
            text.append(f"   {self.epoch_text}", style="muted")
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
        number = self.current[0] if self.current else "?"
        self.epoch_text = f"trial #{number} epoch {epoch}/{self.max_epochs} {self.metric} {value:.4f}"
        self.live.update(self._render())

    def end_trial(self, number: int, result: TrialResult, study: optuna.Study) -> None:
        self.done += 1
        self.set_best(study)
        value = "—" if result.value is None else f"{result.value:.4f}"
        line = Text(f"#{number:<4}", style="muted") + Text(f"{result.state:<9}", style=state_style(result.state))
        line.append(f"{self.metric} {value}  {result.epochs} epochs  {result.seconds:.1f}s")
        if result.reason:
            line.append(f"  {result.reason}", style="reason")
        self.live.console.print(line)
        self.epoch_text = ""
        self.live.update(self._render())
