"""The live displays of a running search: a progress bar of its trials, then one of its re-ranking runs, each
with elapsed and remaining time (on a terminal); one plain line per finished trial or run (also with ``--json``,
on stderr)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from tunecli.search.progress import EndWatch
from tunecli.studies import attrs
from tunecli.ui.console import console, err_console, error, state_style

if TYPE_CHECKING:
    import optuna

    from tunecli.trainers.contract import EpochHook
    from tunecli.trial import TrialResult


class _Bar:
    """A live bar of ``done`` of ``total`` things, with elapsed and remaining time; ``_heading`` goes above it."""

    unit = "trials"

    def __init__(self, total: int, done: int, *, quiet: bool, live: bool, timeout: float | None) -> None:
        self.total, self.done = total, done
        self.started, self.timeout = time.monotonic(), timeout
        self.done_here = 0  # ended in this process: the pace for the remaining time
        self.epoch_text = ""
        self.quiet, self.show_live = quiet, live
        self.live = Live(console=err_console if quiet else console, refresh_per_second=4, transient=True,
                         redirect_stdout=False, redirect_stderr=False, get_renderable=self._render)

    def __enter__(self) -> _Bar:
        if self.show_live and (sys.stderr.isatty() or not self.quiet):
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def _heading(self) -> Text:
        raise NotImplementedError

    def _render(self) -> Group:
        text = self._heading()
        if self.epoch_text:
            text.append(f"   {self.epoch_text}", style="muted")
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=max(self.total, 1), completed=min(self.done, self.total), width=30),
                    Text(f"{self.done}/{self.total} {self.unit}", style="value"),
                    Text(f"elapsed {clock(time.monotonic() - self.started)}", style="muted"),
                    Text(self.remaining_text(), style="muted"))
        return Group(text, bar)

    def remaining(self) -> float | None:
        """Seconds left: by the pace so far, or by ``timeout``, whichever ends first; None until the first ends
        here (no pace yet: the timeout alone would say the whole of it is left)."""
        if not self.done_here:
            return None
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done_here * max(0, self.total - self.done)
        return left if self.timeout is None else min(left, max(0.0, self.timeout - elapsed))

    def remaining_text(self) -> str:
        left = self.remaining()
        return "remaining: estimating…" if left is None else f"remaining ~{clock(left)}"

    def print(self, line: Text) -> None:
        """A line above the live bar (the only output when the bar is not shown)."""
        self.live.console.print(line)


class SearchProgress(_Bar):
    """Live line while searching: trial i of N, best so far, the running trial's epoch and metric."""

    error = staticmethod(error)

    def __init__(self, total: int, done: int, metric: str, max_epochs: int, *, quiet: bool = False,
                 live: bool = True, timeout: float | None = None) -> None:
        self.metric, self.max_epochs = metric, max_epochs
        self.best: float | None = None
        self.maximize = metric.endswith("accuracy")
        self.current: tuple[int, dict[str, Any]] | None = None
        super().__init__(total, done, quiet=quiet, live=live, timeout=timeout)  # last: Live draws at once

    def __enter__(self) -> SearchProgress:
        super().__enter__()
        return self

    def _heading(self) -> Text:
        best = "—" if self.best is None else f"{self.best:.4f}"
        return Text(f"trial {min(self.done + 1, self.total)}/{self.total}  best {self.metric} {best}", style="value")

    def set_best(self, study: optuna.Study) -> None:
        """The best first objective among complete trials that broke no constraint (an infeasible trial is never best)."""
        values = [t.values[0] for t in study.get_trials(deepcopy=False)
                  if t.values and t.state.name == "COMPLETE" and not attrs.read(t.user_attrs, attrs.VIOLATED)]
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
        self.print(Text(f"#{number:<4}", style="muted") + result_text(result, self.metric))
        self.epoch_text = ""


class RerankProgress(_Bar):
    """Live line while re-ranking: runs i of N, the epoch the running group is at, elapsed and remaining time.

    Runs that train together as members of one program are counted as each ends (``EndWatch``), not when the
    whole group returns.
    """

    unit = "runs"

    def __init__(self, metric: str, max_epochs: int, *, top: int, seeds: int, quiet: bool = False,
                 live: bool = True, deadline: float | None = None) -> None:
        self.metric, self.max_epochs, self.configurations, self.seeds = metric, max_epochs, top, seeds
        self.stored = 0            # runs ended and stored
        self.base, self.in_group = 0, 0
        self.deadline = deadline
        super().__init__(0, 0, quiet=quiet, live=live, timeout=None)  # last: Live draws at once

    def __enter__(self) -> RerankProgress:
        return self  # the bar appears when there are runs to train (``begin``)

    def _heading(self) -> Text:
        return Text(f"re-ranking {self._which()}, {self.seeds} runs each", style="value")

    def _which(self) -> str:
        return "the best configuration" if self.configurations == 1 else f"the top {self.configurations} configurations"

    def begin(self, total: int, configurations: int) -> None:
        first = not self.total
        self.total = total
        if first:
            self.started = time.monotonic()
            self.timeout = None if self.deadline is None else self.deadline - self.started
            self.configurations = configurations
            self.print(Text(f"re-ranking: {total} more runs of {self._which()} (fresh seeds, {self.seeds} runs each)",
                            style="muted"))
            super().__enter__()

    def group(self, size: int) -> list[EpochHook]:
        self.base, self.in_group = self.stored, size
        self.epoch_text = f"{size} runs together" if size > 1 else ""
        return EndWatch(size, self._progress).hooks()

    def _progress(self, ended: int, epoch: int) -> None:
        """Runs of the group known to have ended, and the epoch the group is at."""
        self._count(self.base + ended)
        together = f", {self.in_group - ended} together" if self.in_group - ended > 1 else ""
        self.epoch_text = f"epoch {epoch}/{self.max_epochs}{together}"

    def _count(self, done: int) -> None:
        if done > self.done:
            self.done_here += done - self.done
            self.done = done

    def ended(self, number: int, run: int, result: TrialResult) -> None:
        self.stored += 1
        self._count(self.stored)
        head = Text(f"re-ranking {self.stored}/{self.total}  ", style="muted")
        self.print(head + Text(f"#{number:<4}run {run}/{self.seeds}  ", style="muted") + result_text(result, self.metric))


def result_text(result: TrialResult, metric: str) -> Text:
    """``COMPLETE val_accuracy 0.9722  6 epochs  0.3s`` (and the reason of a pruned or failed one)."""
    value = "—" if result.value is None else f"{result.value:.4f}"
    line = Text(f"{result.state:<9}", style=state_style(result.state))
    line.append(f"{metric} {value}  {result.epochs} epochs  {result.seconds:.1f}s")
    if result.reason:
        line.append(f"  {result.reason}", style="reason")
    return line


def clock(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
