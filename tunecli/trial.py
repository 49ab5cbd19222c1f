"""``run_trial``: train one configuration, report every epoch, never raise for a bad configuration.

Supported configurations train on the fast JAX trainer (``tunecli.trainers.fast.loop``); the rest, and
every trial whose Keras model is wanted, on Keras' ``model.fit`` (``tunecli.trainers.keras.fit``).
This module imports neither Keras nor JAX.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tunecli import interrupt
from tunecli.config.catalogue import with_defaults
from tunecli.config.params import LrFinderParam
from tunecli.lrfinder.cache import range_test_key
from tunecli.lrfinder.rules import NoDescent
from tunecli.studies import attrs
from tunecli.trainers import EpochHook, Fitted
from tunecli.trainers.transfer import describe

if TYPE_CHECKING:
    from tunecli.config.objective import Objective
    from tunecli.config.space import Training
    from tunecli.data import Dataset

@dataclass
class TrialResult:
    state: str                      # COMPLETE | PRUNED | FAIL
    value: float | None
    epochs: int
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)
    reason: str | None = None
    best_epoch: int | None = None
    first_epoch_seconds: float | None = None
    model: Any = None
    extras: dict[str, Any] = field(default_factory=dict)  # more user attributes to store (e.g. LR finder)
    #: The weights ``value`` is the score of (best or last epoch, as ``restore_best_weights`` says), as the
    #: list ``model.set_weights`` takes for the ``build_mlp`` model, whichever trainer trained it.
    weights: list[Any] | None = None
    #: Stopped by Ctrl-C (a member of a group, whose other members ended on their own): not to be recorded.
    interrupted: bool = False


def run_trial(params: dict[str, Any], dataset: Dataset, training: Training, objective: Objective, *,
              on_epoch: EpochHook | None = None, seed: int | None = None, keep_model: bool = False,
              x: Any = None, y: Any = None, validation: tuple[Any, Any] | None = None,
              lr_cache: MutableMapping[str, Any] | None = None) -> TrialResult:
    """Train one configuration with early stopping; never raises for a bad configuration.

    Args:
        params: plain parameter values (catalogue defaults fill the rest).
        dataset: the preprocessed data.
        training: epochs, early stopping, trainer, steps per execution.
        objective: the validation metric and its direction.
        on_epoch: called every epoch; returning True prunes the trial.
        seed: seeds weights, dropout and shuffling.
        keep_model: return the trained Keras model in ``TrialResult.model``.
        x, y, validation: train on these instead of the dataset's train/validation splits.
        lr_cache: range tests by structure (``lr_finder`` learning rates): a structure tested before reuses
            its curve (the search keeps them in the study).

    Returns:
        A ``TrialResult``; state FAIL carries the reason (NaN loss, rejected combination, out of memory).
    """
    interrupt.check()  # Ctrl-C pressed between trials (deferred while the engine runs)
    start = time.perf_counter()
    p = with_defaults(params)
    kwargs = {"on_epoch": on_epoch, "seed": seed, "x": x, "y": y, "validation": validation}
    try:
        fitted, extras = _train(p, dataset, training, objective, keep_model, lr_cache, kwargs)
    except Exception as exc:  # noqa: BLE001 - a failure of the configuration is the trial's result
        reason = _failure(exc)
        if reason is None:
            raise
        return TrialResult("FAIL", None, 0, time.perf_counter() - start, reason=reason)
    result = result_of(fitted, objective, time.perf_counter() - start, training.early_stopping.restore_best_weights)
    result.extras.update(extras)
    result.extras.update(attrs.fit_record(fit_seconds=fitted.fit_seconds, trainer=fitted.trainer))
    reused = describe(p, dataset.base, result.epochs)  # what a transfer trial reused and froze
    if reused is not None:
        result.extras.update(attrs.reused_record(**reused._asdict()))
    return with_footprint(result, p, dataset)


def with_footprint(result: TrialResult, p: dict[str, Any], dataset: Dataset) -> TrialResult:
    """``result`` with what its network costs in its extras: parameters, CPU latency, file size
    (``trainers.footprint``; measured here, in the process that trained it, after training)."""
    from tunecli.trainers.footprint import measure

    n_outputs = dataset.n_classes if dataset.task == "classification" else 1
    found = measure(p, result.weights, dataset.n_features, n_outputs)
    result.extras.update(attrs.footprint_record(params=found.params, latency_ms=found.latency_ms,
                                                latency_iqr_ms=found.latency_iqr_ms, size_bytes=found.size_bytes))
    return result


def _train(p: dict[str, Any], dataset: Dataset, training: Training, objective: Objective, keep_model: bool,
           lr_cache: MutableMapping[str, Any] | None, kwargs: dict[str, Any]) -> tuple[Fitted, dict[str, Any]]:
    """Train on the fast trainer where it covers the configuration, else on Keras' fit (after the range test of
    an ``lr_finder`` learning rate); the fitted run and what to store about the range test."""
    from tunecli.trainers import fast

    extras: dict[str, Any] = {}
    if isinstance(p["learning_rate"], LrFinderParam):  # a bad configuration fails here as in training
        p["learning_rate"], extras = _find_lr(p, dataset, kwargs["seed"], training.trainer, lr_cache)
    if fast.supported(p, training, keep_model) is None:
        return fast.fit(p, dataset, training, objective, **kwargs), extras
    from tunecli.trainers.keras.fit import fit as keras_fit

    return keras_fit(p, dataset, training, objective, keep_model=keep_model, **kwargs), extras


def _failure(exc: Exception) -> str | None:
    """Why a configuration failed (the trial is recorded as failed), or None when ``exc`` is no trial's failure."""
    if isinstance(exc, NoDescent):
        return f"LR finder: {exc.message}"
    if isinstance(exc, (ValueError, TypeError, RuntimeError, MemoryError)) or _out_of_memory(exc):
        return _reason(exc)  # TensorFlow's ResourceExhaustedError is no RuntimeError
    return None


