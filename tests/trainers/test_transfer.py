"""Reusing pretrained layers on both trainers: the plan, frozen layers that stay the base's, unfreezing,
new layers and a new output layer, kept weights that load into ``build_mlp``, and the trial's records."""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

pytest.importorskip("jax")

from tests.trainers.transfer_data import N_FEATURES, random_base, tiny  # noqa: E402
from tunecli.config.catalogue import with_defaults  # noqa: E402
from tunecli.config.objective import resolve_objective  # noqa: E402
from tunecli.config.space import Training  # noqa: E402
from tunecli.data import BaseLayer, BaseNetwork  # noqa: E402
from tunecli.studies import attrs  # noqa: E402
from tunecli.trainers import fast  # noqa: E402
from tunecli.trainers.keras.fit import fit as keras_fit  # noqa: E402
from tunecli.trainers.keras.model import build_mlp  # noqa: E402
from tunecli.trainers.keras.weights import keras_weights  # noqa: E402
from tunecli.trainers.transfer import phases, plan  # noqa: E402
from tunecli.trial import run_trial  # noqa: E402

TRAINERS = ["jax", "keras"]
#: The same, with the Keras trainer marked slow (it trains Keras models for several epochs).
TRAINERS_SLOW_KERAS = ["jax", pytest.param("keras", marks=pytest.mark.slow)]
PARAMS = {"n_hidden": 3, "n_neurons": 12, "learning_rate": 0.01, "batch_size": 32}


def _fit(trainer: str, params: dict, data, epochs: int, **kwargs):
    """Train without early stopping; the weights handed back are the last epoch's (Keras' list)."""
    training = Training(max_epochs=epochs, early_stopping={"enabled": False, "restore_best_weights": False})
    fit = fast.fit if trainer == "jax" else keras_fit
    fitted = fit(with_defaults(params), data, training, resolve_objective("auto", data.task), seed=1, **kwargs)
    assert fitted.trainer == trainer
    return fitted, keras_weights(fitted.weights)


# -- the plan -----------------------------------------------------------------------------------------------


def test_plan_puts_the_base_widths_first_and_the_space_after() -> None:
    base = random_base((10, 7), activation="elu")
    p, reused = plan(with_defaults({"n_hidden": 4, "n_neurons": 32, "shape": "funnel", "activation": "relu"}), base)
    assert p["n_neurons"] == [10, 7, 8, 8] and p["n_hidden"] == 4 and p["activation"] == "elu"  # funnel: 32/4, 32/8
    assert reused == base.layers
    assert plan(p, base) == (p, reused)  # idempotent: the trainers plan again
    p, reused = plan(with_defaults({"n_hidden": 1, "n_neurons": 16, "reuse_layers": 1}), base)
    assert p["n_neurons"] == [10] and len(reused) == 1  # n_hidden raised to the reused count
    p, _ = plan(with_defaults({"n_neurons": [40, 30, 20]}), base)
    assert p["n_neurons"] == [10, 7, 20]
    plain = with_defaults({})
    assert plan(plain, None) == (plain, ())


@pytest.mark.parametrize(("params", "n_features", "match"), [
    ({"reuse_layers": 3}, None, "has 2 hidden layers"), ({}, N_FEATURES + 1, "takes 6 features"),
    ({"freeze_epochs": -1}, None, "freeze_epochs"), ({"fine_tune_lr_factor": 0.0}, None, "fine_tune_lr_factor")])
