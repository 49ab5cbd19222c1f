"""``train_best``: refit a fixed configuration on train + validation, score it once on the test split; beside it,
the model the search trained and kept for that configuration (``search.weights``), scored the same way."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.config.params import FixedParam
from tunecli.errors import RunError, SpaceError, TuneCliError, shorten, show

if TYPE_CHECKING:
    from tunecli.config.space import SearchSpace


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


def fixed_params(space: SearchSpace) -> dict[str, Any]:
    """The configuration of a space whose every parameter is fixed (as ``report --export`` writes)."""
    open_params = [name for name, spec in space.space.items() if not isinstance(spec, FixedParam)]
    if open_params:
        raise SpaceError(f"train needs every parameter fixed; these still vary: {', '.join(open_params)}. "
                         "Export one with `tunecli report --export BEST.yaml`", source=space.path, field="space")
    return {name: spec.value for name, spec in space.space.items()}


def score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """accuracy, rmse or mae of predictions (class probabilities or values)."""
    if metric.endswith("accuracy"):
        return float((y_pred.argmax(axis=1) == y_true).mean())
    err = y_pred.reshape(len(y_true)) - y_true
    return float(np.sqrt((err**2).mean())) if metric.endswith("rmse") else float(np.abs(err).mean())


def train_best(space: SearchSpace, *, output: str | Path | None, mc_dropout: int = 0, epochs: int | None = None,
               seed: int | None = 42, from_search: bool = False, kept_output: str | Path | None = None,
               storage_url: str | None = None) -> TrainOutcome:
    """Refit, evaluate once on the test split, save the model (``.keras``); beside it, the model the search
    kept for the trial in ``space.origin`` (when its study holds it), scored the same way.

    Args:
        space: a space whose every parameter is fixed (``STUDY-best.yaml``, ``report --export``).
        output: where to save the refit model (with ``from_search``: the kept model).
        mc_dropout: score the mean of this many MC dropout passes (0: only for an MC dropout model, 10 passes).
        epochs: refit epochs (default ``training.refit_epochs``, else ``max_epochs``).
        seed: seeds the refit.
        from_search: no refit: only the kept model, which must be there.
        kept_output: where to save the kept model (it must be there).
        storage_url: the store of the study ``origin`` names (None: ``tunecli.journal`` here).

    Raises:
        TuneCliError: bad input; with ``from_search`` or ``kept_output``, also when the weights were not kept.
    """
    from tunecli.config.objective import resolve_objective
    from tunecli.data import load_data
    from tunecli.runtime import init_backend
    from tunecli.transfer import attach_base, with_pretrained

    params = fixed_params(space)
    if from_search and epochs:
        raise TuneCliError("--epochs sets the refit's epochs; --from-search refits nothing", field="--epochs")
    if from_search and output and kept_output:
        raise TuneCliError("with --from-search, --output saves the kept model: give only --output",
                           field="--kept-output")
    init_backend(space.training.backend)
    dataset = attach_base(space, load_data(space.data, base_dir=Path(space.path).parent if space.path else None))
    dataset = with_pretrained(space, dataset, attrs=_origin_attrs(space, storage_url))
    if len(dataset.x_test) == 0:
        raise SpaceError("is 0: there is no test split to score on", source=space.path, field="data.test")
    objective = resolve_objective(space.objective, dataset.task, space.path)
    metric = objective.metric if objective.metric != "val_loss" else (
        "val_accuracy" if dataset.task == "classification" else "val_rmse")
    if mc_dropout and not params.get("dropout"):
        raise SpaceError("--mc-dropout needs a model with dropout (dropout > 0)", field="space.dropout")
    refit_path = _output_path(output) if output and not from_search else None
    kept_path = _output_path(kept_output or output, "--kept-output" if kept_output else "--output") if (
        kept_output or (from_search and output)) else None
    if refit_path is not None and refit_path == kept_path:
        raise TuneCliError("--output and --kept-output name the same file", field="--kept-output")
    from tunecli.trainers.keras.model import uses_mc_dropout

    passes = mc_dropout or (space.training.mc_passes if uses_mc_dropout(params) else 0)
    kept: TrainOutcome | None = None
    kept_model, note = None, None
    try:  # before the refit: a missing kept model is told at once
        option = "--from-search" if from_search else "--kept-output" if kept_output else None
        kept, kept_model = _kept(space, storage_url, params, dataset, metric, passes, option)
    except TuneCliError as exc:
        if from_search or kept_output:
            raise
        note = exc.message
    if from_search:
        assert kept is not None
        if kept_path:
            kept.model_path = _save(kept_model, kept_path, params, dataset.task, "--output")
        return kept
    path = refit_path
    n_epochs = epochs or space.training.refit_epochs or space.training.max_epochs
    start = time.perf_counter()
    try:
        model = _fit(params, dataset, space, n_epochs, seed)
    except RunError as exc:  # the refit diverged: the model the search kept is what there is to hand over
        if kept is None:
            raise
        kept.kept_note = f"the refit failed ({exc.message}); the model the search kept is handed over instead"
        if path:
            kept.model_path = _save(kept_model, path, params, dataset.task)
        return kept
    origin = space.origin or {}
    search_score = origin.get("value") if origin.get("objective") == metric else None
    test_score, mc_mean, mc_std = _test_score(model, dataset, metric, passes)
    outcome = TrainOutcome(metric.removeprefix("val_"), test_score, search_score, n_epochs, 0.0, None,
                           kept=kept, kept_note=note)
    if passes:
        outcome.mc_mean, outcome.mc_std, outcome.mc_passes = mc_mean, mc_std, passes
    outcome.seconds = time.perf_counter() - start
    if path:
        outcome.model_path = _save(model, path, params, dataset.task)
    if kept is not None and kept_path:
        kept.model_path = _save(kept_model, kept_path, params, dataset.task, "--kept-output")
    return outcome


def _test_score(model: Any, dataset: Any, metric: str, passes: int) -> tuple[float, float | None, float | None]:
    """The model's test score, and with MC dropout (``passes``) the mean and spread it comes from."""
    if passes:  # an MC dropout model is scored on its mean prediction, as it is meant to be used
        mc_mean, mc_std = _mc_dropout(model, dataset, metric, passes)
        return mc_mean, mc_mean, mc_std
    return score(metric, dataset.y_test, model.predict(dataset.x_test, batch_size=2048, verbose=0)), None, None


