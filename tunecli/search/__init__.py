"""The search: ``run_search`` (the core of ``tunecli search``), its study, worker processes,
coordination between workers, and the engines (Optuna, Keras Tuner)."""

from __future__ import annotations

from tunecli.search.run import SearchOutcome, run_search

__all__ = ["SearchOutcome", "run_search"]
