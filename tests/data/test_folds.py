"""Cross-validation (``data.cv``): the folds, and a configuration scored by the mean over them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunecli.config.objective import resolve_objective
from tunecli.config.space import DataSpec, Training, validate_space
from tunecli.data import Dataset, load_data
from tunecli.data.folds import fold_sets, pooled_rows
from tunecli.errors import SpaceError
from tunecli.studies import attrs


def test_folds_cover_the_pool_once_train_on_equal_rows_and_keep_the_test_rows_out() -> None:
    data = load_data(DataSpec(source="iris", cv=4, seed=3))
    folds = fold_sets(data)
    assert len(folds) == 4 and len({len(f.x_train) for f in folds}) == 1
    pool = len(data.x_train) + len(data.x_val)
    assert sum(len(f.x_val) for f in folds) == pool == pooled_rows(data)
    assert len(folds[0].x_train) >= pool - max(len(f.x_val) for f in folds) - 1
    seen = np.concatenate([f.x_val for f in folds])
    assert len(np.unique(seen, axis=0)) == len(np.unique(np.concatenate([data.x_train, data.x_val]), axis=0))
    for f in folds:   # stratified: every class in every validation fold
        assert set(np.unique(f.y_val)) == set(np.unique(data.y_train))
    assert not any((data.x_test[:, None] == f.x_val[None]).all(-1).any() for f in folds[:1]) or len(data.x_test) == 0
    assert [len(f.x_val) for f in fold_sets(data)] == [len(f.x_val) for f in folds]   # same seed, same folds


def test_cv_is_checked_where_it_is_read() -> None:
    with pytest.raises(SpaceError, match="data.cv"):
        validate_space({"data": {"source": "iris", "cv": 1}})
    assert validate_space({"data": {"source": "iris", "cv": 5}}).data.cv == 5


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_configuration_scores_the_mean_of_its_folds_each_as_trained_alone(task: str) -> None:
    pytest.importorskip("jax")
    from tunecli.trial import FOLD_STRIDE, run_group, run_trial

    source = "iris" if task == "classification" else "diabetes"
    data = load_data(DataSpec(source=source, cv=3, seed=0))
    training = Training(max_epochs=4)
    objective = resolve_objective("auto", data.task)
    configs = [{"n_hidden": 1, "n_neurons": 16, "learning_rate": lr, "batch_size": 32} for lr in (1e-2, 3e-2)]
    results = run_group(configs, data, training, objective, seeds=[5, 6])
    for config, seed, result in zip(configs, (5, 6), results):
        assert result.state == "COMPLETE" and result.extras[attrs.CV_FOLDS] == 3
        assert result.value == pytest.approx(np.mean(result.extras[attrs.CV_VALUES]))
        spread = np.std(result.extras[attrs.CV_VALUES], ddof=1) / math.sqrt(3)
        assert result.extras[attrs.CV_SE] == pytest.approx(spread, abs=1e-6)
        alone = [run_trial(config, data, training, objective, seed=seed + FOLD_STRIDE * j, x=f.x_train, y=f.y_train,
                           validation=(f.x_val, f.y_val)) for j, f in enumerate(fold_sets(data))]
        np.testing.assert_allclose(result.extras[attrs.CV_VALUES], [a.value for a in alone], rtol=1e-4, atol=1e-5)
        assert result.extras[attrs.MEMBERS] == 6   # both configurations' folds in one program


def test_the_pruner_sees_the_mean_of_the_folds_and_stops_them_together() -> None:
    pytest.importorskip("jax")
    from tunecli.trial import run_group

    data = load_data(DataSpec(source="iris", cv=3, seed=0))
    objective = resolve_objective("auto", data.task)
    heard: list[tuple[int, int, float]] = []

    def hook(i: int):
        def on_epoch(epoch: int, value: float, logs: dict) -> bool:
            heard.append((i, epoch, value))
            return i == 0 and epoch == 2
        return on_epoch

    results = run_group([{"n_hidden": 1, "learning_rate": 1e-2}, {"n_hidden": 1, "learning_rate": 2e-2}], data,
                        Training(max_epochs=6, early_stopping={"enabled": False}), objective,
                        on_epochs=[hook(0), hook(1)], seeds=[1, 2])
    assert results[0].state == "PRUNED" and results[0].epochs == 2
    assert results[1].state == "COMPLETE" and results[1].epochs == 6
    assert [e for i, e, _ in heard if i == 0] == [1, 2] and [e for i, e, _ in heard if i == 1] == list(range(1, 7))
    assert all(0.0 <= v <= 1.0 for _, _, v in heard)


def test_without_cv_the_dataset_has_no_folds() -> None:
    data = load_data(DataSpec(source="iris"))
    assert isinstance(data, Dataset) and data.folds == 0 and pooled_rows(data) == len(data.x_val)
