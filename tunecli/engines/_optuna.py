"""The Optuna engine: ask / tell over ``run_trial``, pruning every epoch."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import warnings

import optuna
from optuna.trial import TrialState

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

from tunecli import coordination, interrupt
from tunecli.engines._base import SearchContext, SearchEngine, result_attrs
from tunecli.errors import SpaceError
from tunecli.params import FixedParam, FloatParam, IntParam, LrFinderParam

if TYPE_CHECKING:
    from tunecli.space import SearchSpace


def condition_holds(spec: Any, params: dict[str, Any]) -> bool:
    """True when every ``when`` parent has one of the listed values (absent parents fail)."""
    return all(parent in params and params[parent] in values for parent, values in (spec.when or {}).items())


def _encode(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _decode(value: Any, choices: list[Any]) -> Any:
    return json.loads(value) if isinstance(value, str) and any(isinstance(c, (list, dict)) for c in choices) else value


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Ask the trial for every parameter whose condition holds; fixed values pass through."""
    params: dict[str, Any] = {}
    for name in space.order():
        spec = space.space[name]
        if not condition_holds(spec, params):
            continue
        if isinstance(spec, LrFinderParam):
            params[name] = spec
            if not isinstance(spec.multiplier, FixedParam):
                params["lr_multiplier"] = _suggest_one(trial, "lr_multiplier", spec.multiplier)
        elif isinstance(spec, FixedParam):
            params[name] = spec.value
        else:
            params[name] = _suggest_one(trial, name, spec)
    return params


def _suggest_one(trial: optuna.Trial, name: str, spec: Any) -> Any:
    if isinstance(spec, IntParam):
        return trial.suggest_int(name, spec.low, spec.high, step=spec.step, log=spec.log)
    if isinstance(spec, FloatParam):
        return trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)
    raw = trial.suggest_categorical(name, [_encode(c) for c in spec.choices])
    return _decode(raw, spec.choices)


def make_sampler(space: SearchSpace) -> optuna.samplers.BaseSampler:
    name, seed = space.search.algorithm, space.search.seed
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    if name == "grid":
        return optuna.samplers.GridSampler(grid_of(space), seed=seed)
    if name == "cmaes":
        _require("cmaes", "cmaes")
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "gp":
        _require("torch", "gp")
        return optuna.samplers.GPSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, space.search.trials // 4)))


def _require(module: str, algorithm: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise SpaceError(f"algorithm {algorithm} needs the {module} package: pip install {module}; "
                         "or use tpe, random, qmc or grid", field="search.algorithm")


def grid_of(space: SearchSpace) -> dict[str, list[Any]]:
    """Every tuned parameter's values, for grid search (float ranges need ``step``)."""
    grid = {}
    for name, spec in space.space.items():
        if isinstance(spec, (FixedParam, LrFinderParam)):
            continue
        try:
            grid[name] = [_encode(v) for v in spec.values()]
        except ValueError as exc:
            raise SpaceError(str(exc), source=space.path, field=f"space.{name}") from None
    return grid


def make_pruner(space: SearchSpace) -> optuna.pruners.BasePruner:
    name, epochs = space.search.pruner, space.training.max_epochs
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=min(3, epochs - 1))
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    if name == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()


class OptunaEngine(SearchEngine):
    name = "optuna"

    def run(self, ctx: SearchContext) -> None:
        ran = 0
        while not ctx.out_of_time() and (ctx.limit is None or ran < ctx.limit):
            interrupt.check()
            coordination.reap_dead(ctx.study)
            if coordination.open_slots(ctx.study, ctx.space.search.trials) <= 0 or not self._one(ctx):
                break
            ran += 1

    def _one(self, ctx: SearchContext) -> bool:
        """Run one trial; False when this worker's trial was surplus (the total is reached)."""
        trial = ctx.study.ask()
        if coordination.claimed_before(ctx.study, trial.number) >= ctx.space.search.trials:
            coordination.discard(ctx.study, trial, "surplus: the requested number of trials was reached")
            return False
        params = suggest(trial, ctx.space)
        config = {**ctx.space.fixed_values(), **{k: v for k, v in params.items() if not isinstance(v, LrFinderParam)}}
        ctx.progress.start_trial(trial.number, config)

        def on_epoch(epoch: int, value: float, logs: dict[str, float]) -> bool:
            trial.report(value, epoch)
            ctx.progress.epoch(epoch, value, logs)
            return trial.should_prune()

        try:
            with coordination.Heartbeat(ctx.study, trial):
                result = ctx.run_trial(params, on_epoch=on_epoch, seed=_trial_seed(ctx, trial.number))
        except KeyboardInterrupt:
            coordination.discard(ctx.study, trial, "interrupted (Ctrl-C)")
            raise
        for key, value in result_attrs(result, config).items():
            trial.set_user_attr(key, value)
        state = {"COMPLETE": TrialState.COMPLETE, "PRUNED": TrialState.PRUNED}.get(result.state, TrialState.FAIL)
        ctx.study.tell(trial, result.value if state == TrialState.COMPLETE else None, state=state)
        ctx.progress.end_trial(trial.number, result, ctx.study)
        return True


def _trial_seed(ctx: SearchContext, number: int) -> int | None:
    seed = ctx.space.search.seed
    return None if seed is None else seed + number
