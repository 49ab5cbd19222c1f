"""Suggestion rules on synthetic curves with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.lrfinder.rules import NoDescent, lr_schedule, smooth, suggest, usable


def _curve(n: int = 100, low: float = 1e-6, high: float = 10.0, knee: float = 1e-2, noise: float = 0.0):
    """Loss flat at 2 until 1e-4, falls linearly in log(lr) to a minimum at ``knee``, then explodes."""
    lrs = lr_schedule(low, high, n)
    x = np.log10(lrs)
    start = np.log10(knee) - 2
    loss = np.where(x < start, 2.0, 2.0 - 1.5 * (x - start) / 2)
    loss = np.where(x > np.log10(knee), 0.5 + 3 * (x - np.log10(knee)) ** 2 * 10, loss)
    loss = loss + noise * np.random.default_rng(0).normal(size=n)
    return list(lrs), list(loss)


def test_rules_on_a_clean_curve() -> None:
    lrs, losses = _curve()
    s = suggest(lrs, losses)
    knee = 1e-2
    assert set(s) == {"valley", "steep", "minimum", "slide", "divergence"}
    assert s["minimum"] == pytest.approx(knee / 10, rel=0.3)
    assert 1e-4 <= s["steep"] <= knee          # on the falling stretch
    assert 1e-4 <= s["valley"] <= knee
    assert knee / 10 <= s["divergence"] <= knee  # 10x below where it climbs
    assert s["slide"] <= knee


def test_rules_survive_noise_after_smoothing() -> None:
    lrs, losses = _curve(noise=0.05)
    s = suggest(lrs, smooth(losses, beta=0.9))
    assert 1e-5 <= s["valley"] <= 2e-2
    assert 1e-5 <= s["minimum"] <= 2e-2


def test_smoothing_is_bias_corrected() -> None:
    assert smooth([3.0, 3.0, 3.0]) == pytest.approx([3.0, 3.0, 3.0])


def test_schedule_is_exponential() -> None:
    lrs = lr_schedule(1e-7, 10, 9)
    assert lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(10)
    assert np.allclose(np.diff(np.log10(lrs)), 1.0)


@pytest.mark.parametrize("losses,fragment", [
    ([1.0] * 50, "flat"),
    (list(np.linspace(1, 5, 50)), "rises from the very start"),
    ([1.0, 0.9, float("nan")] + [1.0] * 40, "NaN"),
])
def test_unusable_curves(losses, fragment) -> None:
    with pytest.raises(NoDescent, match=fragment):
        suggest(list(lr_schedule(1e-7, 10, len(losses))), losses)


def test_curve_is_cut_where_it_exceeds_four_times_its_minimum() -> None:
    lrs, losses = _curve()
    lr, loss = usable(lrs, losses)
    assert len(loss) < len(losses) and max(loss) <= 4 * min(loss)


def _plateau_curve(n: int = 300):
    """The quick start's shape: flat, a descent to a minimum at ~0.12, then a jump to a plateau under 4x the minimum.

    Noise-free, so already smooth: the plateau's slope is steady, which stopped fastai's walk from the end on it.
    """
    lrs = lr_schedule(1e-7, 10, n)
    x = np.log10(lrs)
    loss = np.where(x < -4, 2.8, 2.8 - 1.8 * (x + 4) / 3.08)        # reaches 1.0 at 10**-0.92 = 0.12
    loss = np.where(x > -0.92, 2.6 + 0.1 * (x + 0.92), loss)          # past it: 2.6 and a slow climb (never 4x)
    return list(lrs), list(loss)


def test_no_suggestion_lies_past_the_minimum_of_the_smoothed_curve() -> None:
    lrs, losses = _plateau_curve()
    at_min = lrs[int(np.argmin(losses))]
    s = suggest(lrs, losses)
    assert set(s) == {"valley", "steep", "minimum", "slide", "divergence"}
    assert all(value <= at_min for value in s.values()), (s, at_min)
    assert s["slide"] <= at_min / 2  # walks left from the minimum, not from the plateau's end


@pytest.mark.parametrize("shift", [0.0, 1.0, 2.0])
def test_every_rule_stays_at_or_left_of_the_minimum(shift: float) -> None:
    lrs, losses = _curve(knee=10 ** (-3 + shift / 2), noise=0.02)
    smoothed = smooth(losses, beta=0.9)
    lr, loss = usable(lrs, smoothed)
    s = suggest(lrs, smoothed)
    assert max(s.values()) <= lr[int(np.argmin(loss))]