def _kept(space: SearchSpace, storage_url: str | None, params: dict[str, Any], dataset: Any, metric: str,
          passes: int, option: str | None = "--from-search") -> tuple[TrainOutcome, Any]:
    """The model the search kept for the trial ``space.origin`` names, scored once on the test split
    (and on the validation split, where it shows the search's score again). ``option``: the one that asked
    for it (the messages say to leave it out to refit instead); None: shown beside a refit.

    Raises:
        TuneCliError: no origin, no such store or study, the weights were not kept, or they do not fit.
    """
    start = time.perf_counter()
    origin = space.origin or {}
    study_name, number = origin.get("study"), origin.get("trial")
    name = Path(space.path).name if space.path else "FILE"
    rerun = (f"run `tunecli train {shorten(name, 60)}` without {option} to refit the configuration instead"
             if option else "use the refit")
    if not isinstance(study_name, str) or isinstance(number, bool) or not isinstance(number, int):
        raise TuneCliError(f"names no search trial (origin: study, trial), so there is no kept model; {rerun}",
                           source=space.path, field="origin")
    from tunecli.search.weights import kept, kept_numbers
    from tunecli.studies.results import trained_config
    from tunecli.studies.storage import load_study
    from tunecli.studies.urls import describe

    study = load_study(study_name, storage_url)
    attrs = study.user_attrs
    entry = kept(attrs, number)
    where = f"trial #{number} of study {show(study_name)}"
    if entry is None:
        others = kept_numbers(attrs)
        why = (f"a search keeps the weights of its best trials only (search.rerank.top, at least 1; now "
               f"{shorten(', '.join(f'#{n}' for n in others), 60)}), and this one fell out of them or never ranked"
               if others else "this study keeps none (made before tunecli kept weights, or no trial completed)")
        raise TuneCliError(f"the weights of {where} were not kept: {why}; {rerun}", source=describe(storage_url),
                           field="origin")
    trial = next((t for t in study.get_trials(deepcopy=False) if t.number == number), None)
    config = trained_config(dict(trial.user_attrs.get("config") or trial.params),
                            trial.user_attrs.get("lr_used")) if trial is not None else {}
    differ = [k for k in dict.fromkeys([*params, *config]) if params.get(k) != config.get(k)]
    if differ:
        k = differ[0]
        raise TuneCliError(f"is not the configuration {where} trained ({show(params.get(k))} here, "
                           f"{show(config.get(k))} in the trial), so its kept model does not fit; export the trial's "
                           f"with `tunecli report {shorten(study_name, 60)} --export FILE`, or {rerun}",
                           source=space.path, field=f"space.{k}")
    from tunecli.config.catalogue import with_defaults
    from tunecli.trainers.keras.fit import compile_model
    from tunecli.trainers.keras.model import build_mlp
    from tunecli.trainers.keras.weights import from_text

    try:
        arrays = from_text(entry["weights"])
    except ValueError as exc:
        raise TuneCliError(f"the kept weights of {where} are unreadable ({exc}); {rerun}",
                           source=describe(storage_url), field="origin") from None
    from tunecli.trainers.transfer import plan

    p = with_defaults(config)
    model = build_mlp(plan(p, dataset.base, dataset.n_features)[0], dataset.n_features, dataset.task, dataset.n_classes)
    shapes = [tuple(w.shape) for w in model.weights]
    if [tuple(a.shape) for a in arrays] != shapes:
        raise TuneCliError(f"the kept weights of {where} do not fit the model built for this data "
                           f"({dataset.n_features} features); was the data changed since the search? {rerun}",
                           source=space.path, field="data")
    model.set_weights(arrays)
    steps = max(1, math.ceil(len(dataset.x_train) / int(p["batch_size"])))
    compile_model(model, p, dataset.task, steps, space.training.max_epochs, steps)  # to be saved ready to train on
    if passes:
        from tunecli.trainers.keras.model import predict_mc

        val_score = score(metric, dataset.y_val, predict_mc(model, dataset.x_val, passes).mean(axis=0))
    else:
        val_score = score(metric, dataset.y_val, model.predict(dataset.x_val, batch_size=2048, verbose=0))
    epoch = entry.get("epoch")
    curve = (trial.user_attrs.get("curve") or {}).get(metric) if trial is not None else None
    search_score = curve[epoch - 1] if isinstance(epoch, int) and curve and 0 < epoch <= len(curve) else None
    test_score, mc_mean, mc_std = _test_score(model, dataset, metric, passes)
    outcome = TrainOutcome(metric.removeprefix("val_"), test_score, search_score, epoch or 0, 0.0, None, mc_mean, mc_std,
                           passes, model="kept", trial=number, val_score=val_score)
    outcome.seconds = time.perf_counter() - start
    return outcome, model


