"""The model's score on the rows whose target the data file holds, added up chunk by chunk: accuracy for a
classification (a label the model does not know counts as wrong), rmse or mae (the model's own metric) for a
regression, both in the target's own units. Rows with an empty target are not scored."""

from __future__ import annotations

from typing import Any

import numpy as np

METRICS = ("accuracy", "rmse", "mae")


class Score:
    """Running sums of a score; ``result()`` is None until a row with a target was seen."""

    def __init__(self, task: str, classes: list[str], metric: str | None = None) -> None:
        self.task, self.classes = task, classes
        default = "accuracy" if task == "classification" else "rmse"
        self.metric = metric if metric in METRICS and (metric == "accuracy") == (task == "classification") else default
        self.codes = {name: i for i, name in enumerate(classes)}
        self.rows = self.missing = self.unknown = 0
        self.correct = self.squares = self.absolute = 0.0

    def add(self, y: Any, predicted: np.ndarray) -> None:
        """Score one chunk: ``y`` as the file holds it, ``predicted`` class indices (-1: none) or values (NaN: none)."""
        import pandas as pd

        y = pd.Series(np.asarray(y, dtype=object) if not hasattr(y, "dtype") else y).reset_index(drop=True)
        present = y.notna().to_numpy()
        self.missing += int((~present).sum())
        if self.task == "classification":
            codes = np.array([self._code(v) for v in y[present]], dtype=np.int64)
            self.unknown += int((codes < 0).sum())
            self.correct += float((codes == predicted[present]).sum())
            self.rows += int(present.sum())
            return
        values = pd.to_numeric(y, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        usable = np.isfinite(values) & np.isfinite(predicted)
        self.unknown += int((present & ~np.isfinite(values)).sum())  # text or infinite: not scored
        error = values[usable] - predicted[usable]
        self.squares += float(np.square(error).sum())
        self.absolute += float(np.abs(error).sum())
        self.rows += int(usable.sum())

    def _code(self, value: Any) -> int:
        """The class a target value names, as the search named classes (``str`` of the value); -1 for none."""
        text = str(value)
        if text not in self.codes and isinstance(value, (float, np.floating)) and float(value).is_integer():
            text = str(int(value))  # an integer column read as floats (a chunk with an empty cell)
        return self.codes.get(text, -1)

    def result(self) -> dict[str, Any] | None:
        """``{"metric", "value", "rows", "missing", "unknown"}``, or None when no row had a target to score."""
        if not self.rows:
            return None
        if self.metric == "accuracy":
            value = self.correct / self.rows
        elif self.metric == "mae":
            value = self.absolute / self.rows
        else:
            value = float(np.sqrt(self.squares / self.rows))
        return {"metric": self.metric, "value": value, "rows": self.rows, "missing": self.missing,
                "unknown": self.unknown}
