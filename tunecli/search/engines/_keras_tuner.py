"""The Keras Tuner engine: the same space file driven by RandomSearch, BayesianOptimization,
Hyperband or GridSearch. Every trial is trained by ``run_trial`` (the same model builder as
the Optuna engine) and also written into the Optuna study, so ``report`` reads one format.

Keras Tuner keeps its own project folder, ``tunecli-runs/<study>-<id>/keras-tuner``, where ``<id>``
is drawn when the study first runs with this engine and kept in the study (``keras_tuner_project``):
the folder belongs to that study in that store, so the same study name in another store (or in a
store made afresh) gets a fresh project instead of one that believes its search is done. Running
the same command again resumes from it. A study made before this rule keeps its old folder,
``tunecli-runs/<study>/keras-tuner``, when that folder holds its trials. Hyperband's epoch budgets
are respected; each round trains from scratch (no weight carry-over between rounds).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from tunecli.config import registry
from tunecli.config.params import ChoiceParam, FixedParam, FloatParam, IntParam, LrFinderParam, decode, encode, walk
from tunecli.runtime import import_keras
from tunecli.search.engines._base import SearchContext, SearchEngine, keep_weights, result_attrs
from tunecli.studies import attrs

RUNS_DIR = "tunecli-runs"
PROJECT = "keras-tuner"


def project_folder(ctx: SearchContext) -> Path:
    """The folder (under ``RUNS_DIR``) of this study's Keras Tuner project; chosen and recorded on the first run."""
    name = attrs.read(ctx.study.user_attrs, attrs.KERAS_TUNER_PROJECT)
    if not name:
        legacy = Path(RUNS_DIR) / ctx.space.study
        known = {attrs.read(t.user_attrs, attrs.KT_TRIAL_ID) for t in ctx.study.get_trials(deepcopy=False)} - {None}
        if any((legacy / PROJECT / f"trial_{trial_id}").is_dir() for trial_id in known):
            name = ctx.space.study  # a study made before projects had an id: its project holds its trials
        else:
            name = f"{ctx.space.study}-{uuid.uuid4().hex[:8]}"
        ctx.study.set_user_attr(attrs.KERAS_TUNER_PROJECT, name)
    return Path(RUNS_DIR) / name


def declare(hp: Any, space: Any) -> dict[str, Any]:
    """Declare every parameter on a Keras Tuner ``hp`` and return the active values."""
    tunable = (IntParam, FloatParam, ChoiceParam)

    def choose(name: str, spec: Any) -> Any:
        parents = {p: [_hp_key(space.space[p], v) for v in values]
                   for p, values in (spec.when or {}).items() if isinstance(space.space[p], tunable)}
        return _hp_value(hp, name, spec, parents)

    return walk(space, choose)


def _hp_value(hp: Any, name: str, spec: Any, parents: dict[str, list[Any]]) -> Any:
    if parents:
        parent, values = next(iter(parents.items()))
        with hp.conditional_scope(parent, values):
            return _hp_value(hp, name, spec, dict(list(parents.items())[1:]))
    if isinstance(spec, IntParam):
        return hp.Int(name, spec.low, spec.high, step=None if spec.log else spec.step,
                      sampling="log" if spec.log else "linear")
    if isinstance(spec, FloatParam):
        return hp.Float(name, spec.low, spec.high, step=spec.step, sampling="log" if spec.log else "linear")
    return decode(hp.Choice(name, _hp_choices(spec.choices), ordered=False), spec.choices)


def _hp_key(parent: Any, value: Any) -> Any:
    """``value`` of a parent parameter as Keras Tuner holds it (for a conditional scope)."""
    if isinstance(parent, ChoiceParam) and value in parent.choices:
        return _hp_choices(parent.choices)[parent.choices.index(value)]
    return value


def _hp_choices(choices: list[Any]) -> list[Any]:
    """Keras Tuner's choices are of one type and never None: mixed ones travel as JSON text."""
    keys = [encode(c) for c in choices]
    if len(set(map(type, keys))) == 1 and None not in keys:
        return keys
    return [json.dumps(c) for c in choices]


def _distribution(spec: Any) -> Any:
    import optuna.distributions as d

    if isinstance(spec, IntParam):
        return d.IntDistribution(spec.low, spec.high, log=spec.log, step=1 if spec.log else spec.step)
    if isinstance(spec, FloatParam):
        return d.FloatDistribution(spec.low, spec.high, log=spec.log, step=spec.step)
    return d.CategoricalDistribution([encode(c) for c in spec.choices])


