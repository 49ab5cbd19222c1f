"""Data: loading (built-in sets, files), preprocessing, fixed splits."""

from __future__ import annotations

from tunecli.data.dataset import Dataset
from tunecli.data.loading import BUILTIN, DOWNLOADABLE, load_data

__all__ = ["BUILTIN", "DOWNLOADABLE", "Dataset", "load_data"]