def _fit(params: dict[str, Any], dataset: Any, space: SearchSpace, n_epochs: int, seed: int | None) -> Any:
    from tunecli.config.catalogue import with_defaults
    from tunecli.trainers.keras.fit import build_compiled

    p = with_defaults(params)
    x = np.concatenate([dataset.x_train, dataset.x_val])
    y = np.concatenate([dataset.y_train, dataset.y_val])
    batch = int(p["batch_size"])
    steps = max(1, math.ceil(len(x) / batch))
    # the schedule runs on the search's epoch axis (max_epochs), whatever number of epochs the refit takes
    model = build_compiled(p, dataset, steps_per_epoch=steps, max_epochs=space.training.max_epochs,
                           steps_per_execution=steps, seed=seed)
    callbacks = []
    if p["schedule"] == "performance" and space.training.refit_lr_drops:
        from tunecli.trainers.keras.schedules import ReplayDrops

        callbacks.append(ReplayDrops(space.training.refit_lr_drops, p["plateau_factor"]))
    from tunecli.trainers.keras.fit import fit_phases
    from tunecli.trainers.transfer import phases, plan

    # reused layers (transfer / pretrain) are frozen for freeze_epochs, then fine-tuned, as in the search
    history = fit_phases(model, plan(p, dataset.base, dataset.n_features)[0], dataset.task,
                         phases(p, dataset.base, space.training.max_epochs), x, y, epochs=n_epochs,
                         steps_per_epoch=steps, max_epochs=space.training.max_epochs, steps_per_execution=steps,
                         callbacks=callbacks, batch_size=batch, verbose=0, shuffle=True)
    if not all(math.isfinite(v) for v in history["loss"]):
        raise RunError("the loss diverged (NaN/inf) while refitting; lower the learning rate", field="space")
    return model


def _origin_attrs(space: SearchSpace, storage_url: str | None) -> dict[str, Any] | None:
    """The attributes of the study the configuration came from (its stored encoder), when it can be read."""
    name = (space.origin or {}).get("study")
    if space.pretrain is None or not isinstance(name, str):
        return None
    from tunecli.studies.storage import load_study

    try:
        return load_study(name, storage_url).user_attrs
    except TuneCliError:
        return None  # the encoder is trained again (same settings and seed)


def _mc_dropout(model: Any, dataset: Any, metric: str, passes: int) -> tuple[float, float]:
    """The score of the mean of ``passes`` MC predictions, and the spread of single passes' scores."""
    from tunecli.trainers.keras.model import predict_mc

    probs = predict_mc(model, dataset.x_test, passes)
    scores = [score(metric, dataset.y_test, pred) for pred in probs]
    return score(metric, dataset.y_test, probs.mean(axis=0)), float(np.std(scores))


def _output_path(output: str | Path, option: str = "--output") -> Path:
    """Where the model goes (``.keras``), checked writable before any training."""
    path = Path(output)
    if path.suffix != ".keras":
        path = path.with_suffix(".keras")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(f".{path.name}.tunecli-write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise TuneCliError(f"cannot write the model here: {exc.strerror}", source=str(path), field=option) from None
    return path


def _save(model: Any, path: Path, params: dict[str, Any], task: str, option: str = "--output") -> Path:
    from tunecli.config.catalogue import with_defaults
    from tunecli.trainers.keras.fit import portable

    try:
        portable(model, with_defaults(params), task).save(path)
    except OSError as exc:
        raise TuneCliError(f"cannot save the model: {exc.strerror}", source=str(path), field=option) from None
    return path
