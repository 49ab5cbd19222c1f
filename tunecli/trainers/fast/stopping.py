"""Keras' stopping rules on the host: early stopping and reduce-on-plateau."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunecli.config.objective import Objective
    from tunecli.config.space import Training


def improved(objective: Objective, value: float, best: float | None, delta: float) -> bool:
    """Keras' rule: better than the best so far by more than ``delta``."""
    shifted = value - delta if objective.direction == "maximize" else value + delta
    return best is None or objective.better(shifted, best)


class EarlyStop:
    """Keras' EarlyStopping rule (patience, min_delta, mode)."""

    def __init__(self, training: Training, objective: Objective) -> None:
        es = training.early_stopping
        self.enabled, self.patience, self.delta = es.enabled, es.patience, abs(es.min_delta)
        self.metric, self.objective = objective.metric, objective
        self.best: float | None = None
        self.wait = 0

    def stop(self, logs: dict[str, float], epoch: int) -> bool:
        value = logs.get(self.metric)
        if not self.enabled or value is None:
            return False
        self.wait += 1
        if improved(self.objective, value, self.best, self.delta):
            self.best, self.wait = value, 0
            return False
        return self.wait >= self.patience and epoch > 0


class Plateau:
    """Keras' ReduceLROnPlateau (min_delta 1e-4, no cooldown) as a multiplier of the learning rate."""

    def __init__(self, p: dict[str, Any], objective: Objective) -> None:
        self.factor, self.patience = float(p["plateau_factor"]), int(p["plateau_patience"])
        self.objective = objective
        self.best: float | None = None
        self.wait, self.multiplier = 0, 1.0

    def scale(self, logs: dict[str, float]) -> float:
        value = logs.get(self.objective.metric)
        if value is None:
            return self.multiplier
        if improved(self.objective, value, self.best, 1e-4):
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.multiplier *= self.factor
                self.wait = 0
        return self.multiplier


def plateau_drops(values: list[float], objective: Objective, factor: float, patience: int) -> list[int]:
    """The epochs (from 1) at whose end reduce-on-plateau cut the learning rate, replayed from a curve of the
    objective (the rule is deterministic: the same curve gives the same cuts, on either trainer)."""
    plateau = Plateau({"plateau_factor": factor, "plateau_patience": patience}, objective)
    drops, last = [], 1.0
    for epoch, value in enumerate(values, 1):
        scale = plateau.scale({objective.metric: value})
        if scale != last:
            drops.append(epoch)
        last = scale
    return drops
