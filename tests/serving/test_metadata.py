"""The record stored inside a shipped ``.keras`` file (standard library only: no Keras needed here)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from tunecli.serving import metadata


def _fake_model(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\0")
    return path


def test_a_record_round_trips_and_replaces_the_last(tmp_path) -> None:
    path = _fake_model(tmp_path / "m.keras")
    assert metadata.read(path) is None  # a .keras file tunecli did not describe
    metadata.write(path, {"task": "classification", "classes": np.array(["a", "b"]), "mc_passes": np.int64(0)})
    metadata.write(path, {"task": "regression", "classes": []})
    record = metadata.read(path)
    assert record == {"format": metadata.FORMAT, "task": "regression", "classes": []}
    with zipfile.ZipFile(path) as archive:  # Keras' own members are untouched, the record is there once
        assert sorted(archive.namelist()) == ["config.json", "model.weights.h5", metadata.MEMBER]


@pytest.mark.parametrize(("content", "why"), [
    (b"not a zip at all", "not a zip archive"),
    ({"other.txt": "x"}, "without Keras' config.json"),
    ({"config.json": "{}", metadata.MEMBER: "{oops"}, "is not JSON"),
    ({"config.json": "{}", metadata.MEMBER: json.dumps({"format": 99})}, "newer tunecli"),
])
def test_what_is_not_a_tunecli_model_is_said(tmp_path, content, why) -> None:
    path = tmp_path / "m.keras"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with zipfile.ZipFile(path, "w") as archive:
            for name, body in content.items():
                archive.writestr(name, body)
    with pytest.raises(metadata.NotAModel, match=why):
        metadata.read(path)
