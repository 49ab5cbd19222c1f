"""Search engines: each drives trials of ``run_trial`` and records them in the Optuna study.

``get_engine`` is the factory: the engines are ``tunecli.config.registry.ENGINES``; each built-in one lives in a
private module (``_optuna``, ``_keras_tuner``) and imports only ``_base`` from here.
"""

from __future__ import annotations

from tunecli.config import registry
from tunecli.search.engines._base import SearchContext, SearchEngine, rerank_reserve, result_attrs

__all__ = ["SearchContext", "SearchEngine", "get_engine", "rerank_reserve", "result_attrs"]


def get_engine(name: str) -> SearchEngine:
    """The engine the space file names (``search.engine``), e.g. ``optuna`` or ``keras-tuner``."""
    return registry.ENGINES[name].load()()
