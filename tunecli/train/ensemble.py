"""``tunecli train --ensemble K``: the models a search kept for its K best trials, averaged in one Keras model.

The members are chosen by Caruana's ensemble selection with replacement (Caruana et al., ICML 2004), as
auto-sklearn builds its ensembles: start from nothing; in each of ``ROUNDS`` rounds add the member (again, if it
is the best choice) whose inclusion gives the averaged prediction the best validation score; a member's weight
is the share of the rounds that picked it. The kept models trained on the training split only, so the validation
rows are unseen by every member and the choice is fair; no test row goes into it. The test split scores the
ensemble once, as it scores the refit and the kept model.

The ensemble is one functional Keras model: an input, each member (a ``build_mlp`` model, nested) with its
output scaled by its weight (``Rescaling``), the sum (``Add``): the weighted mean of the members' class
probabilities or values. Each member is a copy of its layers (``serving.shipped.head``); a member with MC dropout
averages ``passes`` passes with the fixed masks a shipped model holds, so the ensemble predicts each member's MC
mean as the member is scored alone. ``tunecli train`` saves it with the data's preprocessing in front.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.errors import TuneCliError, show
from tunecli.search.weights import ranking
from tunecli.studies import attrs
from tunecli.studies.storage import load_study
from tunecli.studies.urls import describe
from tunecli.train.kept import member_model
from tunecli.train.outcome import Job, TrainOutcome, score

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Rounds of the greedy selection (auto-sklearn's ``ensemble_size``): each round adds one pick, so weights are
#: multiples of 1/ROUNDS.
ROUNDS = 50
OPTION = "--ensemble"


@dataclass
class Member:
    """A kept model in the pool: its trial, its model (uncompiled), the MC passes it is the mean of (0: one plain
    prediction) and its prediction on the validation split."""

    trial: int
    model: Any
    passes: int
    val_pred: np.ndarray


@dataclass
class Pool:
    """The kept models an ensemble draws from, best first, and what to tell about them (None: as asked)."""

    members: list[Member]
    note: str | None


def check_size(size: object) -> int:
    """``size`` (``--ensemble``) as the pool's size: a whole number, at least 1 (0: no ensemble).

    Raises:
        TuneCliError: anything else.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise TuneCliError(f"must be a whole number of kept models, at least 1 (got {show(size)})", field=OPTION)
    return size


def pool(job: Job, storage_url: str | None, size: int) -> Pool:
    """The kept models of the ``size`` best trials of the study ``space.origin`` names, each with its validation
    prediction (the search's ranking, a re-ranked trial by the mean of its runs).

    Raises:
        TuneCliError: no origin, no such study, or a study that kept no weights.
    """
    name = (job.space.origin or {}).get("study")
    if not isinstance(name, str):
        raise TuneCliError("names no study (origin: study), so there are no kept models to draw an ensemble from; "
                           "export the configuration with `tunecli report STUDY --export FILE`",
                           source=job.space.path, field="origin")
    study = load_study(name, storage_url)
    kept = set(attrs.kept_numbers(study.user_attrs))
    numbers = [n for n in ranking(study) if n in kept][:size]
    if not numbers:
        raise TuneCliError(f"study {show(name)} keeps no trained weights (made before tunecli kept weights, or no "
                           f"trial completed), so there is nothing to draw an ensemble from; leave out {OPTION}",
                           source=describe(storage_url), field="origin")
    members = [_member(job, study, n) for n in numbers]
    note = None if len(numbers) == size else (
        f"asked for {size} kept models; study {show(name)} keeps {len(numbers)} (search.rerank.top sets how many), "
        f"so the ensemble draws from {len(numbers)}")
    return Pool(members, note)


def _member(job: Job, study: Any, number: int) -> Member:
    from tunecli.trainers.keras.model import MASK_SEED, predict_mc, uses_mc_dropout

    model, config = member_model(job, study, number, OPTION)
    passes = (job.passes or job.space.training.mc_passes) if uses_mc_dropout(config) else 0
    x = job.dataset.x_val
    pred = predict_mc(model, x, passes, seed=MASK_SEED).mean(axis=0) if passes else model.predict(x, batch_size=2048, verbose=0)
    return Member(number, model, passes, np.asarray(pred, dtype=np.float64))