def _out_of_memory(exc: BaseException) -> bool:
    """A failed allocation: Python's or NumPy's MemoryError, XLA's RESOURCE_EXHAUSTED (a RuntimeError from
    JAX), TensorFlow's ResourceExhaustedError."""
    text = str(exc)
    return (isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError"
            or "RESOURCE_EXHAUSTED" in text or "out of memory" in text.lower())


def _reason(exc: BaseException) -> str:
    """Why the trial failed, in one line: ``out of memory: ...`` for a failed allocation."""
    message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return f"out of memory: {message}" if _out_of_memory(exc) else f"{type(exc).__name__}: {message}"


def _find_lr(p: dict[str, Any], dataset: Dataset, seed: int | None, trainer: str,
             cache: MutableMapping[str, Any] | None) -> tuple[float, dict[str, Any]]:
    """The range test for this configuration's structure (run, or reused from ``cache``); the LR to use and
    what to store about it."""
    from tunecli.lrfinder.range_test import run_range_test

    spec: LrFinderParam = p["learning_rate"]
    key = range_test_key(p, dataset)
    found = cache.get(key) if cache is not None else None
    if found is None:
        result = run_range_test(p, dataset, min_lr=spec.min_lr, max_lr=spec.max_lr, steps=spec.steps,
                                rule=spec.rule, seed=seed, trainer=trainer)
        found = attrs.lr_test_record(result.to_dict(max_points=60), result.seconds)
        if cache is not None:
            cache[key] = found
        cached = False
    else:
        cached = True
    multiplier = float(p.get("lr_multiplier", spec.multiplier.value if hasattr(spec.multiplier, "value") else 1.0))
    lr = found["lr"] * multiplier
    return lr, attrs.lr_finder_record(lr, found, rule=spec.rule, cached=cached)


def result_of(fitted: Fitted, objective: Objective, seconds: float, restore_best: bool = True) -> TrialResult:
    """The trial's score: its best epoch's (the weights early stopping restores), or with
    ``restore_best_weights: false`` its last epoch's (the weights training ended with)."""
    hist, first = fitted.history, fitted.first_epoch_seconds
    epochs = len(hist.get("loss", []))
    curve = [v for v in hist.get(objective.metric, []) if math.isfinite(v)]
    if fitted.diverged:
        return TrialResult("FAIL", None, epochs, seconds, hist, reason=fitted.diverged, first_epoch_seconds=first)
    if not curve:
        return TrialResult("FAIL", None, epochs, seconds, hist, reason=f"no {objective.metric} was reported",
                           first_epoch_seconds=first)
    best = max(curve) if objective.direction == "maximize" else min(curve)
    at = curve.index(best) + 1
    if not restore_best:
        best, at = curve[-1], len(curve)
    state = "PRUNED" if fitted.pruned else "COMPLETE"
    from tunecli.trainers.keras.weights import keras_weights  # NumPy only: no Keras import

    return TrialResult(state, best, epochs, seconds, hist, best_epoch=at,
                       first_epoch_seconds=first, model=fitted.model, weights=keras_weights(fitted.weights))


