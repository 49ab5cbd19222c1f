"""LR range test analysis: smoothing, the suggestion rules, bounds (numpy only, no Keras).

Each rule takes learning rates and smoothed losses and returns one learning rate; their names
and descriptions are ``tunecli.config.catalogue.LR_RULES``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tunecli.config.catalogue import LR_RULES
from tunecli.errors import RunError

RULES = tuple(LR_RULES)
BETA = 0.98
DIVERGE_FACTOR = 4.0


class NoDescent(RunError):
    """The curve has no usable descent (flat, diverging from the start, NaN at once)."""


@dataclass
class LRFindResult:
    lrs: list[float]
    losses: list[float]          # smoothed
    raw_losses: list[float]
    suggestions: dict[str, float]
    rule: str
    seconds: float = 0.0
    steps: int = 0
    trainer: str = "keras"       # jax (the fast trainer) or keras
    stopped_early: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def lr(self) -> float:
        return self.suggestions[self.rule]

    def by_lr(self) -> list[tuple[str, float]]:
        """The suggestions from the lowest learning rate to the highest (left to right on a plot)."""
        return sorted(self.suggestions.items(), key=lambda kv: kv[1])

    def bounds(self) -> tuple[float, float]:
        """A log-uniform range for a search: from a tenth of the headline LR up to the loss minimum."""
        low = self.lr / 10
        high = self.lrs[int(np.argmin(self.losses))]
        if high <= low * 3:
            high = low * 30
        return float(low), float(high)

    def to_dict(self, max_points: int = 200) -> dict:
        idx = np.linspace(0, len(self.lrs) - 1, min(len(self.lrs), max_points)).round().astype(int)
        return {"rule": self.rule, "lr": self.lr, "suggestions": self.suggestions, "bounds": list(self.bounds()),
                "steps": self.steps, "trainer": self.trainer, "seconds": round(self.seconds, 3),
                "stopped_early": self.stopped_early,
                "curve": {"lr": [self.lrs[i] for i in idx], "loss": [self.losses[i] for i in idx]}}


def smooth(losses: list[float], beta: float = BETA) -> list[float]:
    """Exponential moving average with bias correction (fastai / Smith)."""
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def short_curve_beta(steps: int) -> float:
    """0.98 for 200+ steps; less smoothing for short curves (one epoch of a small data set)."""
    return min(BETA, 1 - 4 / max(steps, 5))


def lr_schedule(min_lr: float, max_lr: float, steps: int) -> np.ndarray:
    """Exponentially spaced learning rates from min_lr to max_lr."""
    return min_lr * (max_lr / min_lr) ** (np.arange(steps) / max(1, steps - 1))


def steps_per_pass(rows: int, batch_size: int) -> int:
    """Batches in one pass over ``rows`` (the ramp takes one step per batch, over as many passes as it needs)."""
    return max(1, math.ceil(rows / max(1, min(batch_size, rows))))


def usable(lrs: list[float], losses: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Cut the curve at the first non-finite value or where it exceeds 4x its minimum; check it descends."""
    lr, loss = np.asarray(lrs, float), np.asarray(losses, float)
    finite = np.isfinite(loss)
    end = int(np.argmin(finite)) if not finite.all() else len(loss)
    lr, loss = lr[:end], loss[:end]
    if len(loss) < 5:
        raise NoDescent(f"the loss turned NaN/inf after {len(loss)} steps. Try a lower --max-lr, a smaller "
                        "--min-lr or a smaller batch size")
    running_min = np.minimum.accumulate(loss)
    over = np.nonzero(loss > DIVERGE_FACTOR * running_min)[0]
    if len(over):
        lr, loss = lr[: over[0]], loss[: over[0]]
    best = int(np.argmin(loss))
    drop = (loss[0] - loss[best]) / max(abs(loss[0]), 1e-12)
    if best < 3 and (drop < 0.05 and loss.max() > 1.5 * loss[0] or drop >= 0.05):
        raise NoDescent("the loss rises from the very start (no descent). Try a smaller --min-lr, or check "
                        "the data and the model")
    if drop < 0.05:
        raise NoDescent(f"the loss is flat (it falls only {drop:.1%}). Try a wider range (--min-lr / --max-lr), "
                        "more --steps, or a smaller batch size")
    return lr, loss


def _valley(lr: np.ndarray, loss: np.ndarray) -> float:
    n = len(loss)
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if loss[i] < loss[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
        if lds[max_end] < lds[i]:
            max_end, max_start = i, i - lds[i]
    sections = (max_end - max_start) / 3
    return float(lr[min(n - 1, max_start + int(sections) + int(sections / 2))])


def _steep(lr: np.ndarray, loss: np.ndarray) -> float:
    best = int(np.argmin(loss))
    skip = min(best - 1, max(1, len(loss) // 10))  # the first points carry the smoothing's warm-up
    grads = np.gradient(loss[: best + 1], np.log(lr[: best + 1]))
    return float(lr[skip + int(np.argmin(grads[skip:]))])


def _minimum(lr: np.ndarray, loss: np.ndarray) -> float:
    return float(lr[int(np.argmin(loss))] / 10)


def _slide(lr: np.ndarray, loss: np.ndarray, thresh: float = 0.005) -> float:
    # Walk left from the minimum, not from the end: a plateau past the minimum (a curve that rises but never
    # reaches 4x its minimum) has a steady slope and stopped the walk far past it.
    best = int(np.argmin(loss))
    lr, loss = lr[: best + 1], loss[: best + 1]
    if len(loss) < 2:
        return float(lr[0])
    grads = np.gradient(loss)
    diff = max(2, round(len(loss) * 0.15))
    r_idx, l_idx = -1, -1 - diff
    local = lr[l_idx] if len(lr) > diff else lr[0]
    while l_idx >= -len(loss) and abs(grads[r_idx] - grads[l_idx]) > thresh:
        local = lr[l_idx]
        r_idx -= 1
        l_idx -= 1
    return float(local)


def _divergence(lr: np.ndarray, loss: np.ndarray) -> float:
    best = int(np.argmin(loss))
    after = np.nonzero(loss[best:] > loss[best] * 1.2)[0]
    turn = best + int(after[0]) if len(after) else len(loss) - 1
    return float(lr[turn] / 10)


_RULES = {"valley": _valley, "steep": _steep, "minimum": _minimum, "slide": _slide, "divergence": _divergence}
assert tuple(_RULES) == RULES, "every rule of the catalogue has one function here"


def suggest(lrs: list[float], losses: list[float]) -> dict[str, float]:
    """Every rule's suggestion on a smoothed curve (raises NoDescent when there is none).

    No suggestion lies past the minimum of the curve: one that would is clamped to the minimum's LR.
    """
    lr, loss = usable(lrs, losses)
    ceiling = float(lr[int(np.argmin(loss))])
    picked = {name: min(rule(lr, loss), ceiling) for name, rule in _RULES.items()}
    return {name: value for name, value in picked.items() if math.isfinite(value)}
