"""``tunecli predict MODEL --info``: what a model file says of itself, from its tunecli record alone (no Keras)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunecli.predict.model_file import open_model


def model_info(path: Path) -> dict[str, Any]:
    """``{"path", "record"}``: the record is None for a model another tool saved.

    Raises:
        DataError: no such file, or not a model file.
    """
    return {"path": str(path), "record": open_model(path).record}
