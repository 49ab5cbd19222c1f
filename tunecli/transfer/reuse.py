"""Checking a space that reuses layers (``transfer:`` / ``pretrain:``) against its data, before anything is trained or
stored, and attaching a saved model's hidden layers to the data."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from tunecli.config.catalogue import same_activation
from tunecli.config.params import FixedParam
from tunecli.errors import SpaceError, show
from tunecli.transfer.base_model import read_base_model

if TYPE_CHECKING:
    from tunecli.config.params import ParamSpec
    from tunecli.config.space import SearchSpace
    from tunecli.data.dataset import Dataset


def attach_base(space: SearchSpace, dataset: Dataset) -> Dataset:
    """Check a space that reuses layers against its data; with ``transfer:``, the data with the base attached.

    Call it right after loading the data, before anything is trained or stored. ``transfer``: the saved model is
    read (``read_base_model``) and returned on a copy of ``dataset`` as ``base``. ``pretrain``: the autoencoder is
    trained later; its settings are checked now (``pretrain.unlabeled`` is read once to check it). Without either,
    ``dataset`` itself is returned.

    Raises:
        SpaceError: the base's input width is not the data's; ``reuse_layers`` can ask for more layers than the base
            has; the space tunes ``activation`` or fixes it to another than the base's; unlabeled rows unfit.
    """
    base_dir = Path(space.path).parent if space.path else None
    if space.transfer is not None:
        base = read_base_model(space.transfer.source, base_dir, space_file=space.path)
        if base.n_features != dataset.n_features:
            raise SpaceError(f"the base model {show(base.source, 80)} takes {base.n_features} inputs but the data "
                             f"({dataset.name}) has {dataset.n_features} features after preprocessing; transfer "
                             "needs the same input columns", source=space.path, field="transfer.from")
        check_reuse(space, len(base.layers), base.activation, "the base model", f" ({show(base.source, 80)})")
        return dataclasses.replace(dataset, base=base)
    if space.pretrain is not None:
        check_reuse(space, len(space.pretrain.layers), space.pretrain.activation, "the autoencoder", " (pretrain.layers)")
        from tunecli.transfer.unlabeled import read_unlabeled

        read_unlabeled(space.pretrain.unlabeled, space, dataset, base_dir)
    return dataset


def check_reuse(space: SearchSpace, n_layers: int, activation: str, owner: str, detail: str = "") -> None:
    """``reuse_layers`` never asks for more than the ``n_layers`` of the base; ``activation`` is the base's or absent.

    ``owner`` (``"the base model"``) and ``detail`` (`` (models/a.keras)``) name the base in the messages.

    Raises:
        SpaceError: field ``space.reuse_layers`` or ``space.activation``.
    """
    reuse = space.space.get("reuse_layers")
    largest = _largest(reuse) if reuse is not None else None
    if largest is not None and largest > n_layers:
        raise SpaceError(f"asks for up to {largest} reused layers but {owner}{detail} has {n_layers} hidden "
                         f"layer{'s' if n_layers != 1 else ''}; keep reuse_layers at most {n_layers}",
                         source=space.path, field="space.reuse_layers")
    spec = space.space.get("activation")
    if spec is not None and not (isinstance(spec, FixedParam) and same_activation(spec.value, activation)):
        raise SpaceError(f"reused layers keep {owner}'s activation ({activation}); remove activation from the "
                         f"space or fix it to {activation}", source=space.path, field="space.activation")


def _largest(spec: ParamSpec) -> int | None:
    """The largest value a ``reuse_layers`` spec can take (None: all the base's layers)."""
    values = spec.values()
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return int(max(numbers)) if numbers else None
