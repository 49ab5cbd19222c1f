"""Search engines: each drives trials of ``run_trial`` and records them in the Optuna study.

``get_engine`` is the factory; each engine lives in a private module (``_optuna``, ``_keras_tuner``)
and imports only ``_base`` from here.
"""

from __future__ import annotations

from tunecli.search.engines._base import SearchContext, SearchEngine, result_attrs

__all__ = ["SearchContext", "SearchEngine", "get_engine", "result_attrs"]


def get_engine(name: str) -> SearchEngine:
    """The engine the space file names: ``optuna`` or ``keras-tuner``."""
    if name == "keras-tuner":
        from tunecli.search.engines._keras_tuner import KerasTunerEngine

        return KerasTunerEngine()
    from tunecli.search.engines._optuna import OptunaEngine

    return OptunaEngine()
