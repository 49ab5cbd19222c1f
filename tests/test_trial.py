from __future__ import annotations

import pytest

from tunecli.runtime import init_backend

init_backend(None)

from tunecli.config.objective import resolve_objective  # noqa: E402
from tunecli.config.space import DataSpec, Training  # noqa: E402
from tunecli.data import load_data  # noqa: E402
from tunecli.studies import attrs  # noqa: E402
from tunecli.trial import run_trial  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    return load_data(DataSpec(source="iris"))


@pytest.fixture(params=["auto", "keras"])
def trainer(request) -> str:
    """Every behaviour below holds for the fast JAX trainer and for Keras' fit."""
    return request.param


def test_trial_completes_and_reports_each_epoch(iris, trainer) -> None:
    seen = []
    result = run_trial({"n_neurons": 8}, iris, Training(max_epochs=2, trainer=trainer),
                       resolve_objective("auto", iris.task),
                       on_epoch=lambda e, v, logs: seen.append((e, v)) or False, seed=0)
    assert result.state == "COMPLETE"
    assert result.epochs == 2 and [e for e, _ in seen] == [1, 2]
    assert result.value == max(v for _, v in seen)
    assert "val_accuracy" in result.history
    assert result.extras[attrs.TRAINER] == ("jax" if trainer == "auto" else "keras")


def test_pruned_trial_stops_at_once(iris, trainer) -> None:
    result = run_trial({}, iris, Training(max_epochs=5, trainer=trainer), resolve_objective("auto", iris.task),
                       on_epoch=lambda e, v, logs: True)
    assert result.state == "PRUNED" and result.epochs == 1


def test_nan_loss_fails_the_trial_with_its_reason(iris, trainer) -> None:
    result = run_trial({"optimizer": "sgd", "learning_rate": 1e4, "activation": "elu", "n_neurons": 64}, iris,
                       Training(max_epochs=5, trainer=trainer), resolve_objective("val_loss", iris.task), seed=0)
    assert result.state == "FAIL"
    assert "loss became" in result.reason


def test_rejected_combination_fails_the_trial(iris, trainer) -> None:
    result = run_trial({"clipnorm": 1.0, "clipvalue": 1.0}, iris, Training(max_epochs=1, trainer=trainer),
                       resolve_objective("auto", iris.task))
    assert result.state == "FAIL" and "clip" in result.reason


def test_regression_metrics(trainer) -> None:
    data = load_data(DataSpec(source="diabetes"))
    result = run_trial({"learning_rate": 0.01}, data, Training(max_epochs=1, trainer=trainer),
                       resolve_objective("auto", data.task))
    assert result.state == "COMPLETE" and "val_rmse" in result.history and result.value > 0


def test_restore_best_weights_false_scores_the_last_epoch() -> None:
    from tunecli.config.objective import Objective
    from tunecli.trainers import Fitted
    from tunecli.trial import result_of

    hist = {"loss": [1.0, 0.8, 0.7], "val_accuracy": [0.80, 0.90, 0.85]}
    fitted = Fitted(hist, False, None, 0.1, 0.3, "jax")
    objective = Objective("val_accuracy", "maximize")
    best = result_of(fitted, objective, 1.0)
    last = result_of(fitted, objective, 1.0, restore_best=False)
    assert (best.value, best.best_epoch) == (0.90, 2)
    assert (last.value, last.best_epoch) == (0.85, 3)