def select(preds: Sequence[np.ndarray], y: np.ndarray, metric: str, rounds: int = ROUNDS) -> np.ndarray:
    """Caruana's ensemble selection with replacement on validation predictions.

    Each round adds the prediction whose inclusion makes the running average score best; classification scores
    accuracy first and breaks its ties by the log loss of the averaged probabilities; remaining ties go to the
    earlier one (the better ranked trial).

    Args:
        preds: each candidate's validation prediction (class probabilities, or values), the same shape.
        y: the validation targets (class indices, or values).
        metric: ``val_accuracy``, ``val_rmse`` or ``val_mae`` (with or without ``val_``).
        rounds: how many picks.

    Returns:
        Each candidate's weight: its picks / ``rounds`` (they sum to 1).

    Example:
        >>> select([np.array([[0.9, 0.1]]), np.array([[0.4, 0.6]])], np.array([0]), "accuracy", rounds=4)
        array([1., 0.])
    """
    if not preds or rounds < 1:
        raise ValueError(f"needs at least one prediction and one round, got ({len(preds)=}, {rounds=})")
    picks = np.zeros(len(preds), dtype=int)
    total = np.zeros_like(preds[0], dtype=np.float64)
    for done in range(rounds):
        losses = [_loss(metric, y, (total + pred) / (done + 1)) for pred in preds]
        best = min(range(len(preds)), key=lambda i: (losses[i], i))
        picks[best] += 1
        total += preds[best]
    return picks / rounds


def _loss(metric: str, y: np.ndarray, pred: np.ndarray) -> tuple[float, ...]:
    """Lower is better: (error, log loss) for classification, (rmse or mae,) for a regression; inf when not finite."""
    if metric.endswith("accuracy"):
        picked = np.clip(pred[np.arange(len(y)), y.astype(int)], 1e-15, None)
        losses = (1.0 - score(metric, y, pred), float(-np.log(picked).mean()))
    else:
        losses = (score(metric, y, pred),)
    return tuple(v if np.isfinite(v) else np.inf for v in losses)


def keras_model(members: Sequence[Member], weights: Sequence[float], n_features: int, task: str) -> Any:
    """One functional Keras model: the members' predictions (MC means) weighted and summed; members of weight 0
    are left out. Compiled (plain loss, Keras' default optimizer) so that it saves like the other models."""
    from tunecli.serving.shipped import head
    from tunecli.trainers.keras.model import keras

    layers = keras.layers
    inputs = keras.Input(shape=(n_features,), name="features")
    parts = []
    for member, weight in zip(members, weights):
        if weight <= 0:
            continue
        out = head(member.model, inputs, member.passes, prefix=f"trial_{member.trial}")  # MC: the shipped masks
        parts.append(layers.Rescaling(float(weight), name=f"trial_{member.trial}_weight")(out))
    outputs = parts[0] if len(parts) == 1 else layers.Add(name="weighted_mean")(parts)
    model = keras.Model(inputs, outputs, name="ensemble")
    model.compile(loss="sparse_categorical_crossentropy" if task == "classification" else "mse")
    model.optimizer.build(model.trainable_variables)  # saved with its variables: the file loads without a warning
    return model


def build(job: Job, chosen: Pool) -> tuple[TrainOutcome, Any]:
    """The ensemble of the pool's models chosen on the validation split, scored once on the test split."""
    start = time.perf_counter()
    members, dataset = chosen.members, job.dataset
    weights = select([m.val_pred for m in members], dataset.y_val, job.metric)
    val_pred = sum(w * m.val_pred for m, w in zip(members, weights))
    model = keras_model(members, weights, dataset.n_features, dataset.task)
    test = score(job.metric, dataset.y_test, model.predict(dataset.x_test, batch_size=2048, verbose=0))
    outcome = TrainOutcome(job.metric.removeprefix("val_"), test, None, 0, 0.0, None, model="ensemble",
                           val_score=score(job.metric, dataset.y_val, val_pred), note=chosen.note,
                           members=[{"trial": m.trial, "weight": float(w)} for m, w in zip(members, weights) if w > 0])
    outcome.seconds = time.perf_counter() - start
    return outcome, model
