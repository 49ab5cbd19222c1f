from __future__ import annotations

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

from tunecli.config.catalogue import initializer_for, layer_widths, with_defaults  # noqa: E402
from tunecli.trainers.keras.model import build_mlp, keras  # noqa: E402
from tunecli.trainers.keras.optimizers import make_optimizer  # noqa: E402
from tunecli.trainers.keras.schedules import make_schedule, schedule_callbacks  # noqa: E402


def test_layer_widths() -> None:
    assert layer_widths(with_defaults({"n_hidden": 3, "n_neurons": 100})) == [100, 100, 100]
    assert layer_widths(with_defaults({"n_hidden": 4, "n_neurons": 64, "shape": "funnel"})) == [64, 32, 16, 8]
    assert layer_widths(with_defaults({"n_neurons": [30, 20]})) == [30, 20]


@pytest.mark.parametrize("activation,expected", [("relu", "he_normal"), ("mish", "he_normal"),
                                                 ("selu", "lecun_normal"), ("tanh", "glorot_uniform")])
def test_auto_initializer(activation: str, expected: str) -> None:
    assert initializer_for(activation, "auto") == expected
    assert initializer_for(activation, "glorot") == "glorot_uniform"


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "swish",
                                        "mish", "tanh", "sigmoid"])
def test_every_activation_builds_and_predicts(activation: str) -> None:
    model = build_mlp({"activation": activation, "n_hidden": 2, "n_neurons": 8, "dropout": 0.1},
                      n_features=5, task="classification", n_classes=3)
    out = model.predict(np.zeros((4, 5), "float32"), verbose=0)
    assert out.shape == (4, 3)
    np.testing.assert_allclose(out.sum(axis=1), 1, atol=1e-5)


def test_regularizers_batch_norm_and_dropout_layers() -> None:
    model = build_mlp({"n_hidden": 2, "n_neurons": 8, "batch_norm": "before", "dropout": 0.2, "activation": "selu",
                       "max_norm": 1.0, "l2": 0.01}, n_features=3, task="regression")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("BatchNormalization") == 2
    assert kinds.count("AlphaDropout") == 2
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense[0].kernel_constraint is not None and dense[0].kernel_regularizer is not None
    assert model.output_shape == (None, 1)


def test_mc_dropout_stays_on_at_inference() -> None:
    model = build_mlp({"n_hidden": 1, "n_neurons": 64, "dropout": 0.5, "mc_dropout": True},
                      n_features=4, task="regression")
    x = np.ones((1, 4), "float32")
    draws = {float(model(x, training=False)[0, 0]) for _ in range(5)}
    assert len(draws) > 1


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamax", "nadam", "adamw"])
def test_every_optimizer(name: str) -> None:
    optimizer = make_optimizer(with_defaults({"optimizer": name, "clipnorm": 1.0}), 0.01)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    assert optimizer.clipnorm == 1.0


def _lr(schedule, step: int) -> float:
    return float(schedule(step))


def test_schedules_follow_their_formulas() -> None:
    p = with_defaults({"learning_rate": 0.1})
    power = make_schedule({**p, "schedule": "power", "power_steps": 10, "power_c": 1}, steps_per_epoch=10, max_epochs=20)
    assert _lr(power, 100) == pytest.approx(0.1 / 2)
    expo = make_schedule({**p, "schedule": "exponential", "decay_epochs": 10, "decay_rate": 0.1}, 10, 20)
    assert _lr(expo, 100) == pytest.approx(0.01, rel=1e-4)
    piece = make_schedule({**p, "schedule": "piecewise"}, 10, 20)
    assert [_lr(piece, s) for s in (0, 100, 150)] == pytest.approx([0.1, 0.01, 0.001])
    cycle = make_schedule({**p, "schedule": "one_cycle", "cycle_div": 10}, 10, 10)
    assert _lr(cycle, 0) == pytest.approx(0.01)
    assert _lr(cycle, 45) == pytest.approx(0.1, rel=1e-3)
    assert _lr(cycle, 90) == pytest.approx(0.01, rel=1e-3)
    assert _lr(cycle, 100) < 1e-4
    cosine = make_schedule({**p, "schedule": "cosine"}, 10, 10)
    assert _lr(cosine, 100) == pytest.approx(0.0, abs=1e-6)
    assert make_schedule({**p, "schedule": "performance"}, 10, 10) == 0.1
    assert len(schedule_callbacks({**p, "schedule": "performance"}, "val_loss", "min")) == 1
