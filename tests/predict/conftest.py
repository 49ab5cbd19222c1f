from __future__ import annotations

from pathlib import Path

import pytest

from tests.predict import models


@pytest.fixture(scope="session")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The hand-made models, saved once: ``table``, ``array`` and ``foreign``."""
    folder = tmp_path_factory.mktemp("models")
    return {"table": models.table_model(folder / "table.keras"), "array": models.array_model(folder / "array.keras"),
            "foreign": models.foreign_model(folder / "foreign.keras")}
