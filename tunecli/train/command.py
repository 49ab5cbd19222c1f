"""``train_best``: the core of ``tunecli train`` — checks first, then the kept model, then the refit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.config.params import FixedParam
from tunecli.errors import RunError, SpaceError, TuneCliError
from tunecli.prepare import prepare
from tunecli.studies.storage import load_study
from tunecli.train import ensemble as ensembles
from tunecli.train import refit
from tunecli.train.files import export_path, output_paths, save
from tunecli.train.kept import kept_model
from tunecli.train.outcome import Job, TrainOutcome, collapsed, fit_score, network_costs, test_score

if TYPE_CHECKING:
    from tunecli.config.space import SearchSpace


def fixed_params(space: SearchSpace) -> dict[str, Any]:
    """The configuration of a space whose every parameter is fixed (as ``report --export`` writes)."""
    open_params = [name for name, spec in space.space.items() if not isinstance(spec, FixedParam)]
    if open_params:
        raise SpaceError(f"train needs every parameter fixed; these still vary: {', '.join(open_params)}. "
                         "Export one with `tunecli report --export BEST.yaml`", source=space.path, field="space")
    return {name: spec.value for name, spec in space.space.items()}


def picked_space(space: SearchSpace, rule: str, *, storage_url: str | None = None) -> SearchSpace:
    """The space of the trial ``rule`` chooses (``--pick``) in the study the file names (its ``origin``'s, else its
    own ``study``), every value fixed as ``report --export --pick`` writes it; paths resolve beside the file.

    Raises:
        TuneCliError: no such study, or a rule that picks nothing (``studies.pareto.pick``).
    """
    from tunecli.config.space import validate_space
    from tunecli.studies.report import build_report

    name = (space.origin or {}).get("study") or space.study
    study = load_study(str(name), storage_url)
    assert study is not None  # a name was given: the study or an error
    report = build_report(study, storage_url, importances=False)
    row = report.pick(rule)
    return validate_space(report.export_space(row), source=space.path)


def train_best(space: SearchSpace, *, output: str | Path | None, mc_dropout: int = 0, epochs: int | None = None,
               seed: int | None = 42, from_search: bool = False, kept_output: str | Path | None = None,
               storage_url: str | None = None, ensemble: int = 0, export: str | Path | None = None,
               force: bool = False) -> TrainOutcome:
    """Refit, evaluate once on the test split, save the model (``.keras``); beside it, the model the search
    kept for the trial in ``space.origin`` (when its study holds it), scored the same way; with ``ensemble``,
    also the ensemble of the kept models of the study's best trials (``train.ensemble``).

    Args:
        space: a space whose every parameter is fixed (``STUDY-best.yaml``, ``report --export``).
        output: where to save the refit model (with ``from_search``: the kept model; with ``ensemble``: the
            ensemble).
        mc_dropout: score the mean of this many MC dropout passes (0: only for an MC dropout model, 10 passes).
        epochs: refit epochs (default ``training.refit_epochs``, else ``max_epochs``).
        seed: seeds the refit.
        from_search: no refit: only the kept model, which must be there.
        kept_output: where to save the kept model (it must be there).
        storage_url: the store of the study ``origin`` names (None: ``tunecli.journal`` here).
        ensemble: draw an ensemble from the kept models of this many best trials (0: none).
        export: a folder to write the model handed over as a TensorFlow SavedModel (raw columns in).
        force: overwrite model files (and a SavedModel) already there.

    Raises:
        TuneCliError: bad input; with ``from_search`` or ``kept_output``, also when the weights were not kept;
            with ``ensemble``, also when the study kept none.
    """
    params = fixed_params(space)
    _check_options(from_search=from_search, epochs=epochs, output=output, kept_output=kept_output, ensemble=ensemble)
    job = _job(space, params, mc_dropout, storage_url)
    refit_path, kept_path = output_paths(output, kept_output, from_search, force)
    export_dir = export_path(export, force)
    ensemble_path, refit_path = (refit_path, None) if ensemble else (None, refit_path)
    members = ensembles.pool(job, storage_url, ensemble) if ensemble else None  # before the refit: a study without any says so
    outcome = _single(job, refit_path, kept_path, epochs, seed, from_search=from_search, kept_output=kept_output,
                      storage_url=storage_url, export=None if ensemble else export_dir)
    if members is not None:
        together, model = ensembles.build(job, members)
        outcome.ensemble = _saved(together, model, ensemble_path, job, network=False, export=export_dir)
    return outcome


def _single(job: Job, refit_path: Path | None, kept_path: Path | None, epochs: int | None, seed: int | None, *,
            from_search: bool, kept_output: str | Path | None, storage_url: str | None,
            export: Path | None) -> TrainOutcome:
    """The refit and the kept model beside it, or the kept model alone (``from_search``, or a refit that failed);
    the one handed over also exported to ``export``."""
    option = "--from-search" if from_search else "--kept-output" if kept_output else None
    kept, model, note = _kept_beside(job, storage_url, option, required=from_search or bool(kept_output))
    if from_search:
        assert kept is not None
        return _saved(kept, model, kept_path, job, export=export)
    try:
        outcome, refitted = _refit(job, epochs, seed)
    except RunError as exc:  # the refit diverged: the model the search kept is what there is to hand over
        if kept is None:
            raise
        kept.kept_note = f"the refit failed ({exc.message}); the model the search kept is handed over instead"
        return _saved(kept, model, refit_path, job, export=export)
    if kept is not None and (why := collapsed(job.metric, outcome.fit_score, kept.val_score)):
        kept.kept_note = f"{why}; the model the search kept is handed over instead"
        return _saved(kept, model, refit_path, job, export=export)
    if kept is None:  # nothing to fall back on: measured against the search's score, a collapsed refit runs again
        outcome, refitted = _refit_again(job, epochs, seed, outcome, refitted)
    _saved(outcome, refitted, refit_path, job, export=export)
    outcome.kept, outcome.kept_note = kept, note
    if kept is not None:
        _saved(kept, model, kept_path, job, "--kept-output")
    return outcome


def _saved(outcome: TrainOutcome, model: Any, path: Path | None, job: Job, option: str = "--output", *,
           network: bool = True, export: Path | None = None) -> TrainOutcome:
    """``outcome`` with its model saved at ``path`` and exported to ``export`` (neither without one) and, for one
    network (not an ensemble), what it costs beside what the search measured."""
    if network:
        outcome.costs = network_costs(model, job)
        outcome.search_costs = (job.space.origin or {}).get("costs")
    if path or export:
        outcome.model_path = save(model, path, job, outcome, option, export=export)
    if outcome.model_path:
        outcome.file_bytes = outcome.model_path.stat().st_size
    return outcome


def _check_options(*, from_search: bool, epochs: int | None, output: str | Path | None,
                   kept_output: str | Path | None, ensemble: int) -> None:
    if ensembles.check_size(ensemble) and from_search:
        raise TuneCliError("--from-search hands over one kept model and --ensemble an average of several: give one "
                           "of the two", field="--ensemble")
    if from_search and epochs:
        raise TuneCliError("--epochs sets the refit's epochs; --from-search refits nothing", field="--epochs")
    if from_search and output and kept_output:
        raise TuneCliError("with --from-search, --output saves the kept model: give only --output",
                           field="--kept-output")


def _job(space: SearchSpace, params: dict[str, Any], mc_dropout: int, storage_url: str | None) -> Job:
    """The data (with the encoder the configuration's study stored), the metric scored and the MC passes."""
    ready = prepare(space, attrs=_origin_attrs(space, storage_url))
    dataset = ready.dataset
    if len(dataset.x_test) == 0:
        raise SpaceError("is 0: there is no test split to score on", source=space.path, field="data.test")
    metric = ready.objective.metric if ready.objective.metric != "val_loss" else (
        "val_accuracy" if dataset.task == "classification" else "val_rmse")
    if mc_dropout and not params.get("dropout"):
        raise SpaceError("--mc-dropout needs a model with dropout (dropout > 0)", field="space.dropout")
    from tunecli.trainers.keras.model import uses_mc_dropout

    passes = mc_dropout or (space.training.mc_passes if uses_mc_dropout(params) else 0)
    return Job(space, params, dataset, metric, passes)


def _kept_beside(job: Job, storage_url: str | None, option: str | None, *,
                 required: bool) -> tuple[TrainOutcome | None, Any, str | None]:
    """The kept model and its outcome, before the refit (a missing one is told at once); when it is not
    ``required``, its absence is only noted (the third value says why)."""
    try:
        kept, model = kept_model(job, storage_url, option)
    except TuneCliError as exc:
        if required:
            raise
        return None, None, exc.message
    return kept, model, None


def _refit(job: Job, epochs: int | None, seed: int | None) -> tuple[TrainOutcome, Any]:
    """Refit on train + validation, score once on the test split (and on the rows it trained on)."""
    space = job.space
    n_epochs = epochs or space.training.refit_epochs or space.training.max_epochs
    start = time.perf_counter()
    model = refit.fit(job, n_epochs, seed)
    origin = space.origin or {}
    search_score = origin.get("value") if origin.get("objective") == job.metric else None
    score, mc_mean, mc_std = test_score(model, job)
    outcome = TrainOutcome(job.metric.removeprefix("val_"), score, search_score, n_epochs, 0.0, None)
    if job.passes:
        outcome.mc_mean, outcome.mc_std, outcome.mc_passes = mc_mean, mc_std, job.passes
    outcome.fit_score = fit_score(model, job)
    outcome.seconds = time.perf_counter() - start
    return outcome, model


def _refit_again(job: Job, epochs: int | None, seed: int | None, first: TrainOutcome,
                 model: Any) -> tuple[TrainOutcome, Any]:
    """Where no kept model is there to hand over instead, a refit that collapsed against the search's validation
    score (``outcome.collapsed``) runs once more with the next seed; the better of the two on the rows they trained
    on is kept, and ``refit_note`` says what happened."""
    against = "the search's trial"
    why = collapsed(job.metric, first.fit_score, first.search_score, against)
    if why is None:
        return first, model
    again = (seed if seed is not None else 0) + 1
    try:
        second, model2 = _refit(job, epochs, again)
    except RunError:
        first.refit_note = f"{why}; a refit with seed {again} failed too"
        return first, model
    still = collapsed(job.metric, second.fit_score, second.search_score, against)
    better = second if _fits_better(job.metric, second.fit_score, first.fit_score) else first
    chosen_model = model2 if better is second else model
    better.refit_note = (f"{why}; refit again with seed {again}"
                         + (", which collapsed too: the better of the two is handed over" if still else ""))
    better.seconds = first.seconds + second.seconds
    return better, chosen_model


def _fits_better(metric: str, a: float | None, b: float | None) -> bool:
    if a is None or not np.isfinite(a):
        return False
    if b is None or not np.isfinite(b):
        return True
    return a > b if metric.endswith("accuracy") else a < b


def _origin_attrs(space: SearchSpace, storage_url: str | None) -> dict[str, Any] | None:
    """The attributes of the study the configuration came from (its stored encoder), when it can be read."""
    name = (space.origin or {}).get("study")
    if space.pretrain is None or not isinstance(name, str):
        return None
    try:
        return load_study(name, storage_url).user_attrs
    except TuneCliError:
        return None  # the encoder is trained again (same settings and seed)
