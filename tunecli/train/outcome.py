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
    """One model scored once on the test split: the refit (``model`` "refit"), the model a search trial
    trained and kept (``model`` "kept"), or an ensemble of kept models (``model`` "ensemble"); a refit may carry
    the kept model beside it (``kept``), and either the ensemble (``ensemble``)."""

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
    val_score: float | None = None    # kept: its validation score, computed again here; ensemble: the chosen one's
    kept: TrainOutcome | None = None  # refit: the kept model, scored beside it
    kept_note: str | None = None      # refit: why no kept model is shown beside it
    fit_score: float | None = None    # refit: its score on the rows it trained on (train + validation)
    refit_note: str | None = None     # refit: a first refit collapsed and this one ran with another seed (why)
    members: list[dict[str, Any]] | None = None  # ensemble: [{"trial": number, "weight": share}], best trial first
    note: str | None = None           # ensemble: how its pool differs from the one asked for
    ensemble: TrainOutcome | None = None  # refit or kept: the ensemble (--ensemble), scored beside it
    #: what the network costs, measured as the search measures a trial (``trainers.footprint``): params, latency
    #: (ms, 256 rows, one CPU thread), latency_iqr, size (the estimate); and the saved file's bytes
    costs: dict[str, Any] | None = None
    file_bytes: int | None = None
    search_costs: dict[str, Any] | None = None  # what the search measured of the trial (the file's origin)

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


def network_costs(model: Any, job: Job) -> dict[str, Any]:
    """What the model's network costs, measured the way the search measures each trial (``trainers.footprint``)."""
    from tunecli.trainers.footprint import measure

    data = job.dataset
    found = measure(job.params, model.get_weights(), data.n_features,
                    data.n_classes if data.task == "classification" else 1)
    return {"params": found.params, "latency": found.latency_ms, "latency_iqr": found.latency_iqr_ms,
            "size": found.size_bytes}


def score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """accuracy, rmse or mae of predictions (class probabilities or values)."""
    if metric.endswith("accuracy"):
        return float((y_pred.argmax(axis=1) == y_true).mean())
    err = y_pred.reshape(len(y_true)) - y_true
    return float(np.sqrt((err**2).mean())) if metric.endswith("rmse") else float(np.abs(err).mean())


def val_score(model: Any, job: Job) -> float:
    """The model's score on the validation split (of its mean MC prediction with MC dropout, the shipped masks)."""
    x, y = job.dataset.x_val, job.dataset.y_val
    if job.passes:
        from tunecli.trainers.keras.model import MASK_SEED, predict_mc

        return score(job.metric, y, predict_mc(model, x, job.passes, seed=MASK_SEED).mean(axis=0))
    return score(job.metric, y, model.predict(x, batch_size=2048, verbose=0))


def fit_score(model: Any, job: Job) -> float:
    """The refit's score on the rows it trained on (train + validation), one plain prediction."""
    data = job.dataset
    x, y = np.concatenate([data.x_train, data.x_val]), np.concatenate([data.y_train, data.y_val])
    return score(job.metric, y, model.predict(x, batch_size=2048, verbose=0))


#: A refit has collapsed when, on the rows it trained on, its error is more than this many times the kept
#: model's on validation rows that model never saw (plus 0.02 of accuracy): a training run that went wrong
#: without a NaN (a learning rate that fits the search's shorter runs but not the refit's).
COLLAPSE_FACTOR = 2.0


def collapsed(metric: str, refit_fit: float | None, kept_val: float | None, against: str = "the kept model") -> str | None:
    """Why the refit should not be handed over (None: it is sound), from scores no test row went into: ``kept_val``
    is the kept model's validation score (or, with ``against`` saying so, the search's score of the trial)."""
    if refit_fit is None or kept_val is None or not np.isfinite(kept_val):
        return None
    if metric.endswith("accuracy"):
        bad = (1 - refit_fit) > COLLAPSE_FACTOR * (1 - kept_val) + 0.02
    else:
        bad = not np.isfinite(refit_fit) or refit_fit > COLLAPSE_FACTOR * kept_val
    name = metric.removeprefix("val_")
    return (f"the refit scored {name} {refit_fit:.4g} on the rows it trained on, far worse than {against} "
            f"on validation rows it never saw ({kept_val:.4g})") if bad else None


def test_score(model: Any, job: Job) -> tuple[float, float | None, float | None]:
    """The model's test score, and with MC dropout (``job.passes``) the mean and spread it comes from."""
    if job.passes:  # an MC dropout model is scored on its mean prediction, as it is meant to be used
        mc_mean, mc_std = _mc_dropout(model, job)
        return mc_mean, mc_mean, mc_std
    dataset = job.dataset
    return score(job.metric, dataset.y_test, model.predict(dataset.x_test, batch_size=2048, verbose=0)), None, None


def _mc_dropout(model: Any, job: Job) -> tuple[float, float]:
    """The score of the mean of ``passes`` MC predictions, and the spread of single passes' scores: each pass with
    one of the fixed masks the saved model holds (``MASK_SEED``), so the file predicts what is scored here."""
    from tunecli.trainers.keras.model import MASK_SEED, predict_mc

    y = job.dataset.y_test
    probs = predict_mc(model, job.dataset.x_test, job.passes, seed=MASK_SEED)
    scores = [score(job.metric, y, pred) for pred in probs]
    return score(job.metric, y, probs.mean(axis=0)), float(np.std(scores))
