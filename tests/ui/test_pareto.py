"""What the Pareto table's notes say, on hand-made rows (no Optuna, no training)."""

from __future__ import annotations

from tunecli.ui.pareto import notes


def row(number: int, violated: list[str] | None = None, state: str = "COMPLETE") -> dict:
    return {"number": number, "state": state, "value": 0.9, "costs": {"params": 100}, "violated": violated}


def test_the_trials_that_broke_a_constraint_are_named_with_the_bounds_they_broke() -> None:
    lines = notes([row(0), row(4, ["params <= 400"]), row(5, ["x"], state="FAIL")], ["val_accuracy", "params"])
    assert lines[-1] == ("1 complete trial broke a constraint, left out of the front and never the best: "
                         "#4 (params <= 400).")
    many = notes([row(n, ["params <= 400", "latency <= 2"]) for n in range(8)], ["val_accuracy", "params"])[-1]
    assert many.startswith("8 complete trials") and "#5 (params <= 400; latency <= 2)" in many
    assert "#6" not in many and many.endswith("and 2 more.")
    assert not notes([row(0)], ["val_accuracy", "params"])[-1].startswith("1 complete")
