from __future__ import annotations

import math

import numpy as np

from tunecli.lrfinder.rules import LRFindResult
from tunecli.ui.lrplot import lr_curve_text


def _result() -> LRFindResult:
    lrs = 1e-7 * (1e8) ** (np.arange(300) / 299)
    loss = 2.3 - 1.8 / (1 + np.exp(-(np.log10(lrs) + 3) * 3)) + np.where(lrs > 0.3, (lrs - 0.3) * 200, 0)
    return LRFindResult([float(x) for x in lrs], [float(y) for y in loss], [float(y) for y in loss],
                        {"valley": 2e-4, "minimum": 1e-2}, "valley")


def test_plot_has_decade_ticks_the_descent_and_a_legend() -> None:
    text = lr_curve_text(_result(), width=72, height=16)
    lines = text.splitlines()
    assert "\x1b[" not in text
    assert all(f"1e{d}" in text for d in (-7, -5, -3))
    legend = lines[-1].split("│ = ")[1]
    assert legend.startswith("valley 0.0002") and "minimum 0.01" in legend
    assert max(len(line) for line in lines[:-1]) <= 72
    y_labels = [float(line.split("┤")[0]) for line in lines if "┤" in line]
    assert max(y_labels) < 2.5  # the explosion (up to ~140) is cut off: the axis ends near the start of the descent
    assert min(y_labels) < 0.6


def test_too_short_a_curve_draws_nothing() -> None:
    result = LRFindResult([1e-3], [math.nan], [math.nan], {}, "valley")
    assert lr_curve_text(result) == ""
