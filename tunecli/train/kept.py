"""The model a search trial trained and kept (``search.weights``), rebuilt from its study for ``tunecli train``."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.config.catalogue import with_defaults
from tunecli.errors import TuneCliError, shorten, show
from tunecli.studies import attrs
from tunecli.studies.results import trained_config
from tunecli.studies.storage import load_study
from tunecli.studies.urls import describe
from tunecli.train.outcome import Job, TrainOutcome, test_score, val_score
from tunecli.trainers.keras.weights import from_text
from tunecli.trainers.transfer import plan

if TYPE_CHECKING:
    import optuna


def kept_model(job: Job, storage_url: str | None, option: str | None = "--from-search") -> tuple[TrainOutcome, Any]:
    """The model the search kept for the trial ``space.origin`` names, scored once on the test split
    (and on the validation split, where it shows the search's score again). ``option``: the one that asked
    for it (the messages say to leave it out to refit instead); None: shown beside a refit.

    Raises:
        TuneCliError: no origin, no such store or study, the weights were not kept, or they do not fit.
    """
    start = time.perf_counter()
    found = _Found(job, storage_url, option)
    model = found.model()
    entry, trial = found.entry, found.trial
    epoch = entry.epoch
    curve = attrs.read(trial.user_attrs, attrs.CURVE, {}).get(job.metric) if trial is not None else None
    search_score = curve[epoch - 1] if isinstance(epoch, int) and curve and 0 < epoch <= len(curve) else None
    validation = val_score(model, job)
    test, mc_mean, mc_std = test_score(model, job)
    outcome = TrainOutcome(job.metric.removeprefix("val_"), test, search_score, epoch or 0, 0.0, None, mc_mean, mc_std,
                           job.passes, model="kept", trial=found.number, val_score=validation)
    outcome.seconds = time.perf_counter() - start
    return outcome, model


def member_model(job: Job, study: optuna.Study, number: int, option: str) -> tuple[Any, dict[str, Any]]:
    """The model trial ``number`` of ``study`` (the study ``space.origin`` names) kept, uncompiled (to be a
    member of a larger model), and the configuration it trained (any trial's: not checked against the space's).

    Raises:
        TuneCliError: its weights were not kept, or they do not fit the data.
    """
    found = _Found(job, None, option, study=study, number=number)
    return found.model(compiled=False), found.config


class _Found:
    """The kept weights of the trial ``space.origin`` names (or ``number`` of the ``study`` given), checked to fit
    the configuration (that trial's only) and the data."""

    def __init__(self, job: Job, storage_url: str | None, option: str | None, *, study: optuna.Study | None = None,
                 number: int | None = None) -> None:
        self.job, self.storage_url = job, storage_url
        space = job.space
        name = Path(space.path).name if space.path else "FILE"
        self.rerun = (f"run `tunecli train {shorten(name, 60)}` without {option} to refit the configuration instead"
                      if option else "use the refit")
        origin = space.origin or {}
        self.study_name, self.number = origin.get("study"), origin.get("trial") if number is None else number
        if not isinstance(self.study_name, str) or isinstance(self.number, bool) or not isinstance(self.number, int):
            raise TuneCliError(f"names no search trial (origin: study, trial), so there is no kept model; {self.rerun}",
                               source=space.path, field="origin")
        self.where = f"trial #{self.number} of study {show(self.study_name)}"
        study = study or load_study(self.study_name, storage_url)
        self.entry = self._entry(study.user_attrs)
        self.trial = next((t for t in study.get_trials(deepcopy=False) if t.number == self.number), None)
        self.config = self._config(self.trial, check=number is None)

    def _entry(self, stored: dict[str, Any]) -> attrs.Kept:
        entry = attrs.kept(stored, self.number)
        if entry is not None:
            return entry
        others = attrs.kept_numbers(stored)
        why = (f"a search keeps the weights of its best trials only (search.rerank.top, at least 1; now "
               f"{shorten(', '.join(f'#{n}' for n in others), 60)}), and this one fell out of them or never ranked"
               if others else "this study keeps none (made before tunecli kept weights, or no trial completed)")
        raise TuneCliError(f"the weights of {self.where} were not kept: {why}; {self.rerun}",
                           source=describe(self.storage_url), field="origin")

    def _config(self, trial: optuna.trial.FrozenTrial | None, *, check: bool) -> dict[str, Any]:
        """The configuration the trial trained, checked to be the space's (with ``check``)."""
        config = trained_config(dict(attrs.read(trial.user_attrs, attrs.CONFIG) or trial.params),
                                attrs.read(trial.user_attrs, attrs.LR_USED)) if trial is not None else {}
        params = self.job.params if check else config
        differ = [k for k in dict.fromkeys([*params, *config]) if params.get(k) != config.get(k)]
        if differ:
            k = differ[0]
            raise TuneCliError(f"is not the configuration {self.where} trained ({show(params.get(k))} here, "
                               f"{show(config.get(k))} in the trial), so its kept model does not fit; export the "
                               f"trial's with `tunecli report {shorten(self.study_name, 60)} --export FILE`, or "
                               f"{self.rerun}", source=self.job.space.path, field=f"space.{k}")
        return config

    def model(self, *, compiled: bool = True) -> Any:
        """The Keras model built for the configuration, with the kept weights, compiled to be saved ready to train
        (or not: a member of a larger model, whose file must not hold its optimizer)."""
        from tunecli.trainers.keras.fit import compile_model
        from tunecli.trainers.keras.model import build_mlp

        try:
            arrays = from_text(self.entry.weights)
        except ValueError as exc:
            raise TuneCliError(f"the kept weights of {self.where} are unreadable ({exc}); {self.rerun}",
                               source=describe(self.storage_url), field="origin") from None
        dataset, p = self.job.dataset, with_defaults(self.config)
        model = build_mlp(plan(p, dataset.base, dataset.n_features)[0], dataset.n_features, dataset.task,
                          dataset.n_classes)
        if [tuple(a.shape) for a in arrays] != [tuple(w.shape) for w in model.weights]:
            raise TuneCliError(f"the kept weights of {self.where} do not fit the model built for this data "
                               f"({dataset.n_features} features); was the data changed since the search? {self.rerun}",
                               source=self.job.space.path, field="data")
        model.set_weights(arrays)
        if not compiled:
            return model
        steps = max(1, math.ceil(len(dataset.x_train) / int(p["batch_size"])))
        compile_model(model, p, dataset.task, steps, self.job.space.training.max_epochs, steps)
        return model
