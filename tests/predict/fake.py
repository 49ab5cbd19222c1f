"""A ``.keras`` file Keras could not load but whose tunecli record is real: for what ``predict`` refuses before it
imports Keras (tests stay fast)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from tests.predict.models import record
from tunecli.serving import metadata


def fake_model_bytes(**changes: Any) -> bytes:
    """A zip holding an empty ``config.json`` and the record (``models.record`` with ``changes``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr(metadata.MEMBER, json.dumps({"format": metadata.FORMAT, **record(**changes)}))
    return buffer.getvalue()