def run_group(configs: list[dict[str, Any]], dataset: Dataset, training: Training, objective: Objective, *,
              on_epochs: list[EpochHook | None] | None = None, seeds: list[int | None] | None = None,
              lr_cache: MutableMapping[str, Any] | None = None) -> list[TrialResult]:
    """Train several configurations as members of one compiled program where they share a structure on the
    fast trainer (``tunecli.trainers.fast.members``), else one at a time; one ``TrialResult`` each, in order.

    With cross-validation (``data.cv``) each configuration trains once per fold, its folds members of the same
    program, and its result is the mean over its folds (``combine_folds``); the epoch hook sees the mean of
    the folds' best scores so far. A group that cannot train together (a configuration the fast trainer does
    not cover, different structures, not enough memory for all) trains its configurations one at a time
    instead, each with ``run_trial``'s failure handling; never raises for a bad configuration.
    """
    from tunecli import interrupt
    from tunecli.data.folds import fold_sets

    k = len(configs)
    hooks, seeds = on_epochs or [None] * k, seeds or [None] * k
    folds = fold_sets(dataset) if dataset.folds >= 2 else None
    interrupt.check()
    if k == 1 and folds is None:
        return [run_trial(configs[0], dataset, training, objective, on_epoch=hooks[0], seed=seeds[0], lr_cache=lr_cache)]
    start = time.perf_counter()
    try:
        ps, extras = _with_learning_rates(configs, seeds, dataset, training, lr_cache)
        fits = _fit_together(ps, dataset, training, objective, list(hooks), list(seeds), folds)
    except (NoDescent, ValueError, TypeError, RuntimeError, MemoryError):
        # each configuration then fails (or trains) with its own reason
        return [_alone(c, h, s, dataset, training, objective, folds, lr_cache) for c, h, s in zip(configs, hooks, seeds)]
    n = len(folds) if folds else 1
    seconds = (time.perf_counter() - start) / (k * n)
    out = []
    for i, found in enumerate(extras):
        parts = []
        for fitted in fits[i * n:(i + 1) * n]:
            part = result_of(fitted, objective, seconds, training.early_stopping.restore_best_weights)
            part.interrupted = fitted.interrupted
            part.extras.update(found)
            part.extras.update(attrs.fit_record(fit_seconds=fitted.fit_seconds, trainer=fitted.trainer, members=k * n))
            parts.append(part)
        out.append(with_footprint(combine_folds(parts, objective) if folds else parts[0], ps[i], dataset))
    return out


#: Seeds of a configuration's folds are this far apart (its first fold takes the trial's seed).
FOLD_STRIDE = 7919


def _fold_seed(seed: int | None, fold: int) -> int | None:
    return None if seed is None else seed + FOLD_STRIDE * fold


