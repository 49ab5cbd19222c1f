"""The score on a file's targets, added up over chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tunecli.predict.scores import Score


def test_accuracy_over_chunks_names_classes_as_the_search_did() -> None:
    score = Score("classification", ["0", "1", "2"], "accuracy")
    score.add(pd.Series([0, 1, 2, 1]), np.array([0, 1, 1, 1]))
    score.add(pd.Series([1.0, np.nan, 7.0]), np.array([1, 2, 0]))  # floats: a chunk with an empty target
    assert score.result() == {"metric": "accuracy", "value": 4 / 6, "rows": 6, "missing": 1, "unknown": 1}


def test_a_row_without_a_prediction_is_wrong() -> None:
    score = Score("classification", ["a", "b"])
    score.add(pd.Series(["a", "b"]), np.array([-1, 1]))
    assert score.result()["value"] == 0.5


@pytest.mark.parametrize("metric,expected", [("rmse", np.sqrt((1 + 4) / 2)), ("mae", 1.5), (None, np.sqrt(2.5))])
def test_regression_scores_in_the_targets_units(metric, expected) -> None:
    score = Score("regression", [], metric)
    score.add(pd.Series(["3", "text"]), np.array([2.0, 9.0]))
    score.add(np.array([5.0, np.nan]), np.array([7.0, 1.0]))
    result = score.result()
    assert result["metric"] == (metric or "rmse") and result["value"] == pytest.approx(expected)
    assert (result["rows"], result["missing"], result["unknown"]) == (2, 1, 1)


def test_no_target_no_score() -> None:
    score = Score("regression", [])
    score.add(pd.Series([np.nan]), np.array([1.0]))
    assert score.result() is None
