"""Trainers: the fast JAX trainer (``fast``) and Keras' ``fit`` (``keras``), behind one contract.

``contract`` holds what both hand back (``Fitted``) and the per-epoch hook they call; importing
this package imports neither JAX nor Keras.
"""

from __future__ import annotations

from tunecli.trainers.contract import EpochHook, Fitted

__all__ = ["EpochHook", "Fitted"]
