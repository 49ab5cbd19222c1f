"""What a network costs: parameters, CPU latency, file size (``trainers.footprint``)."""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.trainers import footprint
from tunecli.trainers.footprint import file_size, forward, hidden_layers, measure, network_params

RNG = np.random.default_rng(0)


def arrays(*shapes: tuple[int, ...]) -> list[np.ndarray]:
    return [RNG.normal(size=shape).astype(np.float32) for shape in shapes]


def test_the_forward_pass_is_the_network_in_numpy() -> None:
    w = arrays((3, 4), (4,), (4, 2), (2,))
    x = RNG.normal(size=(5, 3)).astype(np.float32)
    hidden = np.maximum(x @ w[0] + w[1], 0)
    logits = hidden @ w[2] + w[3]
    want = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(forward({"n_hidden": 1, "n_neurons": 4}, w)(x), want, rtol=1e-5)
    regression = arrays((3, 4), (4,), (4, 1), (1,))
    np.testing.assert_allclose(forward({"n_hidden": 1, "n_neurons": 4, "activation": "tanh"}, regression)(x),
                               np.tanh(x @ regression[0] + regression[1]) @ regression[2] + regression[3], rtol=1e-5)


def test_batch_norm_before_the_activation_has_no_bias_and_uses_the_moving_statistics() -> None:
    kernel, gamma, beta, mean, var, out_k, out_b = arrays((3, 4), (4,), (4,), (4,), (4,), (4, 1), (1,))
    var = np.abs(var)
    x = RNG.normal(size=(5, 3)).astype(np.float32)
    normed = (x @ kernel - mean) / np.sqrt(var + 1e-3) * gamma + beta
    want = np.maximum(normed, 0) @ out_k + out_b
    got = forward({"n_hidden": 1, "n_neurons": 4, "batch_norm": "before"}, [kernel, gamma, beta, mean, var, out_k, out_b])
    np.testing.assert_allclose(got(x), want, rtol=1e-4, atol=1e-5)


def test_counts_and_layers() -> None:
    assert network_params({"n_hidden": 2, "n_neurons": 10}, 4, 3) == 4 * 10 + 10 + 10 * 10 + 10 + 10 * 3 + 3
    assert network_params({"n_hidden": 1, "n_neurons": 8, "batch_norm": "before"}, 4, 1) == 4 * 8 + 4 * 8 + 8 + 1
    assert network_params({"n_hidden": 1, "n_neurons": 8, "activation": "prelu"}, 4, 1) == 4 * 8 + 8 + 8 + 8 + 1
    assert hidden_layers(arrays((3, 4), (4,), (4, 4), (4,), (4, 2), (2,))) == 2
    assert file_size({"n_hidden": 2, "n_neurons": 10}, 1000) < file_size({"n_hidden": 2, "n_neurons": 10}, 2000)


def test_measure_times_the_weights_or_counts_the_configuration() -> None:
    config = {"n_hidden": 1, "n_neurons": 4}
    found = measure(config, arrays((3, 4), (4,), (4, 2), (2,)), 3, 2)
    assert found.params == 3 * 4 + 4 + 4 * 2 + 2 and found.latency_ms > 0 and found.latency_iqr_ms >= 0
    assert found.size_bytes == file_size(config, found.params)
    untrained = measure(config, None, 3, 2)
    assert untrained.params == found.params and untrained.latency_ms is None


@pytest.mark.slow  # imports Keras and saves models
@pytest.mark.parametrize("config,n_features,n_classes", [
    ({"n_hidden": 1, "n_neurons": 8}, 4, 3),
    ({"n_hidden": 3, "n_neurons": 64, "shape": "funnel", "activation": "gelu"}, 64, 10),
    ({"n_hidden": 3, "n_neurons": 32, "batch_norm": "before", "activation": "prelu"}, 64, 10),
    ({"n_hidden": 2, "n_neurons": 128, "dropout": 0.2, "batch_norm": "after", "activation": "selu"}, 20, 0),
    ({"n_hidden": 2, "n_neurons": 16, "activation": "mish"}, 8, 2),
])
def test_the_numbers_are_those_of_the_keras_model(config: dict, n_features: int, n_classes: int, tmp_path) -> None:
    from tunecli.runtime import init_backend

    init_backend(None)
    from tunecli.trainers.keras.model import build_mlp

    task = "classification" if n_classes else "regression"
    model = build_mlp(config, n_features, task, n_classes)
    weights = model.get_weights()
    for i, w in enumerate(weights):   # moving variances must stay positive; the rest may be anything
        weights[i] = np.abs(w) + 0.5 if w.ndim == 1 else w
    model.set_weights(weights)
    assert network_params(config, n_features, n_classes or 1) == model.count_params()
    x = RNG.normal(size=(16, n_features)).astype(np.float32)
    np.testing.assert_allclose(forward(config, weights)(x), model.predict(x, verbose=0), rtol=1e-3, atol=1e-4)
    model.save(tmp_path / "m.keras")
    real = (tmp_path / "m.keras").stat().st_size
    assert abs(measure(config, weights, n_features, n_classes or 1).size_bytes - real) < 0.05 * real


def test_timing_uses_the_stated_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    median, spread = footprint.latency(lambda x: seen.append(x.shape), 7)
    assert set(seen) == {(footprint.ROWS, 7)} and len(seen) == footprint.WARMUP + footprint.REPEATS
    assert median >= 0 and spread >= 0


def test_a_slow_network_is_timed_fewer_times_within_the_budget() -> None:
    import time

    calls = []
    footprint.latency(lambda x: (calls.append(1), time.sleep(footprint.BUDGET_MS / 4e3)), 3)
    assert len(calls) == footprint.WARMUP + footprint.MIN_REPEATS
