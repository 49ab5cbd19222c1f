"""The metadata record of a shipped model (``metadata``'s contract), from what ``tunecli train`` knows of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunecli.config.space import SearchSpace
    from tunecli.data import Dataset
    from tunecli.serving.inputs import RawInputs


@dataclass
class Scores:
    """A model's scores as ``tunecli train`` computed them, in the units it trained on (a regression's target
    divided by ``data.target_scale``); ``record`` gives them in the target's own units."""

    metric: str  # accuracy | rmse | mae
    validation: float | None
    test: float | None


def record(raw: RawInputs, dataset: Dataset, space: SearchSpace, *, config: dict[str, Any], passes: int, kind: str,
           trial: int | None, scores: Scores, rows: int, members: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What ``metadata.write`` stores for a model built by ``shipped.ship``.

    Args:
        raw: the model's inputs (``shipped.ship`` returns them).
        dataset: the data it trained on.
        space: the space file it was trained from (``data``, ``origin``).
        config: the configuration trained.
        passes: MC dropout passes averaged inside the model (0: none).
        kind: ``refit`` | ``kept`` | ``ensemble``.
        trial: the search trial the model (or its configuration) came from, if known.
        scores: its scores (see ``Scores``).
        rows: the rows it trained on.
        members: an ensemble's members (``[{"trial", "weight"}]``).
    """
    from tunecli import __version__

    regression = dataset.task == "regression"
    scale = float(space.data.target_scale) if regression else 1.0
    study = (space.origin or {}).get("study")
    unit = scale if scores.metric != "accuracy" else 1.0
    return {
        "tunecli_version": __version__, "task": dataset.task,
        "target": space.data.target if raw.layout == "table" else None,
        "columns": raw.columns, "layout": raw.layout, "ignored": dict(dataset.dropped),
        "classes": [] if regression else list(dataset.class_names),
        "outputs": "values" if regression else "probabilities", "target_scale": scale,
        "mc_passes": int(passes), "config": dict(config),
        "origin": {"study": study, "trial": trial} if isinstance(study, str) else None, "model": kind,
        "scores": {"metric": scores.metric, "validation": _times(scores.validation, unit),
                   "test": _times(scores.test, unit)},
        "data": {"source": space.data.source, "rows": int(rows)},
        "members": list(members or []),
    }


def _times(value: float | None, unit: float) -> float | None:
    return None if value is None else float(value) * unit
