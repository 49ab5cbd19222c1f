"""Reusing pretrained hidden layers (Géron, "Hands-On ML" ch. 11), shared by both trainers: plain Python.

A trial whose data set carries a base network (``Dataset.base``) copies the base's first ``reuse_layers``
hidden layers (all of them by default), adds the space's remaining hidden layers and a new output layer,
trains with the reused layers frozen for ``freeze_epochs`` epochs while the new top learns, then unfreezes
them and goes on with a fresh optimizer (its slots and step count reset) at the learning rate times
``fine_tune_lr_factor``; the learning-rate schedule stays on the trial's epoch axis. With ``freeze_epochs: 0``
nothing is frozen and the factor is unused; with ``freeze_epochs >= max_epochs`` they stay frozen. Only the reused
layers' kernels and biases are reused and frozen: their PReLU slopes and batch-norm variables are new
and train throughout (a frozen Keras batch norm would switch to inference mode).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from tunecli.config.catalogue import layer_widths

if TYPE_CHECKING:
    from tunecli.data import BaseLayer, BaseNetwork


class Reused(NamedTuple):
    """What a trial reused and froze, to record with it (``studies.attrs.reused_record``)."""

    layers: int          # hidden layers copied from the base
    frozen_epochs: int   # epochs they stayed frozen (at most the epochs trained)
    base: str            # the base network's source
    widths: list[int]    # the hidden widths the trial trained
    activation: str      # the base's activation, which the trial trained with


class Phases(NamedTuple):
    """How a trial of ``max_epochs`` epochs splits: ``frozen`` epochs first, then fine-tuning at ``factor``."""

    reused: int          # hidden layers copied from the base (0: none, a plain trial)
    frozen: int          # epochs with the reused layers frozen (at most max_epochs)
    factor: float        # the learning rate's multiplier from epoch frozen + 1 on

    @property
    def unfreezes(self) -> bool:
        """True when the reused layers are frozen first and unfrozen during the run."""
        return self.reused > 0 and self.frozen > 0

    def unfreeze_at(self, max_epochs: int) -> int | None:
        """The 0-based epoch that starts unfrozen after a frozen phase, or None (never frozen, or all along)."""
        return self.frozen if self.unfreezes and self.frozen < max_epochs else None


def reuse_count(p: dict[str, Any], base: BaseNetwork | None) -> int:
    """How many of the base's hidden layers a trial reuses: ``reuse_layers``, None meaning all (0: none).

    Raises:
        ValueError: more layers asked for than the base has, or a negative count.
    """
    if base is None:
        return 0
    asked = p.get("reuse_layers")
    r = len(base.layers) if asked is None else int(asked)
    if not 0 <= r <= len(base.layers):
        raise ValueError(f"reuse_layers is {r}, but the base network ({base.source}) has "
                         f"{len(base.layers)} hidden layers")
    return r


def plan(p: dict[str, Any], base: BaseNetwork | None, n_features: int | None = None
         ) -> tuple[dict[str, Any], tuple[BaseLayer, ...]]:
    """The configuration a transfer trial trains, and the base layers it reuses (input side first).

    ``n_hidden`` becomes at least the number reused; the hidden widths (as a list) are the reused layers'
    followed by the space's widths for the layers after them (``n_neurons`` and ``shape`` as usual); the
    activation is the base's. Without a base, or with ``reuse_layers: 0``, ``p`` is returned as it is.
    Idempotent: planning a planned configuration changes nothing.

    Args:
        p: the trial's parameters, catalogue defaults filled in.
        base: the pretrained hidden layers (``Dataset.base``), or None.
        n_features: the data's input width, checked against the base's when given.

    Raises:
        ValueError: too many layers asked for, the base's input width differs, or a bad freeze_epochs /
            fine_tune_lr_factor (a trial FAIL).
    """
    r = reuse_count(p, base)
    if base is None or r == 0:
        return p, ()
    if n_features is not None and base.n_features != n_features:
        raise ValueError(f"the base network ({base.source}) takes {base.n_features} features; "
                         f"the data has {n_features}")
    phases(p, base)  # checks freeze_epochs and fine_tune_lr_factor
    n_hidden = max(int(p["n_hidden"]), r)
    space = layer_widths({**p, "n_hidden": n_hidden})
    widths = [layer.width for layer in base.layers[:r]] + space[r:]
    return {**p, "n_hidden": len(widths), "n_neurons": widths, "activation": base.activation}, base.layers[:r]


def phases(p: dict[str, Any], base: BaseNetwork | None, max_epochs: int | None = None) -> Phases:
    """The trial's frozen and fine-tuning phases (``Phases(0, 0, 1.0)`` without reused layers).

    Raises:
        ValueError: freeze_epochs below 0 or fine_tune_lr_factor not above 0.
    """
    r = reuse_count(p, base)
    freeze = int(p.get("freeze_epochs") or 0)
    factor = float(1.0 if p.get("fine_tune_lr_factor") is None else p["fine_tune_lr_factor"])
    if freeze < 0:
        raise ValueError(f"freeze_epochs must be 0 or more, not {freeze}")
    if not factor > 0:
        raise ValueError(f"fine_tune_lr_factor must be above 0, not {factor}")
    if r == 0:
        return Phases(0, 0, 1.0)
    return Phases(r, freeze if max_epochs is None else min(freeze, max_epochs), factor)


def describe(p: dict[str, Any], base: BaseNetwork | None, epochs: int) -> Reused | None:
    """What a trial of ``epochs`` epochs reused and froze (None without reused layers)."""
    planned, reused = plan(p, base)
    if base is None or not reused:
        return None
    return Reused(len(reused), min(phases(p, base).frozen, epochs), base.source, layer_widths(planned),
                  planned["activation"])
