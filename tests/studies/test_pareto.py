"""The Pareto front, its knee and ``--pick``, on hand-made rows (no Optuna, no training)."""

from __future__ import annotations

import pytest

from tunecli.errors import TuneCliError
from tunecli.studies.pareto import dominates, front, knee, non_dominated, pick

NAMES, DIRECTIONS = ["val_accuracy", "params"], ["maximize", "minimize"]


def row(number: int, accuracy: float | None, params: int, state: str = "COMPLETE", **more) -> dict:
    return {"number": number, "state": state, "value": accuracy, "search_value": accuracy, "discarded": None,
            "costs": {"params": params, "latency": params / 1e4, "size": 4 * params}, **more}


ROWS = [row(0, 0.90, 1000), row(1, 0.95, 5000), row(2, 0.97, 40000), row(3, 0.93, 8000),   # 3: dominated by 1
        row(4, 0.80, 500), row(5, 0.99, 9, state="PRUNED"), row(6, 0.99, 9, violated=["params"])]


def test_dominance() -> None:
    assert dominates([0.9, 10], [0.8, 20], DIRECTIONS) and not dominates([0.9, 10], [0.9, 10], DIRECTIONS)
    assert not dominates([0.9, 30], [0.8, 20], DIRECTIONS)
    assert non_dominated([[1, 2], [2, 1], [2, 2]], ["minimize", "minimize"]) == [True, True, False]


def test_the_front_keeps_complete_feasible_undominated_trials_best_first() -> None:
    assert [r["number"] for r in front(ROWS, NAMES, DIRECTIONS)] == [2, 1, 0, 4]


def test_the_knee_is_farthest_from_the_line_through_the_extremes() -> None:
    # scaled: #2 (0, 1), #1 (0.118, 0.114), #0 (0.412, 0.013), #4 (1, 0): #1 has the smallest sum
    assert knee(front(ROWS, NAMES, DIRECTIONS), NAMES, DIRECTIONS)["number"] == 1
    assert knee([], NAMES, DIRECTIONS) is None
    lone = [row(7, 0.9, 10)]
    assert knee(lone, NAMES, DIRECTIONS)["number"] == 7


def test_three_objectives_take_the_smallest_sum_of_scaled_objectives() -> None:
    names, directions = ["val_rmse", "params", "latency"], ["minimize"] * 3
    rows = [row(0, 1.0, 100), row(1, 0.5, 300), row(2, 0.2, 1000)]
    rows[1]["costs"]["latency"] = 0.001   # best latency too: the balanced one
    assert [r["number"] for r in front(rows, names, directions)] == [2, 1, 0]
    assert knee(front(rows, names, directions), names, directions)["number"] == 1


@pytest.mark.parametrize("rule,number", [("knee", 1), ("best", 2), ("3", 3), ("#4", 4), ("params<=6000", 1),
                                         ("params <= 5k", 1), ("latency<=0.2ms", 0), ("val_accuracy>=0.96", 2),
                                         ("params<=6000,val_accuracy>=0.92", 1)])
def test_pick_rules(rule: str, number: int) -> None:
    assert pick(ROWS, rule, NAMES, DIRECTIONS)["number"] == number


def test_an_infeasible_trial_is_never_picked_as_best() -> None:
    assert pick(ROWS, "best", NAMES, DIRECTIONS)["number"] != 6
    with pytest.raises(TuneCliError, match="no complete trial keeps"):
        pick(ROWS, "params<=10", NAMES, DIRECTIONS)


@pytest.mark.parametrize("rule,words", [
    ("knee", "several objectives"), ("99", "no trial #99"), ("5", "pruned, not complete"),
    ("params<lots", "a trial number, knee"), ("flops<=3", "unknown objective 'flops'"),
    ("params<=lots", "'<= NUMBER'"), ("anything", "a trial number, knee"),
])
def test_bad_picks_name_the_option(rule: str, words: str) -> None:
    names, directions = (NAMES[:1], DIRECTIONS[:1]) if rule == "knee" else (NAMES, DIRECTIONS)
    with pytest.raises(TuneCliError) as caught:
        pick(ROWS, rule, names, directions, study="s")
    assert caught.value.field == "--pick" and caught.value.exit_code == 2 and words in caught.value.message