def _with_learning_rates(configs: list[dict[str, Any]], seeds: list[int | None], dataset: Dataset, training: Training,
                         lr_cache: MutableMapping[str, Any] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The configurations with defaults filled in and the LR finder's learning rates; what to store of each test."""
    ps, extras = [], []
    for c, seed in zip(configs, seeds):
        p, found = with_defaults(c), {}
        if isinstance(p["learning_rate"], LrFinderParam):
            p["learning_rate"], found = _find_lr(p, dataset, seed, training.trainer, lr_cache)
        ps.append(p)
        extras.append(found)
    return ps, extras


def _fit_together(ps: list[dict[str, Any]], dataset: Dataset, training: Training, objective: Objective,
                  hooks: list[EpochHook | None], seeds: list[int | None], folds: list | None) -> list[Fitted]:
    """Every configuration (each of its folds) as a member of one program. Raises ValueError when they cannot."""
    from tunecli.trainers.fast.members import fit_members

    keys = {structure_key(p, dataset, training) for p in ps}
    if len(keys) != 1 or None in keys:
        raise ValueError("these configurations cannot train together")
    if not folds:
        return fit_members(ps, dataset, training, objective, on_epochs=hooks, seeds=seeds)
    n = len(folds)
    rows = [(f.x_train, f.y_train, (f.x_val, f.y_val)) for _ in ps for f in folds]
    return fit_members([p for p in ps for _ in folds], dataset, training, objective, rows=rows,
                       seeds=[_fold_seed(s, j) for s in seeds for j in range(n)],
                       after_epoch=_fold_pruning(hooks, n, objective))


def _fold_pruning(hooks: list[EpochHook | None], n: int, objective: Objective) -> Callable[..., list[int]]:
    """After each epoch: each configuration's hook hears the mean over its folds of their best scores so far;
    the folds of one the hook prunes stop."""
    best: dict[int, float] = {}

    def after(epoch: int, logs: list[dict[str, float] | None]) -> list[int]:
        for m, entry in enumerate(logs):
            value = None if entry is None else entry.get(objective.metric)
            if value is not None and math.isfinite(value) and (m not in best or objective.better(value, best[m])):
                best[m] = value
        stop = []
        for i, hook in enumerate(hooks):
            members = range(i * n, (i + 1) * n)
            if hook is None or all(logs[m] is None for m in members) or any(m not in best for m in members):
                continue
            mean = sum(best[m] for m in members) / n
            if hook(epoch, mean, {objective.metric: mean}):
                stop += [m for m in members if logs[m] is not None]
        return stop

    return after


def _alone(config: dict[str, Any], hook: EpochHook | None, seed: int | None, dataset: Dataset, training: Training,
           objective: Objective, folds: list | None, lr_cache: MutableMapping[str, Any] | None) -> TrialResult:
    """One configuration trained alone (each of its folds in turn, without pruning, under cross-validation)."""
    if not folds:
        return run_trial(config, dataset, training, objective, on_epoch=hook, seed=seed, lr_cache=lr_cache)
    parts = [run_trial(config, dataset, training, objective, seed=_fold_seed(seed, j), lr_cache=lr_cache,
                       x=f.x_train, y=f.y_train, validation=(f.x_val, f.y_val)) for j, f in enumerate(folds)]
    return combine_folds(parts, objective)


def combine_folds(parts: list[TrialResult], objective: Objective) -> TrialResult:
    """One configuration's result from its folds: the mean score and its standard error over the folds
    (``cv_values``, ``cv_se``), the mean curve (over the folds still training at each epoch), the first fold's
    weights; FAIL when any fold failed, PRUNED when pruned."""
    import statistics

    failed = next((p for p in parts if p.state == "FAIL"), None)
    epochs = max(p.epochs for p in parts)
    seconds = sum(p.seconds for p in parts)
    history = {key: [statistics.fmean(p.history[key][e] for p in parts if e < len(p.history.get(key, [])))
                     for e in range(max(len(p.history.get(key, [])) for p in parts))] for key in parts[0].history}
    fit_seconds = sum(attrs.read(p.extras, attrs.FIT_SECONDS, 0.0) for p in parts)
    extras = {**parts[0].extras, **attrs.cv_record(len(parts)), attrs.FIT_SECONDS: round(fit_seconds, 3)}
    if failed is not None:
        return TrialResult("FAIL", None, epochs, seconds, history, reason=f"a fold failed: {failed.reason}",
                           extras=extras, interrupted=any(p.interrupted for p in parts))
    values = [p.value for p in parts]
    value = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
    extras.update(attrs.cv_record(len(parts), values, se))
    state = "PRUNED" if any(p.state == "PRUNED" for p in parts) else "COMPLETE"
    best_epoch = round(statistics.fmean(p.best_epoch or p.epochs for p in parts))
    return TrialResult(state, value, epochs, seconds, history, best_epoch=best_epoch, extras=extras,
                       first_epoch_seconds=parts[0].first_epoch_seconds, weights=parts[0].weights,
                       interrupted=any(p.interrupted for p in parts))


def structure_key(p: dict[str, Any], dataset: Dataset, training: Training) -> Any:
    """What ``p`` (defaults filled in) must share with the configurations it trains with as members of one
    program (``trainers.fast.members.group_key``); None where it trains alone (not on the fast trainer, or
    from reused layers)."""
    from tunecli.trainers import fast
    from tunecli.trainers.fast.members import group_key

    return group_key(p, dataset) if fast.supported(p, training) is None else None
