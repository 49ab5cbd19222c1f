"""Search engines: each drives trials of ``run_trial`` and records them in the Optuna study."""

from __future__ import annotations

from tunecli.engines._base import SearchContext, SearchEngine, get_engine

__all__ = ["SearchContext", "SearchEngine", "get_engine"]
