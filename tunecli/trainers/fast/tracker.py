"""One trial's bookkeeping over its epochs, on the host: its history, the weights its score is of, why it ended.

The same rules serve a trial trained alone (``loop.fit``) and a member of a group (``members.fit_members``):
Keras' early stopping, reduce-on-plateau, pruning through the epoch hook, a diverging loss, Ctrl-C.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tunecli import interrupt
from tunecli.trainers.fast.stopping import EarlyStop, Plateau

if TYPE_CHECKING:
    from tunecli.config.objective import Objective
    from tunecli.config.space import Training
    from tunecli.trainers.contract import EpochHook


class Tracker:
    """What one trial's epochs decided.

    ``kept`` is what the trial's score is of: a reference to the state of its best epoch (what Keras'
    ``restore_best_weights`` restores), or of its last one. A training step makes new device arrays, so a
    reference stays as it was when taken.
    """

    def __init__(self, p: dict[str, Any], training: Training, objective: Objective, on_epoch: EpochHook | None,
                 classification: bool) -> None:
        names = ("loss", "accuracy") if classification else ("loss", "rmse", "mae")
        self.history: dict[str, list[float]] = {k: [] for k in (*names, *(f"val_{n}" for n in names))}
        self.plateau = Plateau(p, objective) if p["schedule"] == "performance" else None
        self.stopper = EarlyStop(training, objective)
        self.objective, self.on_epoch = objective, on_epoch
        self.restore_best = training.early_stopping.restore_best_weights
        self.pruned, self.diverged, self.done, self.interrupted = False, None, False, False
        self.kept: Any = None
        self.kept_value: float | None = None
        self.first: float | None = None

    def record(self, epoch: int, logs: dict[str, float], state: Any, elapsed: float) -> bool:
        """Take epoch ``epoch``'s (0-based) logs and a reference to the state that gave them; True when the
        trial ends here (stopped early, pruned, diverged, Ctrl-C)."""
        for k in self.history:
            self.history[k].append(logs[k])
        value = logs.get(self.objective.metric)
        finite = value is not None and math.isfinite(value)
        if not self.restore_best or (finite and (self.kept_value is None or self.objective.better(value, self.kept_value))):
            self.kept, self.kept_value = state, value  # the first best, as the trial's score takes it
        self.first = elapsed if self.first is None else self.first
        self.done = self._ends(epoch, logs, value)
        return self.done

    def _ends(self, epoch: int, logs: dict[str, float], value: float | None) -> bool:
        if interrupt.requested():
            self.interrupted = True
            return True
        if not math.isfinite(logs["loss"]):
            self.diverged = f"loss became {logs['loss']} at epoch {epoch + 1}"
            return True
        if value is not None and self.on_epoch is not None and self.on_epoch(epoch + 1, value, logs):
            self.pruned = True
            return True
        return self.stopper.stop(logs, epoch)

    def lr_scale(self, logs: dict[str, float]) -> float | None:
        """Reduce-on-plateau's multiplier of the learning rate after these logs (None: no such schedule)."""
        return None if self.plateau is None else self.plateau.scale(logs)