def record(ctx: SearchContext, params: dict[str, Any], result: Any, config: dict[str, Any], trial_id: str) -> None:
    """Write one finished Keras Tuner trial into the Optuna study."""
    import optuna

    specs = {**ctx.space.space}
    lr = ctx.space.lr_finder()
    if lr is not None and not isinstance(lr.multiplier, FixedParam):
        specs["lr_multiplier"] = lr.multiplier
    tuned = {k: v for k, v in params.items() if k in specs and not isinstance(specs[k], (FixedParam, LrFinderParam))}
    state = {"COMPLETE": optuna.trial.TrialState.COMPLETE}.get(result.state, optuna.trial.TrialState.FAIL)
    stored = {**result_attrs(result, config), attrs.KT_TRIAL_ID: trial_id}
    trial = optuna.trial.create_trial(
        params={k: encode(v) for k, v in tuned.items()},
        distributions={k: _distribution(specs[k]) for k in tuned},
        value=result.value if state == optuna.trial.TrialState.COMPLETE else None,
        state=state, user_attrs=stored)
    ctx.study.add_trial(trial)
    if state == optuna.trial.TrialState.COMPLETE:  # its number: the latest trial recorded for this Keras Tuner trial
        number = max(t.number for t in ctx.study.get_trials(deepcopy=False)
                     if attrs.read(t.user_attrs, attrs.KT_TRIAL_ID) == trial_id)
        keep_weights(ctx, number, result)


def _recorded(ctx: SearchContext, trial_id: str) -> float | None:
    """The stored value of a Keras Tuner trial already written into the study, if any."""
    for t in ctx.study.get_trials(deepcopy=False):
        if attrs.read(t.user_attrs, attrs.KT_TRIAL_ID) == trial_id and t.value is not None:
            return t.value
    return None


def _tuner_class(base: type) -> Any:
    """``base`` (a Keras Tuner ``Tuner`` class) whose trials are trained by ``run_trial`` and written into the study."""
    import keras_tuner as kt

    class TuneCliTuner(base):  # type: ignore[misc, valid-type]
        ctx: SearchContext

        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
            ctx = self.ctx
            if ctx.out_of_time():
                raise kt.errors.FatalError("timeout reached")
            done = _recorded(ctx, trial.trial_id)
            if done is not None:  # finished and stored before an interruption: do not train it again
                return {ctx.objective.metric: float(done)}
            params = declare(trial.hyperparameters, ctx.space)
            epochs = trial.hyperparameters.values.get("tuner/epochs")
            config = {**ctx.space.fixed_values(), **{k: v for k, v in params.items() if not isinstance(v, LrFinderParam)}}
            number = len(ctx.study.trials)
            ctx.progress.start_trial(number, config)
            result = ctx.run_trial(params, on_epoch=lambda e, v, logs: ctx.progress.epoch(e, v, logs) or False,
                                   seed=None if ctx.space.search.seed is None else ctx.space.search.seed + number,
                                   max_epochs=epochs)
            record(ctx, params, result, config, trial.trial_id)
            ctx.progress.end_trial(number, result, ctx.study)
            if result.state != "COMPLETE":
                raise kt.errors.FailedTrialError(result.reason or "trial failed")
            return {ctx.objective.metric: float(result.value)}

    return TuneCliTuner


def _hypermodel(space: Any) -> Any:
    """A HyperModel whose ``build`` only declares the hyperparameters (training is ``run_trial``'s)."""
    import keras_tuner as kt

    keras = import_keras()

    class SpaceHyperModel(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            declare(hp, space)
            return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])

    return SpaceHyperModel()


class KerasTunerEngine(SearchEngine):
    name = "keras-tuner"

    def run(self, ctx: SearchContext) -> None:
        import_keras()  # first, so that the backend's start-up chatter is silenced
        import keras_tuner as kt

        search = ctx.space.search
        base = registry.ALGORITHMS[(self.name, search.algorithm)].load()
        folder = project_folder(ctx)
        objective = kt.Objective(ctx.objective.metric, "max" if ctx.objective.direction == "maximize" else "min")
        kwargs: dict[str, Any] = {"objective": objective, "seed": search.seed, "directory": str(folder),
                                  "project_name": PROJECT, "overwrite": False,
                                  "max_consecutive_failed_trials": 1_000_000}
        by_epochs = issubclass(base, kt.Hyperband)  # Hyperband's budget is epochs, the others' trials
        if by_epochs:
            kwargs.update(max_epochs=ctx.space.training.max_epochs, factor=3)
        else:
            kwargs["max_trials"] = search.trials
        cls = _tuner_class(base)
        cls.ctx = ctx
        tuner = cls(hypermodel=_hypermodel(ctx.space), **kwargs)
        # A trial stored in the study but left unfinished in Keras Tuner's project (Ctrl-C between
        # the two) is not counted by Keras Tuner: lower its budget so the total stays `trials`.
        kt_done = sum(1 for t in tuner.oracle.trials.values() if t.status == "COMPLETED")
        orphans = ctx.finished() - kt_done
        if orphans > 0 and not by_epochs:
            tuner.oracle.max_trials = max(1, search.trials - orphans)
        try:
            tuner.search(verbose=0)
        except kt.errors.FatalError:
            if not ctx.out_of_time():
                raise
