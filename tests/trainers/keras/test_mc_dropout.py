"""MC dropout done right: only dropout is stochastic; batch norm stays in inference mode."""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

from tunecli.trainers.keras.fit import mc_scores  # noqa: E402
from tunecli.trainers.keras.model import build_mlp, keras, predict_mc, uses_mc_dropout  # noqa: E402


def _bn_model():  # noqa: ANN202
    keras.utils.set_random_seed(0)
    return build_mlp({"n_hidden": 2, "n_neurons": 16, "batch_norm": "before", "dropout": 0.3, "mc_dropout": True},
                     n_features=4, task="classification", n_classes=3)


def _moving(model) -> list[np.ndarray]:  # noqa: ANN001
    return [np.array(v) for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
            for v in (layer.moving_mean, layer.moving_variance)]


def test_predict_mc_keeps_batch_norm_statistics_and_varies_only_by_dropout() -> None:
    model = _bn_model()
    x = np.random.default_rng(0).normal(3.0, 2.0, (64, 4)).astype("float32")
    before = _moving(model)
    passes = predict_mc(model, x, 5)
    assert passes.shape == (5, 64, 3)
    assert all(np.array_equal(a, b) for a, b in zip(before, _moving(model)))   # untouched
    assert not np.allclose(passes[0], passes[1])                                  # dropout is on
    model(x, training=True)                                                       # what train used to do
    assert not all(np.array_equal(a, b) for a, b in zip(before, _moving(model)))


def test_predict_mc_with_a_seed_applies_the_same_fixed_masks_to_every_row_and_every_call() -> None:
    from tunecli.trainers.keras.model import MASK_SEED, dropout_masks

    model = _bn_model()
    x = np.repeat(np.random.default_rng(0).normal(size=(1, 4)), 8, axis=0).astype("float32")  # 8 identical rows
    passes = predict_mc(model, x, 5, seed=MASK_SEED)
    np.testing.assert_array_equal(passes, predict_mc(model, x, 5, seed=MASK_SEED, batch_size=3))
    np.testing.assert_allclose(passes, np.repeat(passes[:, :1], 8, axis=1), atol=1e-6)  # one mask for all rows
    assert not np.allclose(passes[0], passes[1])                                           # another per pass
    masks = dropout_masks(model, 5, MASK_SEED)  # two hidden layers, one dropout after each
    assert len(masks) == 2 and all(scale.shape == (5, 1, 16) and not shift.any() for scale, shift in masks)
    assert set(np.unique(masks[0][0])) == {0.0, np.float32(1 / 0.7)}


def test_mc_scores_of_a_mean_prediction() -> None:
    probs = np.array([[0.8, 0.2], [0.4, 0.6], [0.7, 0.3]])
    y = np.array([0, 1, 1])
    scores = mc_scores(probs, y, "classification", "auto")
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["loss"] == pytest.approx(-np.mean(np.log([0.8, 0.6, 0.3])))
    reg = mc_scores(np.array([[1.0], [2.0]]), np.array([0.0, 2.0]), "regression", "mse")
    assert reg == pytest.approx({"loss": 0.5, "rmse": np.sqrt(0.5), "mae": 0.5})
    assert uses_mc_dropout({"mc_dropout": True, "dropout": 0.2}) and not uses_mc_dropout({"mc_dropout": True})


@pytest.mark.slow  # trains Keras models for several epochs
def test_a_keras_trial_with_mc_dropout_is_scored_on_the_mc_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    import tunecli.trainers.keras.model as model_module
    from tunecli.config.objective import resolve_objective
    from tunecli.config.space import DataSpec, Training
    from tunecli.data import load_data
    from tunecli.trial import run_trial

    calls, means = [], []
    original = model_module.predict_mc

    def spy(model, x, passes, batch_size=2048):  # noqa: ANN001, ANN202
        out = original(model, x, passes, batch_size)
        calls.append(passes)
        means.append(out.mean(axis=0))
        return out

    monkeypatch.setattr(model_module, "predict_mc", spy)
    data = load_data(DataSpec(source="iris"))
    params = {"n_hidden": 1, "n_neurons": 16, "dropout": 0.3, "mc_dropout": True, "learning_rate": 0.01}
    result = run_trial(params, data, Training(max_epochs=2, trainer="keras", mc_passes=4),
                       resolve_objective("auto", data.task), seed=0)
    assert result.state == "COMPLETE"
    assert calls == [4] * result.epochs                       # every epoch scored on 4 passes
    expected = [mc_scores(m, data.y_val, "classification", "auto")["accuracy"] for m in means]
    assert result.history["val_accuracy"] == pytest.approx(expected)
