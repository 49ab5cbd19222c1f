"""What a shipped model is, stored inside its ``.keras`` file: the zip member ``tunecli.json`` beside Keras' own.

Keras ignores the member when it loads the file, so the model still loads with Keras alone; ``tunecli predict``
reads it to check a data file's columns, name the classes and say where the model came from. Standard library
only (``tunecli predict --info`` and ``report`` must not import TensorFlow).

The record (``FORMAT`` 1), every key always present:

- ``format``: 1; ``tunecli_version``: the version that wrote it.
- ``task``: ``classification`` | ``regression``; ``target``: the target column's name (None for arrays).
- ``columns``: the model's inputs in order, one per source column the model uses:
  ``{"name": column in the data file, "input": the Keras input's name, "kind": "number" | "text"}``.
  A ``number`` input takes float32 of shape (rows, 1), NaN for a missing cell; a ``text`` input takes strings
  of shape (rows, 1) (a ``tf.constant``), ``""`` for a missing cell. Several ``number`` columns may share one input
  (an array source's ``x0``, ``x1``, ... all feed input ``x``): it then takes (rows, k), the columns in their order
  here. The model is called with a dict ``{input name: array}``. An array source (built-in sets, ``.npz``, MNIST)
  lists every feature of the source, in order, with ``"input": "x"`` (those in ``ignored`` are ignored inside).
- ``layout``: ``table`` (one input per column) | ``array`` (one input ``x``).
- ``ignored``: ``{column: why}`` for the source's columns the model does not use (identifiers, free text, ...).
- ``classes``: class names in the order of the model's probabilities (``[]`` for a regression), as text: ``str``
  of the target's values as the data file held them (``"0"`` for an integer 0, ``"1.5"`` for a float 1.5).
- ``outputs``: ``probabilities`` (rows, classes) | ``values`` (rows, 1), in the target's own units; it is also the
  name of the model's output. ``target_scale``: a regression's ``data.target_scale``, already applied inside (1.0).
- ``mc_passes``: MC dropout passes averaged inside the model (0: a plain model).
- ``config``: the configuration trained (parameter -> value).
- ``origin``: ``{"study": name, "trial": number}`` or None; ``model``: ``refit`` | ``kept`` | ``ensemble``.
- ``scores``: ``{"metric": "accuracy" | "rmse" | "mae", "validation": float | None, "test": float | None}``;
  an rmse or mae in the target's own units, as the outputs (not divided by ``data.target_scale``), so that
  ``tunecli predict`` on the test rows prints the same number. A refit trained on the validation rows: its
  ``validation`` is the search's score of its configuration.
- ``data``: ``{"source": the data source as the space file names it, "rows": training rows}``.
- ``members``: for an ensemble, ``[{"trial": number, "weight": float}]``; else ``[]``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

MEMBER = "tunecli.json"
FORMAT = 1


class NotAModel(ValueError):
    """The file is not a ``.keras`` model file (not a zip holding Keras' ``config.json``)."""


def write(path: str | Path, record: dict[str, Any]) -> None:
    """Add ``record`` to the saved model at ``path`` (replacing a record already there)."""
    path = Path(path)
    body = json.dumps({"format": FORMAT, **record}, indent=1, sort_keys=True, default=_plain)
    with zipfile.ZipFile(path) as archive:
        if MEMBER in archive.namelist():
            entries = [(info, archive.read(info)) for info in archive.infolist() if info.filename != MEMBER]
        else:
            entries = None
    if entries is not None:  # zip files cannot drop a member: write the others again
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for info, data in entries:
                archive.writestr(info, data)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, body)


def read(path: str | Path) -> dict[str, Any] | None:
    """The record stored in the model at ``path``; None for a ``.keras`` file tunecli did not write.

    Raises:
        NotAModel: the file is not a ``.keras`` model file (with the reason).
        OSError: it cannot be read.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "config.json" not in names:
                raise NotAModel("a zip file without Keras' config.json")
            if MEMBER not in names:
                return None
            record = json.loads(archive.read(MEMBER))
    except zipfile.BadZipFile:
        raise NotAModel("not a .keras model file (not a zip archive)") from None
    except json.JSONDecodeError as exc:
        raise NotAModel(f"its {MEMBER} is not JSON ({exc.msg})") from None
    if not isinstance(record, dict) or not isinstance(record.get("format"), int):
        raise NotAModel(f"its {MEMBER} has no format number")
    if record["format"] > FORMAT:
        raise NotAModel(f"written by a newer tunecli (format {record['format']}; this one reads up to {FORMAT})")
    return record


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")
