"""The model file ``predict`` reads: its tunecli record (read without Keras, see ``tunecli.serving.metadata``) and
the Keras model itself, loaded only to predict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunecli.errors import DataError, show
from tunecli.serving import metadata

FIELD = "MODEL"
KINDS = ("number", "text")


@dataclass(frozen=True)
class Column:
    """One column of the data file and the model input it feeds (``kind``: number | text)."""

    name: str
    input: str
    kind: str


@dataclass(frozen=True)
class ModelFile:
    """A saved model and its tunecli record (None: a model another tool wrote)."""

    path: Path
    record: dict[str, Any] | None

    @property
    def columns(self) -> list[Column]:
        return [Column(c["name"], c["input"], c["kind"]) for c in (self.record or {}).get("columns", [])]

    @property
    def task(self) -> str | None:
        return self.record["task"] if self.record else None

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in (self.record or {}).get("classes") or []]

    @property
    def target(self) -> str | None:
        return self.record.get("target") if self.record else None

    @property
    def ignored(self) -> dict[str, str]:
        return dict((self.record or {}).get("ignored") or {})

    @property
    def scores(self) -> dict[str, Any]:
        return dict((self.record or {}).get("scores") or {})


def open_model(path: Path) -> ModelFile:
    """The model file at ``path`` with its record, checked; Keras is not imported.

    Raises:
        DataError: no such file, not a model file, or a record that does not describe the model's inputs.
    """
    if not path.exists():
        raise DataError("no such file", source=str(path), field=FIELD)
    if path.is_dir():
        raise DataError("a folder, not a model file (.keras)", source=str(path), field=FIELD)
    try:
        record = metadata.read(path)
    except metadata.NotAModel as exc:
        raise DataError(f"not a model file: {exc}", source=str(path), field=FIELD) from None
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror or exc}", source=str(path), field=FIELD) from None
    if record is not None:
        _check(record, path)
    return ModelFile(path, record)


def _check(record: dict[str, Any], path: Path) -> None:
    """The keys ``predict`` relies on are there and of the right kind."""
    columns = record.get("columns")
    why = None
    if record.get("task") not in ("classification", "regression"):
        why = f"task is {show(record.get('task'))}"
    elif not isinstance(columns, list) or not columns:
        why = "it names no input columns"
    elif not all(isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("input"), str)
                 and c.get("kind") in KINDS for c in columns):
        why = "a column lacks its name, input or kind (number | text)"
    elif record["task"] == "classification" and not record.get("classes"):
        why = "a classification model without its classes"
    if why:
        raise DataError(f"its {metadata.MEMBER} does not describe the model: {why}", source=str(path), field=FIELD)


def load_keras(path: Path) -> Any:
    """The Keras model in the file (TensorFlow backend: text inputs are TensorFlow strings).

    Raises:
        DataError: Keras cannot load it.
    """
    from tunecli.runtime import import_keras, init_backend

    init_backend("tensorflow")
    keras = import_keras()
    import tunecli.trainers.keras.model  # noqa: F401 - registers tunecli's MC dropout layers for loading

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - whatever Keras raises, the file is not a model it can load
        raise DataError(f"Keras cannot load it: {type(exc).__name__}: {str(exc)[:200]}", source=str(path),
                        field=FIELD) from None
