"""A trial no better than a constant prediction is pruned after a few epochs, with its reason."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import optuna

from tunecli.config.objective import resolve_objective
from tunecli.config.space import validate_space
from tunecli.search.constant import EPOCHS, ConstantWatch, constant_score
from tunecli.studies import attrs
from tunecli.trial import TrialResult


def _data(task: str, y_train: list, y_val: list, folds: int = 0) -> SimpleNamespace:
    return SimpleNamespace(task=task, y_train=np.array(y_train), y_val=np.array(y_val), folds=folds)


def test_the_constant_scores_are_the_training_mean_and_median() -> None:
    regression = _data("regression", [1.0, 2.0, 3.0, 10.0], [2.0, 6.0])
    assert math.isclose(constant_score(regression, "val_rmse"), math.sqrt(((2 - 4) ** 2 + (6 - 4) ** 2) / 2))
    assert math.isclose(constant_score(regression, "val_mae"), (0.5 + 3.5) / 2)   # the training median is 2.5
    assert constant_score(regression, "val_loss") is None
    assert constant_score(_data("classification", [0, 1, 1, 2], [1, 0, 1, 1]), "val_accuracy") is None   # the pruner's
    assert constant_score(_data("regression", [0.0, 1.0], [1.0, 0.0], folds=5), "val_rmse") is None


def test_the_watch_stops_at_its_epoch_only_when_nothing_beat_the_constant_and_the_loss_is_flat() -> None:
    rmse = resolve_objective("val_rmse", "regression")
    dead = ConstantWatch(1.15, rmse)
    flat = [1.40, 1.33, 1.33, 1.32, 1.33, 1.33]   # epoch 1's loss holds the bias's first steps: epoch 2 on counts
    assert [dead.stop(v, loss) for v, loss in zip([1.17, 1.16, 1.18, 1.151, 1.17, 1.16], flat)] == [False] * 4 + [True, False]
    assert "no better than a constant prediction: best val_rmse 1.151" in dead.reason()
    assert "the training mean scores 1.15" in dead.reason()
    learning = ConstantWatch(1.15, rmse)
    assert not any(learning.stop(v, loss) for v, loss in zip([1.3, 1.2, 1.1, 1.2, 1.2, 1.2], flat))   # beat it
    slow = ConstantWatch(1.15, rmse)   # no better yet, but its training loss falls: still learning
    assert not any(slow.stop(1.2, loss) for loss in [1.4, 1.33, 1.3, 1.27, 1.25, 1.24])
    assert not any(ConstantWatch(1.15, rmse).stop(1.2) for _ in range(EPOCHS + 1))   # no loss reported: never
    assert not any(ConstantWatch(None, rmse).stop(2.0, 1.0) for _ in range(EPOCHS + 1))   # no constant: never
    nan_first = ConstantWatch(1.15, rmse)
    assert [nan_first.stop(v, 1.3) for v in [math.nan, 1.2, 1.2, 1.2, 1.16]][-1] and "best val_rmse 1.16" in nan_first.reason()


def test_the_search_prunes_a_dead_trial_even_before_the_pruners_start_up_trials() -> None:
    from tunecli.search.engines import SearchContext, get_engine
    from tunecli.search.progress import QuietProgress

    space = validate_space({"search": {"trials": 2, "seed": 0}, "space": {"learning_rate": {"float": [1e-3, 1e-1]}}})
    objective = resolve_objective("auto", "regression")
    study = optuna.create_study(direction="minimize")
    data = _data("regression", [0.0, 2.0], [0.0, 2.0])   # the constant (1.0) scores an RMSE of 1.0
    curves = {0: [1.2, 1.1, 1.05, 1.1, 1.0, 0.9], 1: [0.9, 0.5, 0.4, 0.3, 0.3, 0.3]}

    def run_group(configs: list[dict], on_epochs: list, seeds: list) -> list[TrialResult]:
        (hook,) = on_epochs
        curve = curves[len(study.trials) - 1]
        for epoch, value in enumerate(curve):
            if hook(epoch, value, {"loss": 1.0}):   # a training loss that does not fall
                return [TrialResult("PRUNED", min(curve[:epoch + 1]), epoch + 1, 0.1)]
        return [TrialResult("COMPLETE", min(curve), len(curve), 0.1)]

    ctx = SearchContext(space, data, objective, study, QuietProgress(2, 0, "val_rmse", 6))
    ctx.run_group = run_group
    get_engine("optuna").run(ctx)
    first, second = sorted(study.trials, key=lambda t: t.number)
    assert first.state == optuna.trial.TrialState.PRUNED and len(first.intermediate_values) == EPOCHS
    assert first.user_attrs[attrs.FAIL_REASON].startswith("no better than a constant prediction: best val_rmse 1")
    assert second.state == optuna.trial.TrialState.COMPLETE and attrs.FAIL_REASON not in second.user_attrs
