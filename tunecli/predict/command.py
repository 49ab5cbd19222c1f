"""The core of ``tunecli predict``: a saved model's predictions for the rows of a data file.

Everything that can be checked without the model is checked before Keras is imported: the model file and its
record, the data file and its columns, the output path. The rows are then read, checked and predicted a chunk at a
time, written to a temporary file that takes the output's name only once every row is predicted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from tunecli.errors import DataError
from tunecli.predict import split
from tunecli.predict.inputs import Plan, foreign_plan, model_inputs, plan
from tunecli.predict.model_file import ModelFile, load_keras, open_model
from tunecli.predict.output import Sink, as_probabilities, check_output, json_values, predicted, prediction_rows
from tunecli.predict.reader import DataFile, open_data
from tunecli.predict.scores import Score

BATCH_SIZE = 4096
FOREIGN = ("it has no tunecli metadata (a model another tool saved): the file's columns feed its input in order, "
           "and its outputs are written as they come")


class Progress(Protocol):
    """What ``predict_file`` reports to: the CLI injects a progress bar (``tunecli.ui.predict``)."""

    def __enter__(self) -> Progress: ...
    def __exit__(self, *exc: object) -> None: ...
    def update(self, completed: float) -> None: ...


@dataclass
class PredictOutcome:
    """What a prediction run did: where the rows went, the score on the file's targets, and what was noted."""

    model: str
    data: str
    rows: int
    task: str
    classes: list[str]
    output: str | None
    score: dict[str, Any] | None = None
    model_scores: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    predictions: list[Any] | None = None   # kept only when asked (JSON on standard output)
    probabilities: list[list[float]] | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON shape of ``predict --json``."""
        out = {"model": self.model, "data": self.data, "rows": self.rows, "task": self.task, "classes": self.classes,
               "output": self.output, "score": self.score, "model_scores": self.model_scores, "notes": self.notes}
        if self.predictions is not None:
            out["predictions"] = self.predictions
        if self.probabilities is not None:
            out["probabilities"] = self.probabilities
        return out


def predict_file(model_path: Path, data_path: Path | None, *, test_split: Path | None = None,
                 output: Path | None = None, stream: IO[str] | None = None, proba: bool = False, keep: bool = False,
                 sep: str | None = None, progress: Any = None) -> PredictOutcome:
    """Predict every row of ``data_path`` with the model at ``model_path``.

    Args:
        test_split: instead of ``data_path``, the test split of the data this space file names.
        output: write the predictions here, CSV or Parquet by its suffix (whole, or not at all).
        stream: else write the CSV here once every row is predicted (standard output).
        proba: add one probability column per class.
        keep: keep the predictions in the outcome (``--json`` on standard output).
        sep: the CSV separator (else detected).
        progress: ``progress(total)`` makes a ``Progress`` (None: no progress shown).

    Raises:
        DataError: the model, the data or the options do not fit (exit 2).
        RunError: the predictions cannot be written (exit 1).
    """
    model = open_model(model_path)
    data = _rows(data_path, test_split, sep)
    chosen = plan(model, data) if model.record is not None else None
    if proba and model.task == "regression":
        raise DataError("--proba gives class probabilities; this model is a regression", source=str(model_path),
                        field="--proba")
    if output is not None:
        check_output(output)
    with Sink(output, stream) as sink:
        run = _Run(model, data, chosen, proba=proba, keep=keep)
        with progress(data.total) if progress else _Silent() as shown:
            for chunk in data.chunks(run.plan_for_reading(), run.text_columns()):
                sink.write(run.predict(chunk))
                shown.update(data.progress)
        sink.commit()
    return run.outcome(output)


def _rows(data_path: Path | None, test_split: Path | None, sep: str | None) -> DataFile:
    """The data file, or the test split a space file's search never saw (``--test-split``)."""
    if test_split is not None:
        if data_path is not None:
            raise DataError(f"give DATA ({data_path}) or --test-split, not both", field="--test-split")
        return split.test_split(test_split)
    if data_path is None:
        raise DataError("give the data file to predict (or --test-split SPACE.yaml, or --info)", field="DATA")
    return open_data(data_path, _separator(sep))


def _separator(sep: str | None) -> str | None:
    """``--sep`` checked as ``data.sep`` is."""
    if sep is None:
        return None
    from tunecli.config.space import parse_sep

    try:
        return parse_sep(sep)
    except ValueError as exc:
        raise DataError(str(exc), field="--sep") from None


