"""``pretrain:``: the autoencoder's encoder, trained once per study and stored with it.

The encoder is kept in the study's user attributes (``pretrain.<key>``, the key a digest of the settings and
the rows it trains on; the record: ``studies.attrs.encoder_record``), so that every worker process, a resumed
search, re-ranking and ``tunecli train`` start from the very same weights, whatever the store (a journal file,
SQLite, PostgreSQL).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.data.dataset import BaseLayer, BaseNetwork
from tunecli.studies.attrs import PRETRAIN, Encoder, encoder_record, members, pretrain_key, read
from tunecli.transfer.base_model import PRETRAINED

if TYPE_CHECKING:
    from collections.abc import Mapping

    import optuna

    from tunecli.config.space import SearchSpace
    from tunecli.data import Dataset


def with_pretrained(space: SearchSpace, dataset: Dataset, study: optuna.Study | None = None, *,
                    attrs: Mapping[str, Any] | None = None, seed: int | None = None) -> Dataset:
    """``dataset`` with the encoder of ``space.pretrain`` as its base (unchanged without ``pretrain:``).

    The encoder stored in ``study`` (or in ``attrs``, a finished study's attributes) is reused; else it is
    trained on the training rows plus ``pretrain.unlabeled`` and stored in ``study`` when one is given.
    ``seed`` (default ``search.seed``) seeds it and is part of its key: worker processes pass the search's own,
    not the one they sample with.
    """
    if space.pretrain is None:
        return dataset
    seed = space.search.seed if seed is None else seed
    x = _rows(space, dataset)
    key = _key(space, x, seed)
    stored = read(study.user_attrs if study is not None else attrs or {}, pretrain_key(key))
    base = _decode(stored, dataset.n_features) if stored else None
    if base is None:
        from tunecli.transfer.autoencoder import fit_autoencoder

        settings = space.pretrain
        fitted = fit_autoencoder(x, list(settings.layers), settings.activation, settings.epochs, seed)
        base = fitted.base
        if study is not None:
            study.set_user_attr(pretrain_key(key), _encode(base, fitted.losses, len(x)))
    return dataclasses.replace(dataset, base=base)


def _rows(space: SearchSpace, dataset: Dataset) -> np.ndarray:
    """The rows the autoencoder learns from: the training rows, plus the unlabeled ones asked for."""
    from tunecli.transfer.unlabeled import read_unlabeled

    unlabeled = space.pretrain.unlabeled
    if unlabeled is None:
        return dataset.x_train
    base_dir = Path(space.path).parent if space.path else None
    return np.concatenate([dataset.x_train, read_unlabeled(unlabeled, space, dataset, base_dir)])


def _key(space: SearchSpace, x: np.ndarray, seed: int | None) -> str:
    settings = space.pretrain.model_dump()
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(x, np.float32).tobytes())
    digest.update(str(seed).encode())
    return digest.hexdigest()[:16]


def _encode(base: BaseNetwork, losses: list[float], rows: int) -> dict[str, Any]:
    from tunecli.trainers.keras.weights import to_text

    arrays = [a for layer in base.layers for a in (layer.kernel, layer.bias)]
    return encoder_record(to_text(arrays), activation=base.activation, losses=losses, rows=rows)


def _decode(stored: Encoder, n_features: int) -> BaseNetwork | None:
    """The stored encoder; None when it is unreadable (it is then trained again)."""
    from tunecli.trainers.keras.weights import from_text

    try:
        arrays = from_text(stored.weights)
    except ValueError:
        return None
    activation = stored.activation
    if len(arrays) % 2 or not arrays or arrays[0].shape[0] != n_features:
        return None
    layers = tuple(BaseLayer(arrays[i], arrays[i + 1], activation) for i in range(0, len(arrays), 2))
    return BaseNetwork(n_features, layers, PRETRAINED)


def pretrain_summary(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the study's stored encoder trained on and its reconstruction losses (for reports)."""
    for encoder in members(attrs, PRETRAIN).values():
        return {"rows": encoder.rows, "losses": encoder.losses}
    return None
