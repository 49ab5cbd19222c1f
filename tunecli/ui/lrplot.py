"""The LR range test's curve in the terminal (plotext): the descent, not the explosion.

The y-range runs from the lowest loss to the highest loss seen *before* the minimum (the final
explosion is cut off); the x axis is log10 of the learning rate with one tick per decade; the
suggestions are vertical lines, the chosen rule's listed first below the plot.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunecli.lrfinder.rules import LRFindResult

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def lr_curve_text(result: LRFindResult, width: int = 72, height: int = 16) -> str:
    """The smoothed loss against the learning rate as plain text (no colours), with a legend line."""
    import plotext as plt

    points = [(math.log10(lr), loss) for lr, loss in zip(result.lrs, result.losses) if lr > 0 and math.isfinite(loss)]
    if len(points) < 2:
        return ""
    low = min(loss for _, loss in points)
    best = min(range(len(points)), key=lambda i: points[i][1])
    top = max(loss for _, loss in points[: best + 1])
    top = top + 0.05 * (top - low) if top > low else low + 1.0
    shown = [(x, y) for x, y in points if y <= top]
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.plot([x for x, _ in shown], [y for _, y in shown], marker="braille")
    marks = sorted(result.suggestions.items(), key=lambda kv: kv[0] != result.rule)
    for _, lr in marks:
        if lr > 0:
            plt.vline(math.log10(lr))
    plt.ylim(low - 0.05 * (top - low), top)
    first, last = math.floor(shown[0][0]), math.ceil(shown[-1][0])
    decades = list(range(first, last + 1))
    plt.xticks(decades, [f"1e{d}" for d in decades])
    plt.xlabel("learning rate")
    text = _ANSI.sub("", plt.build())
    plt.clear_figure()
    legend = "│ = " + ", ".join(f"{name} {lr:.2g}" for name, lr in marks)
    return f"{text.rstrip()}\nloss (smoothed, the explosion past the minimum cut off); {legend}"
