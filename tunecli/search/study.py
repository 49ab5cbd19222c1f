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
    """What must stay the same for a study to be resumed: the data, objective and space sections (and the
    constraints, where there are any)."""
    raw = space.raw
    sections = ("data", "objective", "space") + (("constraints",) if raw.get("constraints") else ())
    key = json.dumps({k: raw.get(k) for k in sections}, sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def create_or_resume(space: SearchSpace, objective: Objective, storage_url: str | None) -> optuna.Study:
    """Create the study, or load it to resume; refuse a study made from a different space."""
    import optuna

    storage = open_storage(storage_url)
    sampler, pruner = make_sampler(space), make_pruner(space)
    try:  # load first: a study that is refused must not gain even a record in the store
        study = optuna.load_study(study_name=space.study, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        study = optuna.create_study(study_name=space.study, storage=storage, directions=objective.directions,
                                    sampler=sampler, pruner=pruner, load_if_exists=True)
    old = attrs.read(study.user_attrs, attrs.FINGERPRINT)
    if old and old != fingerprint(space):
        raise StorageError(
            f"study {space.study!r} was created from a different search space (its data, objective or space "
            "section changed). Nothing was changed in it. Use --study NEW_NAME to start a new study, "
            "or run the original file to resume", source=describe(storage_url), field="study")
    directions = [d.name.lower() for d in study.directions]
    if directions != objective.directions:
        raise StorageError(f"study {space.study!r} {' and '.join(d + 's' for d in directions)}; this file asks to "
                           f"{' and '.join(objective.directions)}", source=describe(storage_url), field="objective")
    if not old:
        record = attrs.study_record(fingerprint=fingerprint(space), objective=objective.metric,
                                    engine=space.search.engine, algorithm=space.search.algorithm,
                                    pruner=space.search.pruner, max_epochs=space.training.max_epochs,
                                    space_file=space.raw, fixed=space.fixed_values(), objectives=objective.names,
                                    constraints=space.constraints)
        for key, value in record.items():
            study.set_user_attr(key, value)
    return study
