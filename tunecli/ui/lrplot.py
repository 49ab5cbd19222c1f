"""The LR range test's curve in the terminal (plotext): the descent, not the explosion.

The y-range runs from the lowest loss to the highest loss seen *before* the minimum (the final
explosion is cut off); the x axis is log10 of the learning rate with one tick per decade. Each rule's
suggestion is a vertical line of its own colour and line style, with its letter in a row above the plot
(the chosen rule's letter in capitals, its line heavy ``┃``); the caption lists the rules from left to right.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunecli.lrfinder.rules import LRFindResult

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: Each rule's colour (of the 256-colour palette, readable on dark and on light backgrounds) and line glyph.
STYLES: dict[str, tuple[int, str]] = {
    "valley": (33, "│"),       # blue
    "steep": (163, "┆"),       # magenta
    "minimum": (34, "╎"),      # green
    "slide": (208, "┊"),       # orange
    "divergence": (160, "║"),  # red
}
CHOSEN_GLYPH = "┃"
_FALLBACK = (244, "¦")         # grey, for a rule without a style of its own


@dataclass(frozen=True)
class Mark:
    """One rule's vertical line: its name, learning rate, letter, colour and glyph."""

    name: str
    lr: float
    letter: str
    color: int
    glyph: str
    chosen: bool


def letters(names: list[str]) -> dict[str, str]:
    """A distinct lower-case letter per rule: its first letter, else the next unused letter of its name."""
    out: dict[str, str] = {}
    for name in names:
        free = [c for c in name.lower() if c.isalpha() and c not in out.values()]
        out[name] = free[0] if free else "?"
    return out


def marks(result: LRFindResult) -> list[Mark]:
    """The suggestions as lines, from the lowest learning rate to the highest."""
    names = list(STYLES) + [n for n in result.suggestions if n not in STYLES]
    letter = letters(names)
    out = []
    for name, lr in result.by_lr():
        if not (lr > 0 and math.isfinite(lr)):
            continue
        color, glyph = STYLES.get(name, _FALLBACK)
        chosen = name == result.rule
        out.append(Mark(name, lr, letter[name].upper() if chosen else letter[name], color,
                        CHOSEN_GLYPH if chosen else glyph, chosen))
    return out


def lr_curve_text(result: LRFindResult, width: int = 72, height: int = 16, *, color: bool = False) -> str:
    """The smoothed loss against the learning rate, each rule's line lettered, and a caption.

    Args:
        result: the range test's curve and suggestions.
        width: columns of the plot.
        height: rows of the plot (the letter row and the caption come on top of these).
        color: keep ANSI colours (for a colour terminal); without, plain text where letters and glyphs tell the lines apart.

    Returns:
        The plot as text, or "" when the curve has fewer than two finite points.
    """
    points = [(math.log10(lr), loss) for lr, loss in zip(result.lrs, result.losses) if lr > 0 and math.isfinite(loss)]
    if len(points) < 2:
        return ""
    lines = marks(result)
    drawn = _draw(points, lines, width, height)
    plain = _ANSI.sub("", drawn).rstrip().splitlines()
    body = drawn.rstrip().splitlines() if color else plain
    header = _letter_row(lines, _columns(plain, lines), color)
    return "\n".join([header, *body, *caption(lines, width, color=color)])


def _draw(points: list[tuple[float, float]], lines: list[Mark], width: int, height: int) -> str:
    """plotext's text (with ANSI colours) of the curve and one vertical line per mark, the chosen one on top."""
    import plotext as plt

    low = min(loss for _, loss in points)
    best = min(range(len(points)), key=lambda i: points[i][1])
    top = max(loss for _, loss in points[: best + 1])
    top = top + 0.05 * (top - low) if top > low else low + 1.0
    shown = [(x, y) for x, y in points if y <= top]
    bottom = low - 0.05 * (top - low)
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    for mark in sorted(lines, key=lambda m: m.chosen):  # the chosen line last: never hidden by another
        x = math.log10(mark.lr)
        plt.plot([x, x], [bottom, top], marker=mark.glyph, color=mark.color)
    plt.plot([x for x, _ in shown], [y for _, y in shown], marker="braille")
    plt.ylim(bottom, top)
    xs = [x for x, _ in shown] + [math.log10(m.lr) for m in lines]
    decades = list(range(math.floor(min(xs)), math.ceil(max(xs)) + 1))
    plt.xticks(decades, [f"1e{d}" for d in decades])
    plt.xlabel("learning rate")
    try:
        return plt.build()
    finally:
        plt.clear_figure()


def _columns(plain: list[str], lines: list[Mark]) -> dict[str, int]:
    """The text column of each mark's line, read off the drawn plot (a hidden line takes its nearest neighbour's)."""
    found: dict[str, int] = {}
    left = plain[0].find("┌")
    canvas = [row for row in plain[1:] if len(row) > left and row[left] in "┤│┼├"]
    for mark in lines:
        for row in canvas:
            at = row.find(mark.glyph, left + 1, len(row) - 1)  # the frame's own │ closes the row
            if at >= 0:
                found[mark.name] = at
                break
    for mark in lines:
        if mark.name not in found and found:
            nearest = min(found, key=lambda n: abs(math.log10(_lr(lines, n)) - math.log10(mark.lr)))
            found[mark.name] = found[nearest]
    return found


def _lr(lines: list[Mark], name: str) -> float:
    return next(m.lr for m in lines if m.name == name)


def _letter_row(lines: list[Mark], columns: dict[str, int], color: bool) -> str:
    """The row above the plot: each mark's letter over its line, shifted right where two would share a column."""
    cells: dict[int, Mark] = {}
    for mark in lines:
        at = columns.get(mark.name)
        if at is None:
            continue
        while at in cells:
            at += 1
        cells[at] = mark
    row = [" "] * (max(cells, default=-1) + 1)
    for at, mark in cells.items():
        row[at] = _paint(mark.letter, mark.color, bold=mark.chosen) if color else mark.letter
    return "".join(row).rstrip()


def caption(lines: list[Mark], width: int = 100, *, color: bool = False) -> list[str]:
    """The lines under the plot: what the curve is, then each mark from left to right with its letter and LR.

    The marks are packed into lines of at most ``width`` characters (colour codes not counted).
    """
    out = ["loss (smoothed; the explosion past the minimum cut off)"]
    row, size = "lines, left to right: ", len("lines, left to right: ")
    for i, mark in enumerate(lines):
        text = f"{mark.letter} {mark.glyph} {mark.name} {mark.lr:.2g}" + (" (chosen)" if mark.chosen else "")
        text += "," if i < len(lines) - 1 else ""
        if size + len(text) > width and row.strip():
            out.append(row.rstrip())
            row, size = "  ", 2
        row += (_paint(text, mark.color, bold=mark.chosen) if color else text) + " "
        size += len(text) + 1
    if lines:
        out.append(row.rstrip())
    return out


def _paint(text: str, color: int, *, bold: bool) -> str:
    return f"\x1b[{'1;' if bold else ''}38;5;{color}m{text}\x1b[0m"
