from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
ASSETS = Path(__file__).parent / "assets"

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


TINY_SPACE = {
    "study": "tiny",
    "data": {"source": "iris"},
    "search": {"trials": 2, "seed": 1},
    "training": {"max_epochs": 2, "early_stopping": {"patience": 2}},
    "space": {"n_hidden": {"int": [1, 2]}, "n_neurons": {"choice": [8, 16]}, "learning_rate": 0.01},
}


def invoke_in(folder: Path, *args: str) -> Any:
    """Run the ``tunecli`` command with ``args`` in ``folder`` (relative paths resolve there), in process."""
    from typer.testing import CliRunner

    from tunecli.cli import app

    here = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        os.chdir(here)
