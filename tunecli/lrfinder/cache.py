"""The range tests a search keeps: what a test depends on (``range_test_key``) and the study's store of them
(``StudyLRCache``), so that a structure is tested once per study, whatever worker, machine or resumed run asks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from tunecli.config.catalogue import layer_widths
from tunecli.studies import attrs
from tunecli.trainers.transfer import phases, plan

if TYPE_CHECKING:
    import optuna

    from tunecli.config.params import LrFinderParam
    from tunecli.data import Dataset


def range_test_key(p: dict[str, Any], dataset: Dataset) -> str:
    """What a range test depends on: the structure (real widths, activation, initializer, optimizer, batch
    size, batch norm, dropout on/off, penalties on/off, clipping, loss), the data and the ramp; not the
    continuous values a sampler varies (dropout rate, momentum, L2 strength ...). With a base network: the
    widths and activation the trial trains (``transfer.plan``), the base, how many layers it reuses and whether
    they start frozen (the ramp starts from them).

    Args:
        p: the configuration, defaults filled in; its ``learning_rate`` is the ``LrFinderParam`` (the ramp).
        dataset: the data the ramp trains on (and its base network, if any).

    Returns:
        16 hexadecimal digits.
    """
    spec: LrFinderParam = p["learning_rate"]
    planned, reused = plan(p, dataset.base)
    parts = {"widths": layer_widths(planned), "activation": planned["activation"], "initializer": p["initializer"],
             "optimizer": p["optimizer"], "batch_size": p["batch_size"], "batch_norm": str(p["batch_norm"]),
             "dropout": bool(p["dropout"]), "mc_dropout": bool(p["mc_dropout"]), "l1": bool(p["l1"]),
             "l2": bool(p["l2"]), "max_norm": p["max_norm"] is not None, "clip": [p["clipnorm"] is not None,
                                                                               p["clipvalue"] is not None],
             "loss": p["loss"], "data": [dataset.name, dataset.n_features, len(dataset.x_train)],
             "ramp": [spec.min_lr, spec.max_lr, spec.steps, spec.rule]}
    if reused:
        parts["base"] = [dataset.base.source, len(reused), phases(p, dataset.base).frozen > 0]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class StudyLRCache(MutableMapping):
    """The LR range tests of a study, one per structure (``range_test_key``), kept as study user attributes
    ``lr_test.<key>`` (``attrs.lr_test_key``; a test as ``attrs.lr_test_record`` writes it): every worker, machine
    and resumed run of the study reuses them."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study

    def __getitem__(self, key: str) -> Any:
        value = attrs.read(self.study.user_attrs, attrs.lr_test_key(key))
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.study.set_user_attr(attrs.lr_test_key(key), value)

    def __delitem__(self, key: str) -> None:
        self.study.set_user_attr(attrs.lr_test_key(key), None)

    def __iter__(self) -> Iterator[str]:
        return iter(attrs.members(self.study.user_attrs, attrs.LR_TEST))

    def __len__(self) -> int:
        return sum(1 for _ in self)
