"""Data: loading (built-in sets, files), preprocessing, fixed splits; the pretrained layers a data set carries."""

from __future__ import annotations

from tunecli.data.dataset import BaseLayer, BaseNetwork, Dataset
from tunecli.data.loading import BUILTIN, DOWNLOADABLE, load_data

__all__ = ["BUILTIN", "DOWNLOADABLE", "BaseLayer", "BaseNetwork", "Dataset", "load_data"]
