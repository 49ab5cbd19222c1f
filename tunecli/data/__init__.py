"""Data: loading (built-in sets, files), preprocessing, fixed splits, pretrained layers and unlabeled rows."""

from __future__ import annotations

from tunecli.data.dataset import Dataset
from tunecli.data.loading import BUILTIN, DOWNLOADABLE, load_data
from tunecli.data.pretrained import BaseLayer, BaseNetwork, read_base_model
from tunecli.data.reuse import attach_base
from tunecli.data.unlabeled import read_unlabeled

__all__ = ["BUILTIN", "DOWNLOADABLE", "BaseLayer", "BaseNetwork", "Dataset", "attach_base", "load_data",
           "read_base_model", "read_unlabeled"]
