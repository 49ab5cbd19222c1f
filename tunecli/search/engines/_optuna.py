"""The Optuna engine: ask / tell over ``run_trial``, pruning every epoch."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from tunecli import interrupt
from tunecli.config.params import FloatParam, IntParam, LrFinderParam, decode, encode, walk
from tunecli.search import coordination
from tunecli.search.constant import ConstantWatch, constant_score
from tunecli.search.engines._base import SearchContext, SearchEngine, keep_weights, objective_values, result_attrs, violations
from tunecli.studies import attrs

if TYPE_CHECKING:
    from tunecli.config.space import SearchSpace


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Ask the trial for every parameter whose condition holds; fixed values pass through."""
    return walk(space, lambda name, spec: _suggest_one(trial, name, spec))


def _suggest_one(trial: optuna.Trial, name: str, spec: Any) -> Any:
    if isinstance(spec, IntParam):
        return trial.suggest_int(name, spec.low, spec.high, step=spec.step, log=spec.log)
    if isinstance(spec, FloatParam):
        return trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)
    return decode(trial.suggest_categorical(name, [encode(c) for c in spec.choices]), spec.choices)


@dataclass
class _Asked:
    trial: optuna.Trial
    params: dict[str, Any]
    config: dict[str, Any]


class OptunaEngine(SearchEngine):
    """Asks Optuna for trials in groups that share a structure (``members``): the first is sampled freely, the
    rest with every categorical and integer choice of the first fixed (``PartialFixedSampler``), so the fast
    trainer trains the group with one compiled program. How many follows ``search.members`` and the cost model."""

    name = "optuna"

    def run(self, ctx: SearchContext) -> None:
        ran = 0
        while not ctx.out_of_time() and (ctx.limit is None or ran < ctx.limit):
            interrupt.check()
            coordination.reap_dead(ctx.study)
            room = coordination.open_slots(ctx.study, ctx.space.search.trials)
            if ctx.limit is not None:
                room = min(room, ctx.limit - ran)
            if room <= 0:
                break
            done = self._group(ctx, room)
            if not done:
                break
            ran += done

    def _group(self, ctx: SearchContext, room: int) -> int:
        """Ask and train one group of at most ``room`` trials; how many ran (0: this worker's trial was surplus)."""
        first = self._ask(ctx)
        if first is None:
            return 0
        asked = [first]
        k = min(room, ctx.members(first.config)) if _groups(ctx.study.sampler) else 1
        if (fit := ctx.trials_that_fit()) is not None:
            k = min(k, fit)   # a group near the timeout would overrun it (and re-ranking's time)
        if k > 1:
            fixed = {name: value for name, value in first.trial.params.items()
                     if not isinstance(first.trial.distributions[name], optuna.distributions.FloatDistribution)}
            sampler = ctx.study.sampler
            ctx.study.sampler = optuna.samplers.PartialFixedSampler(fixed, sampler)
            try:
                while len(asked) < k and (more := self._ask(ctx)) is not None:
                    asked.append(more)
            finally:
                ctx.study.sampler = sampler
        self._train(ctx, asked)
        return len(asked)

    def _ask(self, ctx: SearchContext) -> _Asked | None:
        """A new trial and its parameters; None (the trial discarded) when the requested total is reached."""
        trial = ctx.study.ask()
        if coordination.claimed_before(ctx.study, trial.number) >= ctx.space.search.trials:
            coordination.discard(ctx.study, trial, "surplus: the requested number of trials was reached")
            return None
        params = suggest(trial, ctx.space)
        config = {**ctx.space.fixed_values(), **{k: v for k, v in params.items() if not isinstance(v, LrFinderParam)}}
        return _Asked(trial, params, config)

    def _train(self, ctx: SearchContext, asked: list[_Asked]) -> None:
        """Train the group (members of one program where they share a structure) and record each trial."""
        ctx.progress.start_trial(asked[0].trial.number, asked[0].config)
        with ExitStack() as beats:
            for a in asked:
                beats.enter_context(coordination.Heartbeat(ctx.study, a.trial))
            try:
                results = ctx.run_group([a.params for a in asked], on_epochs=[_hook(ctx, a.trial) for a in asked],
                                        seeds=[_trial_seed(ctx, a.trial.number) for a in asked])
            except KeyboardInterrupt:
                for a in asked:
                    coordination.discard(ctx.study, a.trial, "interrupted (Ctrl-C)")
                raise
        bounds = ctx.space.bounds()
        for a, result in zip(asked, results):
            if result.interrupted:  # Ctrl-C stopped it mid-training; the members that had ended are kept
                coordination.discard(ctx.study, a.trial, "interrupted (Ctrl-C)")
                continue
            for key, value in result_attrs(result, a.config, bounds, ctx.space.objectives()[0]).items():
                a.trial.set_user_attr(key, value)
            _tell(ctx, a.trial, result, bounds)
            keep_weights(ctx, a.trial.number, result)
            ctx.progress.end_trial(a.trial.number, result, ctx.study)
        interrupt.check()


def _tell(ctx: SearchContext, trial: optuna.Trial, result: Any, bounds: list[Any]) -> None:
    """Tell the study how the trial ended: its score, with several objectives each cost measured too, and with
    ``constraints:`` how far it is outside each bound (Optuna's samplers and ``best_trials`` steer by them)."""
    state = {"COMPLETE": TrialState.COMPLETE, "PRUNED": TrialState.PRUNED}.get(result.state, TrialState.FAIL)
    if state == TrialState.COMPLETE:
        for bound, violation in zip(bounds, violations(result, bounds, ctx.space.objectives()[0])):
            trial.set_constraint(bound.name, violation)
    values: Any = result.value
    if ctx.objective.multi and state == TrialState.COMPLETE:
        values = objective_values(result, ctx.objective)
        if values is None:  # a cost could not be measured: no point on the front
            state = TrialState.FAIL
    ctx.study.tell(trial, values if state == TrialState.COMPLETE else None, state=state)


def _hook(ctx: SearchContext, trial: optuna.Trial) -> Any:
    multi = ctx.objective.multi  # Optuna cannot prune a study of several objectives: epochs are only shown
    watched = ctx.space.search.pruner != "none" and not multi and ctx.dataset is not None
    watch = ConstantWatch(constant_score(ctx.dataset, ctx.objective.metric) if watched else None, ctx.objective)

    def on_epoch(epoch: int, value: float, logs: dict[str, float]) -> bool:
        ctx.progress.epoch(epoch, value, logs)
        if multi:
            return False
        trial.report(value, epoch)
        if watch.stop(value, logs.get("loss")):  # a dead network: pruned, whatever the pruner's start-up trials
            trial.set_user_attr(attrs.FAIL_REASON, watch.reason())
            return True
        return trial.should_prune()

    return on_epoch


def _groups(sampler: optuna.samplers.BaseSampler) -> bool:
    """Samplers that may be asked for a group with some parameters fixed (grid points, CMA-ES generations,
    quasi-random sequences and GP fits are left as they are: one trial at a time)."""
    return isinstance(sampler, (optuna.samplers.TPESampler, optuna.samplers.RandomSampler))


def _trial_seed(ctx: SearchContext, number: int) -> int | None:
    seed = ctx.space.search.seed
    return None if seed is None else seed + number