def test_plan_refuses_what_cannot_be_trained(params: dict, n_features: int | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        plan(with_defaults(params), random_base(), n_features)


def test_phases() -> None:
    base = random_base()
    assert phases(with_defaults({"freeze_epochs": 2, "fine_tune_lr_factor": 0.1}), base, 4).unfreeze_at(4) == 2
    assert phases(with_defaults({"freeze_epochs": 9}), base, 4).unfreeze_at(4) is None  # frozen all along
    assert phases(with_defaults({"freeze_epochs": 0}), base, 4).unfreeze_at(4) is None  # never frozen
    assert phases(with_defaults({"freeze_epochs": 3}), None, 4).reused == 0


# -- both trainers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trainer", TRAINERS_SLOW_KERAS)
def test_frozen_layers_stay_the_base_and_the_rest_learns(trainer: str) -> None:
    """Frozen all along (freeze_epochs >= max_epochs), with max-norm and L2 on: the reused kernels and biases
    are the base's exactly; the new hidden layer and the new output layer (3 classes) change."""
    base = random_base()
    data = tiny(base=base)
    params = {**PARAMS, "freeze_epochs": 5, "max_norm": 0.5, "l2": 1e-3}
    weights = {epochs: _fit(trainer, params, data, epochs)[1] for epochs in (1, 3)}
    for w in weights.values():
        assert [a.shape for a in w] == [(6, 10), (10,), (10, 7), (7,), (7, 12), (12,), (12, 3), (3,)]
        for i, layer in enumerate(base.layers):
            np.testing.assert_array_equal(w[2 * i], layer.kernel)
            np.testing.assert_array_equal(w[2 * i + 1], layer.bias)
    for i in (4, 5, 6, 7):  # the new hidden layer and the output layer trained on
        assert not np.allclose(weights[1][i], weights[3][i])


@pytest.mark.parametrize("trainer", TRAINERS_SLOW_KERAS)
def test_reused_layers_unfreeze_after_freeze_epochs(trainer: str) -> None:
    base = random_base()
    data = tiny(base=base)
    params = {**PARAMS, "freeze_epochs": 2, "fine_tune_lr_factor": 0.5, "schedule": "cosine"}
    _, two = _fit(trainer, params, data, 2)
    fitted, four = _fit(trainer, params, data, 4)
    assert len(fitted.history["loss"]) == 4  # one curve over both phases
    np.testing.assert_array_equal(two[0], base.layers[0].kernel)
    np.testing.assert_array_equal(two[3], base.layers[1].bias)
    assert not np.allclose(four[0], base.layers[0].kernel) and not np.allclose(four[3], base.layers[1].bias)
    assert not np.allclose(two[4], four[4])


@pytest.mark.parametrize("trainer", TRAINERS_SLOW_KERAS)
def test_batch_norm_before_drops_the_base_bias(trainer: str) -> None:
    base = random_base()
    _, w = _fit(trainer, {**PARAMS, "batch_norm": "before", "freeze_epochs": 3}, tiny(base=base), 2)
    np.testing.assert_array_equal(w[0], base.layers[0].kernel)
    assert w[1].shape == (10,) and not np.array_equal(w[1], base.layers[0].bias)  # batch norm's gamma, not a bias


@pytest.mark.parametrize("trainer", TRAINERS_SLOW_KERAS)
def test_pruning_in_the_frozen_phase_ends_the_trial(trainer: str) -> None:
    data = tiny(base=random_base())
    fitted, w = _fit(trainer, {**PARAMS, "freeze_epochs": 2}, data, 4, on_epoch=lambda epoch, value, logs: epoch == 1)
    assert fitted.pruned and len(fitted.history["loss"]) == 1
    np.testing.assert_array_equal(w[0], data.base.layers[0].kernel)


@pytest.mark.parametrize("trainer", TRAINERS_SLOW_KERAS)
def test_kept_weights_load_into_build_mlp(trainer: str) -> None:
    """The trial's weights predict in the ``build_mlp`` model of the planned configuration what training saw."""
    data = tiny(base=random_base())
    params = with_defaults({**PARAMS, "freeze_epochs": 1, "fine_tune_lr_factor": 0.3})
    training = Training(max_epochs=3, early_stopping={"restore_best_weights": False})
    objective = resolve_objective("auto", data.task)
    if trainer == "jax":
        fitted = fast.fit(params, data, training, objective, seed=2)
    else:
        fitted = keras_fit(params, data, training, objective, seed=2, keep_model=True)
    model = build_mlp(plan(params, data.base)[0], data.n_features, data.task, data.n_classes)
    model.set_weights(keras_weights(fitted.weights))
    probs = model.predict(data.x_val, verbose=0)
    if trainer == "keras":
        np.testing.assert_allclose(probs, fitted.model.predict(data.x_val, verbose=0), atol=1e-6)
    loss = -np.log(probs[np.arange(len(data.y_val)), data.y_val]).mean()
    assert loss == pytest.approx(fitted.history["val_loss"][-1], rel=1e-4)


def _good_base() -> BaseNetwork:
    """The hidden layers of a network trained on a 2-class version of the task (class 2 or not)."""
    data = tiny(n_classes=3)
    data.y_train, data.y_val, data.n_classes = (data.y_train == 2).astype("int64"), (data.y_val == 2).astype("int64"), 2
    fitted, w = _fit("jax", {"n_hidden": 2, "n_neurons": 16, "learning_rate": 0.01}, data, 8)
    assert fitted.history["val_accuracy"][-1] > 0.8
    return BaseNetwork(N_FEATURES, (BaseLayer(w[0], w[1], "relu"), BaseLayer(w[2], w[3], "relu")), "2-class model")


@pytest.mark.slow  # trains Keras models for several epochs
def test_fast_and_keras_agree_from_a_good_base() -> None:
    """Frozen all along (only the new output layer, of 3 classes, learns): both trainers score alike."""
    base = _good_base()
    data = tiny(n_classes=3, base=base)
    scores = {}
    for trainer in TRAINERS:
        fitted, w = _fit(trainer, {"n_hidden": 2, "learning_rate": 0.01, "freeze_epochs": 6}, data, 6)
        np.testing.assert_array_equal(w[2], base.layers[1].kernel)
        scores[trainer] = fitted.history["val_accuracy"][-1]
    assert min(scores.values()) > 0.6 and abs(scores["jax"] - scores["keras"]) < 0.1, scores


# -- trials -----------------------------------------------------------------------------------------------


def test_trial_records_what_it_reused_and_froze() -> None:
    base = random_base()
    data = tiny(base=base)
    objective = resolve_objective("auto", data.task)
    result = run_trial({**PARAMS, "freeze_epochs": 5, "reuse_layers": 1}, data, Training(max_epochs=2), objective,
                       seed=0)
    assert result.state == "COMPLETE" and result.extras[attrs.TRAINER] == "jax"
    assert result.extras[attrs.REUSED_LAYERS] == 1 and result.extras[attrs.FROZEN_EPOCHS] == 2
    assert result.extras[attrs.BASE] == "random test base" and result.extras[attrs.TRANSFER_WIDTHS] == [10, 12, 12]
    too_many = run_trial({**PARAMS, "reuse_layers": 3}, data, Training(max_epochs=2), objective, seed=0)
    assert too_many.state == "FAIL" and "reuse_layers" in too_many.reason
    plain = run_trial(PARAMS, tiny(), Training(max_epochs=2), objective, seed=0)
    assert attrs.REUSED_LAYERS not in plain.extras


def test_keras_callbacks_carry_over_the_two_fits() -> None:
    """Early stopping and reduce-on-plateau count across the unfreezing, as the fast trainer's do."""
    from tunecli.trainers.keras.fit import TrialEarlyStopping
    from tunecli.trainers.keras.schedules import schedule_callbacks

    plateau = schedule_callbacks(with_defaults({"schedule": "performance"}), "val_loss", "min")[0]
    for callback in (TrialEarlyStopping(monitor="val_loss", patience=3), plateau):
        callback.on_train_begin()
        callback.wait, callback.best = 2, 0.5
        callback.on_train_begin()
        assert (callback.wait, callback.best) == (2, 0.5)


@pytest.mark.slow  # trains Keras models for several epochs
def test_keras_kept_model_holds_the_best_weights_after_both_phases() -> None:
    data = tiny(base=random_base())
    params = with_defaults({**PARAMS, "freeze_epochs": 2, "fine_tune_lr_factor": 0.5})
    fitted = keras_fit(params, data, Training(max_epochs=4), resolve_objective("auto", data.task), seed=0,
                       keep_model=True)
    assert len(fitted.history["loss"]) == 4
    for mine, want in zip(fitted.model.get_weights(), fitted.weights):
        np.testing.assert_array_equal(mine, want)


def test_keras_models_start_from_the_base_for_the_lr_ramp_too() -> None:
    """``build_compiled`` (trials, the Keras LR ramp) loads the reused layers, frozen when the trial starts so."""
    from tunecli.trainers.keras.fit import build_compiled

    base = random_base()
    for freeze_epochs, trainable in ((2, False), (0, True)):
        model = build_compiled(with_defaults({**PARAMS, "freeze_epochs": freeze_epochs}), tiny(base=base),
                               steps_per_epoch=1, max_epochs=1, steps_per_execution=1, seed=0)
        dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
        np.testing.assert_array_equal(dense[1].get_weights()[0], base.layers[1].kernel)
        assert [layer.trainable for layer in dense] == [trainable, trainable, True, True]
