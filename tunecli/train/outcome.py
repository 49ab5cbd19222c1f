"""What ``tunecli train`` scores and how: one model scored once on the test split (``TrainOutcome``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tunecli.config.space import SearchSpace
    from tunecli.data import Dataset


@dataclass
class TrainOutcome:
    """One model scored once on the test split: the refit (``model`` "refit"), or the model a search trial
    trained and kept (``model`` "kept"); a refit may carry the kept model beside it (``kept``)."""

    metric: str
    test_score: float
    search_score: float | None
    epochs: int
    seconds: float
    model_path: Path | None
    mc_mean: float | None = None
    mc_std: float | None = None
    mc_passes: int = 0
    model: str = "refit"              # refit: trained on train + validation here | kept: the search trial's own
    trial: int | None = None          # kept: the trial whose weights these are (its score: ``search_score``)
    val_score: float | None = None    # kept: its validation score, computed again here
    kept: TrainOutcome | None = None  # refit: the kept model, scored beside it
    kept_note: str | None = None      # refit: why no kept model is shown beside it

    def summary(self) -> dict[str, Any]:
        return {k: (v.summary() if isinstance(v, TrainOutcome) else str(v) if isinstance(v, Path) else v)
                for k, v in vars(self).items()}


@dataclass
class Job:
    """What one ``tunecli train`` works on: the space, its fixed configuration, the data, the metric it scores
    (``val_*``) and the MC dropout passes a score is the mean of (0: one plain prediction)."""

    space: SearchSpace
    params: dict[str, Any]
    dataset: Dataset
    metric: str
    passes: int


def score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """accuracy, rmse or mae of predictions (class probabilities or values)."""
    if metric.endswith("accuracy"):
        return float((y_pred.argmax(axis=1) == y_true).mean())
    err = y_pred.reshape(len(y_true)) - y_true
    return float(np.sqrt((err**2).mean())) if metric.endswith("rmse") else float(np.abs(err).mean())


def val_score(model: Any, job: Job) -> float:
    """The model's score on the validation split (of its mean MC prediction with MC dropout)."""
    x, y = job.dataset.x_val, job.dataset.y_val
    if job.passes:
        from tunecli.trainers.keras.model import predict_mc

        return score(job.metric, y, predict_mc(model, x, job.passes).mean(axis=0))
    return score(job.metric, y, model.predict(x, batch_size=2048, verbose=0))


def test_score(model: Any, job: Job) -> tuple[float, float | None, float | None]:
    """The model's test score, and with MC dropout (``job.passes``) the mean and spread it comes from."""
    if job.passes:  # an MC dropout model is scored on its mean prediction, as it is meant to be used
        mc_mean, mc_std = _mc_dropout(model, job)
        return mc_mean, mc_mean, mc_std
    dataset = job.dataset
    return score(job.metric, dataset.y_test, model.predict(dataset.x_test, batch_size=2048, verbose=0)), None, None


def _mc_dropout(model: Any, job: Job) -> tuple[float, float]:
    """The score of the mean of ``passes`` MC predictions, and the spread of single passes' scores."""
    from tunecli.trainers.keras.model import predict_mc

    y = job.dataset.y_test
    probs = predict_mc(model, job.dataset.x_test, job.passes)
    scores = [score(job.metric, y, pred) for pred in probs]
    return score(job.metric, y, probs.mean(axis=0)), float(np.std(scores))