class _Silent:
    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, completed: float) -> None:
        return None


class _Run:
    """One prediction run: the Keras model (loaded on the first chunk), its plan of inputs, the running score."""

    def __init__(self, model: ModelFile, data: DataFile, chosen: Plan | None, *, proba: bool, keep: bool) -> None:
        self.model, self.data, self.plan, self.proba, self.keep = model, data, chosen, proba, keep
        self.keras: Any = None
        self.classes = model.classes
        self.score: Score | None = None
        self.rows = 0
        self.kept: list[np.ndarray] = []
        self.notes = list(chosen.notes) if chosen else []
        if chosen is None:  # a model from another tool: its input width is known once Keras loaded it
            self._load()

    def plan_for_reading(self) -> list[str]:
        assert self.plan is not None
        return self.plan.usecols

    def text_columns(self) -> list[str]:
        assert self.plan is not None
        return self.plan.text

    def _load(self) -> None:
        self.keras = load_keras(self.model.path)
        if self.plan is not None:
            return
        shapes = [tuple(t.shape) for t in self.keras.inputs]
        if len(shapes) != 1 or len(shapes[0]) != 2:
            raise DataError(f"{FOREIGN.split(':')[0]}, and its inputs {shapes} are not one row of numbers; "
                            "tunecli predict needs its metadata", source=str(self.model.path), field="MODEL")
        self.plan = foreign_plan(self.data, shapes[0][1])
        self.notes.append(FOREIGN)
        width = int(self.keras.outputs[0].shape[-1])
        self.classes = [str(i) for i in range(width)] if width > 1 else []
        if self.proba and not self.classes:
            raise DataError("--proba gives class probabilities; this model has one output (a value)",
                            source=str(self.model.path), field="--proba")

    def predict(self, chunk: Any) -> Any:
        """One chunk's prediction rows (checked, predicted, scored)."""
        assert self.plan is not None
        decimal = self.data.dialect.decimal if self.data.dialect else "."
        inputs = model_inputs(self.plan, chunk, str(self.data.path), decimal)
        if self.keras is None:
            self._load()
        outputs = self._call(inputs)
        if self.classes:
            outputs = as_probabilities(outputs, len(self.classes))
        self._score(chunk, outputs)
        self.rows += len(chunk)
        if self.keep:
            self.kept.append(outputs)
        return prediction_rows(outputs, self.classes, self.proba)

    def _call(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The model's outputs, its inputs given in the structure it was built with (a dict, a list or one tensor)."""
        import tensorflow as tf

        feed = {name: tf.constant(array) if array.dtype == object else array for name, array in inputs.items()}
        try:
            structure = self.keras.input
        except (AttributeError, ValueError):  # a Sequential model never called: one input
            structure = None
        if isinstance(structure, dict):
            given: Any = feed
        elif isinstance(structure, (list, tuple)):
            given = [feed[tensor.name] for tensor in structure]
        else:  # one input: a model from another tool, or one built on its input alone
            given = next(iter(feed.values()))
        return np.asarray(self.keras.predict(given, batch_size=BATCH_SIZE, verbose=0))

    def _score(self, chunk: Any, outputs: np.ndarray) -> None:
        assert self.plan is not None
        y = chunk.frame[self.plan.target] if self.plan.target else chunk.y
        if y is None or self.model.record is None:
            return
        if self.score is None:
            self.score = Score(self.model.task or "", self.classes, self.model.scores.get("metric"))
        self.score.add(y, predicted(outputs, self.classes))

    def outcome(self, output: Path | None) -> PredictOutcome:
        task = self.model.task or ("classification" if self.classes else "regression")
        result = PredictOutcome(str(self.model.path), self.data.describe(), self.rows, task, self.classes,
                                str(output) if output else None, self.score.result() if self.score else None,
                                self.model.scores, self.notes)
        if self.keep:
            outputs = np.concatenate(self.kept) if self.kept else np.zeros((0, max(len(self.classes), 1)))
            if self.classes:
                result.predictions = prediction_rows(outputs, self.classes, False)["prediction"].tolist()
            else:
                result.predictions = json_values(predicted(outputs, self.classes))
            if self.proba:
                result.probabilities = json_values(outputs)
        return result
