"""The Pareto benchmark's figures (``benchmarks/pareto_bench.py``); the benchmark itself is never run here."""

from __future__ import annotations

import itertools
import random

import pytest

from benchmarks.pareto_bench import front_figures, hypervolume_2d, largest_params


def test_hypervolume_of_known_fronts() -> None:
    assert hypervolume_2d([], (1, 1)) == 0
    assert hypervolume_2d([(0.0, 0.0)], (1, 1)) == 1
    assert hypervolume_2d([(0.2, 0.6), (0.5, 0.3)], (1, 1)) == pytest.approx(0.8 * 0.4 + 0.5 * 0.3)
    assert hypervolume_2d([(0.2, 0.6), (0.5, 0.3), (0.6, 0.6), (1.5, 0.0)], (1, 1)) == pytest.approx(0.47)


def test_hypervolume_counts_the_dominated_cells() -> None:
    rng = random.Random(0)
    for _ in range(20):
        points = [(rng.randrange(20) / 20, rng.randrange(20) / 20) for _ in range(rng.randrange(1, 8))]
        cells = sum(1 for i, j in itertools.product(range(20), repeat=2)
                    if any(x <= i / 20 and y <= j / 20 for x, y in points))
        assert hypervolume_2d(points, (1, 1)) == pytest.approx(cells / 400)


def test_front_figures() -> None:
    top = largest_params(64, 10)
    assert top == 64 * 256 + 256 + 3 * (256 * 256 + 256) + 256 * 10 + 10
    figures = front_figures([(0.9, 1000), (0.95, 20000), (0.8, 5000), (float("nan"), 10)], top)
    assert figures["front"] == 2 and figures["best_accuracy"] == 0.95 and 0 < figures["hypervolume"] < 1
