from __future__ import annotations

import math

import pytest

from tunecli.studies.uncertainty import plus_minus, standard_error, tied


def test_binomial_error_of_accuracy() -> None:
    assert standard_error("val_accuracy", 0.9833, 360) == pytest.approx(math.sqrt(0.9833 * 0.0167 / 360))
    assert standard_error("val_accuracy", 0.9833, 360) == pytest.approx(0.0068, abs=5e-5)
    assert standard_error("val_accuracy", 1.0, 100) > 0  # never claims zero noise


def test_regression_errors_and_unknowns() -> None:
    assert standard_error("val_rmse", 0.5, 800) == pytest.approx(0.5 / 40)
    assert standard_error("val_mae", 0.4, 100) == pytest.approx(0.4 * math.sqrt((math.pi / 2 - 1) / 100))
    assert standard_error("val_loss", 0.3, 100) is None
    assert standard_error("val_accuracy", 0.9, None) is None
    assert standard_error("val_accuracy", None, 100) is None


def test_ties_within_noise() -> None:
    se = standard_error("val_accuracy", 0.98, 360)
    assert tied(0.9833, 0.9806, se)      # one image of 360 apart
    assert not tied(0.9833, 0.9000, se)
    assert tied(0.5, 0.5, None) and not tied(0.5, 0.49, None)


def test_a_tie_is_the_best_s_95_percent_interval_so_a_nearer_score_is_tied_whenever_a_farther_one_is() -> None:
    se = 0.0051
    assert tied(0.9852, 0.9852 - 1.95 * se, se) and not tied(0.9852, 0.9852 - 1.97 * se, se)
    scores = [0.9852 - 0.001 * i for i in range(30)]
    flags = [tied(0.9852, v, se) for v in scores]
    assert flags == sorted(flags, reverse=True) and 0 < sum(flags) < len(flags)  # ranks 1..k, then none
    assert plus_minus(0.98333, 0.00676) == "0.9833 ± 0.0068" and plus_minus(None, None) == "—"
