"""``tunecli train``'s core: a fixed configuration refitted on train + validation, scored once on the test split."""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

from tunecli.config.space import validate_space  # noqa: E402
from tunecli.errors import SpaceError, TuneCliError  # noqa: E402
from tunecli.train import fixed_params, score, train_best  # noqa: E402
from tunecli.trainers.keras.model import keras  # noqa: E402 - imported here, not inside the first test

FIXED = {"study": "best", "data": {"source": "iris"}, "training": {"max_epochs": 3},
         "space": {"n_hidden": 1, "n_neurons": 8, "learning_rate": 0.01, "activation": "elu"},
         "origin": {"study": "tiny", "trial": 3, "objective": "val_accuracy", "value": 0.9}}


def test_fixed_params_returns_the_values() -> None:
    assert fixed_params(validate_space(FIXED)) == {"n_hidden": 1, "n_neurons": 8, "learning_rate": 0.01,
                                                   "activation": "elu"}


def test_fixed_params_names_every_varying_parameter() -> None:
    raw = {**FIXED, "space": {**FIXED["space"], "n_hidden": {"int": [1, 3]}, "activation": {"choice": ["elu", "relu"]}}}
    with pytest.raises(SpaceError, match="these still vary: n_hidden, activation") as info:
        fixed_params(validate_space(raw, source="best.yaml"))
    assert info.value.source == "best.yaml" and info.value.field == "space" and "report --export" in info.value.message


def test_score_accuracy_from_class_probabilities() -> None:
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    assert score("val_accuracy", np.array([0, 1, 2, 2]), probs) == pytest.approx(0.75)


@pytest.mark.parametrize("metric,expected", [("val_rmse", np.sqrt((1 + 4 + 0) / 3)), ("val_mae", 1.0), ("rmse", np.sqrt(5 / 3))])
def test_score_regression(metric: str, expected: float) -> None:
    y_true = np.array([1.0, 2.0, 3.0])
    y_pred = np.array([[2.0], [0.0], [3.0]])  # a Keras regression model predicts one column
    assert score(metric, y_true, y_pred) == pytest.approx(expected)


def test_train_best_saves_a_model_that_reloads(tmp_path) -> None:
    outcome = train_best(validate_space(FIXED), output=tmp_path / "out" / "model", epochs=1)
    assert outcome.metric == "accuracy" and 0.0 <= outcome.test_score <= 1.0
    assert outcome.search_score == 0.9  # the origin's objective is the metric scored
    assert outcome.epochs == 1 and outcome.seconds > 0 and outcome.mc_passes == 0
    assert outcome.model_path == tmp_path / "out" / "model.keras" and outcome.model_path.is_file()
    model = keras.models.load_model(outcome.model_path)
    assert model.input_shape == (None, 4) and model.output_shape == (None, 3)
    assert outcome.summary()["model_path"] == str(outcome.model_path)


def test_train_best_refuses_an_empty_test_split(tmp_path) -> None:
    raw = {**FIXED, "data": {"source": "iris", "test": 0}}
    with pytest.raises(SpaceError, match="no test split to score on") as info:
        train_best(validate_space(raw), output=tmp_path / "m.keras", epochs=1)
    assert info.value.field == "data.test"
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written


def test_train_best_refuses_a_varying_space_before_loading_data() -> None:
    raw = {**FIXED, "data": {"source": "no-such-file.csv"}, "space": {"n_hidden": {"int": [1, 2]}}}
    with pytest.raises(SpaceError, match="still vary: n_hidden"):
        train_best(validate_space(raw), output=None)


def test_mc_dropout_needs_dropout() -> None:
    with pytest.raises(SpaceError, match="needs a model with dropout") as info:
        train_best(validate_space(FIXED), output=None, epochs=1, mc_dropout=3)
    assert info.value.field == "space.dropout"


def test_mc_dropout_reports_mean_and_spread_and_no_search_score_for_another_metric() -> None:
    raw = {**FIXED, "space": {**FIXED["space"], "dropout": 0.3}, "origin": {**FIXED["origin"], "objective": "val_loss"}}
    outcome = train_best(validate_space(raw), output=None, epochs=1, mc_dropout=3)
    assert outcome.mc_passes == 3 and 0.0 <= outcome.mc_mean <= 1.0 and outcome.mc_std >= 0.0
    assert outcome.search_score is None and outcome.model_path is None


def test_an_unwritable_output_is_refused_before_training(tmp_path, monkeypatch) -> None:
    from tunecli.train import refit

    (tmp_path / "afile").write_text("")
    monkeypatch.setattr(refit, "fit", lambda *a, **k: pytest.fail("trained before checking --output"))
    with pytest.raises(TuneCliError, match="cannot write the model here") as info:
        train_best(validate_space(FIXED), output=tmp_path / "afile" / "m.keras", epochs=1)
    assert info.value.field == "--output"


def test_the_refit_replays_the_searchs_plateau_cuts(tmp_path) -> None:
    from tunecli.config.objective import Objective
    from tunecli.studies.results import fixed_space
    from tunecli.trainers.fast.stopping import plateau_drops
    from tunecli.trainers.keras.schedules import ReplayDrops

    objective = Objective("val_accuracy", "maximize")
    curve = [0.5, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7]
    assert plateau_drops(curve, objective, 0.5, 2) == [4, 7]
    row = {"number": 3, "value": 0.7, "best_epoch": 5, "epochs": 8, "curve": {"val_accuracy": curve},
           "params": {"schedule": "performance", "plateau_factor": 0.5, "plateau_patience": 2, "learning_rate": 0.1}}
    out = fixed_space({"space": {}}, row, "s", "val_accuracy")
    assert out["training"]["refit_lr_drops"] == [4] and out["training"]["refit_epochs"] == 5
    space = validate_space({**out, "data": {"source": "iris"}})
    assert space.training.refit_lr_drops == [4]
    seen = []

    class Spy(ReplayDrops):
        def on_epoch_end(self, epoch, logs=None):  # noqa: ANN001, ANN201
            super().on_epoch_end(epoch, logs)
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    import tunecli.trainers.keras.schedules as schedules

    original = schedules.ReplayDrops
    schedules.ReplayDrops = Spy
    try:
        train_best(space, output=None, epochs=5)
    finally:
        schedules.ReplayDrops = original
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05])
