"""run_range_test and its LRRamp callback, on small built-in data sets (one epoch at most)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

from tunecli.config.space import DataSpec  # noqa: E402
from tunecli.data import load_data  # noqa: E402
from tunecli.lrfinder.range_test import exploded, run_range_test  # noqa: E402
from tunecli.lrfinder.rules import RULES, NoDescent  # noqa: E402

MODEL = {"n_hidden": 1, "n_neurons": 16}


@pytest.fixture(scope="module")
def digits():
    return load_data(DataSpec(source="digits"))  # 1077 training rows: 34 batches of 32


def _exponential(lrs: list[float]) -> bool:
    steps = np.diff(np.log(lrs))
    return bool(np.all(steps > 0) and np.allclose(steps, steps[0]))


def test_curve_spans_the_range_exponentially(digits) -> None:
    params = {**MODEL, "learning_rate": 123.0}
    result = run_range_test(params, digits, min_lr=1e-4, max_lr=0.1, steps=20, rule="steep")
    assert params["learning_rate"] == 123.0  # the caller's dict is left alone
    assert result.steps == len(result.lrs) == len(result.losses) == len(result.raw_losses) == 20
    assert result.lrs[0] == pytest.approx(1e-4) and result.lrs[-1] == pytest.approx(0.1)
    assert _exponential(result.lrs)
    assert not result.stopped_early and result.notes == []
    assert all(math.isfinite(x) for x in result.losses)
    assert result.seconds > 0


def test_suggestions_hold_every_rule_and_the_chosen_one(digits) -> None:
    result = run_range_test(MODEL, digits, min_lr=1e-4, max_lr=0.1, steps=20, rule="steep")
    assert result.rule == "steep" and "steep" in result.suggestions
    assert set(result.suggestions) <= set(RULES)
    assert result.lr == result.suggestions["steep"]
    assert all(1e-5 <= lr <= 0.1 for lr in result.suggestions.values())
    low, high = result.bounds()
    assert 0 < low < high


def test_a_short_epoch_no_longer_cuts_the_ramp(digits) -> None:
    result = run_range_test({**MODEL, "batch_size": 128}, digits, min_lr=1e-4, max_lr=0.1, steps=40)
    assert result.steps == len(result.lrs) == 40  # 9 batches of 128 per pass: 4.4 passes
    assert result.lrs[0] == pytest.approx(1e-4) and _exponential(result.lrs)
    assert result.notes == ["the ramp took 40 steps: 4.4 passes over the 1077 training rows in batches of 128"]


def test_a_range_too_small_to_descend_raises_no_descent(digits) -> None:
    # Every batch holds the same rows, so the loss can only move with the (tiny) learning rate.
    one = replace(digits, x_train=np.repeat(digits.x_train[:1], 64, axis=0), y_train=np.repeat(digits.y_train[:1], 64))
    with pytest.raises(NoDescent, match="flat"):
        run_range_test({**MODEL, "batch_size": 8}, one, min_lr=1e-9, max_lr=1e-8, steps=30)


@pytest.mark.parametrize("losses", [[1.0] * 6 + [100.0], [1.0, math.nan]])
def test_the_ramp_stops_when_the_loss_explodes(losses: list[float]) -> None:
    assert exploded(losses, beta=0.5)


def test_the_ramp_goes_on_while_the_loss_falls_or_wobbles() -> None:
    assert not exploded([3.0, 1.0, 2.0, 0.5], beta=0.5)
    assert not exploded([1.0] * 5 + [3.9], beta=0.0)   # under 4x the minimum
    assert exploded([1.0] * 5 + [4.1], beta=0.0)
