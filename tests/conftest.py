from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.helpers import SHARED

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder absent: {SHARED}")
    return SHARED


@pytest.fixture
def write_space(tmp_path: Path):
    """Write a space file (a dict or raw text) into tmp_path and return its path."""

    def write(content: dict | str, name: str = "space.yaml") -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
        return path

    return write
