"""The Optuna engine: ask / tell over ``run_trial``, pruning every epoch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from tunecli import interrupt
from tunecli.config.params import FloatParam, IntParam, LrFinderParam, decode, encode, walk
from tunecli.search import coordination
from tunecli.search.engines._base import SearchContext, SearchEngine, keep_weights, result_attrs

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
        keep_weights(ctx, trial.number, result)
        ctx.progress.end_trial(trial.number, result, ctx.study)
        return True


def _trial_seed(ctx: SearchContext, number: int) -> int | None:
    seed = ctx.space.search.seed
    return None if seed is None else seed + number
