"""How much a validation score moves by chance: its standard error on ``n`` validation rows.

- accuracy: the binomial standard error ``sqrt(p (1 - p) / n)``;
- rmse: ``rmse / sqrt(2 n)`` (the standard error of a root mean square of normal errors);
- mae: ``mae * sqrt((pi / 2 - 1) / n)`` (half-normal absolute errors);
- loss: not estimated (None).

A score is *tied with the best* when it lies inside the best's 95 % interval: less than ``1.96`` standard
errors of the best's score from it. One yardstick for every trial, so the tied trials are the top of the
ranking, never a farther one without a nearer one.
"""

from __future__ import annotations

import math


def standard_error(metric: str, value: float | None, n: int | None) -> float | None:
    """The standard error of ``value`` of ``metric`` (``val_accuracy``, ``val_rmse``...) on ``n`` rows."""
    if value is None or not n or n < 2 or not math.isfinite(value):
        return None
    if metric.endswith("accuracy"):
        p = min(max(value, 0.0), 1.0)
        return math.sqrt(max(p * (1 - p), 1.0 / n**2) / n)
    if metric.endswith("rmse"):
        return abs(value) / math.sqrt(2 * n)
    if metric.endswith("mae"):
        return abs(value) * math.sqrt((math.pi / 2 - 1) / n)
    return None


#: Standard errors either side of a score that make its 95 % interval.
Z95 = 1.96


def tied(best: float, value: float, se_best: float | None) -> bool:
    """True when ``value`` lies inside the best's 95 % interval (``best ± 1.96 se_best``); without a standard
    error, only an equal score is tied."""
    if se_best is None:
        return value == best
    return abs(best - value) < Z95 * se_best


def plus_minus(value: float | None, se: float | None) -> str:
    """``0.9833 ± 0.0067`` (or the bare value when no error is known)."""
    if value is None:
        return "—"
    return f"{value:.4f}" if se is None else f"{value:.4f} ± {se:.4f}"
