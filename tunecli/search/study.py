"""The study of a search: created, or resumed when it holds the same data, objective and space."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from tunecli.errors import StorageError
from tunecli.search.samplers import make_pruner, make_sampler
from tunecli.studies import attrs
from tunecli.studies.storage import open_storage
from tunecli.studies.urls import describe

if TYPE_CHECKING:
    import optuna

    from tunecli.config.objective import Objective
    from tunecli.config.space import SearchSpace


def fingerprint(space: SearchSpace) -> str:
    """What must stay the same for a study to be resumed: the data, objective and space sections."""
    raw = space.raw
    key = json.dumps({k: raw.get(k) for k in ("data", "objective", "space")}, sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def create_or_resume(space: SearchSpace, objective: Objective, storage_url: str | None) -> optuna.Study:
    """Create the study, or load it to resume; refuse a study made from a different space."""
    import optuna

    storage = open_storage(storage_url)
    sampler, pruner = make_sampler(space), make_pruner(space)
    try:  # load first: a study that is refused must not gain even a record in the store
        study = optuna.load_study(study_name=space.study, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        study = optuna.create_study(study_name=space.study, storage=storage, direction=objective.direction,
                                    sampler=sampler, pruner=pruner, load_if_exists=True)
    old = attrs.read(study.user_attrs, attrs.FINGERPRINT)
    if old and old != fingerprint(space):
        raise StorageError(
            f"study {space.study!r} was created from a different search space (its data, objective or space "
            "section changed). Nothing was changed in it. Use --study NEW_NAME to start a new study, "
            "or run the original file to resume", source=describe(storage_url), field="study")
    if study.direction.name.lower() != objective.direction:
        raise StorageError(f"study {space.study!r} {study.direction.name.lower()}s; this file asks to "
                           f"{objective.direction}", source=describe(storage_url), field="objective")
    if not old:
        record = attrs.study_record(fingerprint=fingerprint(space), objective=objective.metric,
                                    engine=space.search.engine, algorithm=space.search.algorithm,
                                    pruner=space.search.pruner, max_epochs=space.training.max_epochs,
                                    space_file=space.raw, fixed=space.fixed_values())
        for key, value in record.items():
            study.set_user_attr(key, value)
    return study
