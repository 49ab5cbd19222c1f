from __future__ import annotations

import math
import re

import numpy as np

from tunecli.lrfinder.rules import LRFindResult
from tunecli.ui.lrplot import CHOSEN_GLYPH, STYLES, letters, lr_curve_text, marks

SUGGESTIONS = {"valley": 2e-4, "steep": 5e-4, "minimum": 1e-2, "slide": 1e-4, "divergence": 3e-2}


def _result(rule: str = "valley", suggestions: dict[str, float] | None = None) -> LRFindResult:
    lrs = 1e-7 * (1e8) ** (np.arange(300) / 299)
    loss = 2.3 - 1.8 / (1 + np.exp(-(np.log10(lrs) + 3) * 3)) + np.where(lrs > 0.3, (lrs - 0.3) * 200, 0)
    return LRFindResult([float(x) for x in lrs], [float(y) for y in loss], [float(y) for y in loss],
                        dict(suggestions or SUGGESTIONS), rule)


def _frame_left(lines: list[str]) -> int:
    return next(line.index("┌") for line in lines if "┌" in line)


def test_plot_has_decade_ticks_the_descent_and_a_caption() -> None:
    text = lr_curve_text(_result(), width=72, height=16)
    lines = text.splitlines()
    assert "\x1b[" not in text
    assert all(f"1e{d}" in text for d in (-7, -5, -3))
    assert max(len(line) for line in lines) <= 72
    y_labels = [float(line.split("┤")[0]) for line in lines if "┤" in line]
    assert max(y_labels) < 2.5  # the explosion (up to ~140) is cut off: the axis ends near the start of the descent
    assert min(y_labels) < 0.6


def test_the_caption_lists_the_rules_left_to_right_and_marks_the_chosen_one() -> None:
    text = lr_curve_text(_result("steep"), width=100)
    caption = text[text.index("lines, left to right:"):]
    order = [m.group(1) for m in re.finditer(r"(valley|steep|minimum|slide|divergence) ", caption)]
    assert order == ["slide", "valley", "steep", "minimum", "divergence"]  # by learning rate
    assert "S ┃ steep 0.0005 (chosen)" in caption and caption.count("(chosen)") == 1
    assert "v │ valley 0.0002," in caption


def test_each_line_has_its_own_glyph_and_its_letter_above_it() -> None:
    result = _result("valley")
    lines = lr_curve_text(result, width=90, height=16).splitlines()
    letter_row, canvas = lines[0], lines[2:]
    assert lines[1].lstrip().startswith("┌")
    for mark in marks(result):
        column = letter_row.index(mark.letter)
        assert any(len(row) > column and row[column] == mark.glyph for row in canvas), mark
    assert {m.glyph for m in marks(result)} == {CHOSEN_GLYPH, *(STYLES[n][1] for n in SUGGESTIONS if n != "valley")}
    assert sum(m.letter.isupper() for m in marks(result)) == 1  # only the chosen rule in capitals
    assert _frame_left(lines) < letter_row.index("l")  # the letters sit over the canvas, not over the y labels


def test_rules_at_the_same_learning_rate_keep_both_letters() -> None:
    result = _result("valley", {"valley": 1e-3, "steep": 1e-3})
    letter_row = lr_curve_text(result, width=72).splitlines()[0]
    assert "Vs" in letter_row  # the second letter moves one column right


def test_colour_output_paints_each_rule_and_keeps_the_layout() -> None:
    result = _result("minimum")
    plain = lr_curve_text(result, width=80)
    coloured = lr_curve_text(result, width=80, color=True)
    stripped = re.sub(r"\x1b\[[0-9;]*m", "", coloured).splitlines()
    assert [line.rstrip() for line in stripped] == [line.rstrip() for line in plain.splitlines()]
    for name, (colour, _) in STYLES.items():
        assert f"38;5;{colour}m" in coloured, name
    assert "\x1b[1;38;5;34mM" in coloured  # the chosen rule's letter in bold


def test_letters_are_distinct() -> None:
    assigned = letters(list(STYLES))
    assert len(set(assigned.values())) == len(STYLES)
    assert assigned["steep"] == "s" and assigned["slide"] != "s"


def test_too_short_a_curve_draws_nothing() -> None:
    result = LRFindResult([1e-3], [math.nan], [math.nan], {}, "valley")
    assert lr_curve_text(result) == ""
