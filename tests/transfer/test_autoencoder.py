"""Unsupervised pretraining: an autoencoder's encoder as the base network trials start from."""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

from tests.trainers.transfer_data import tiny  # noqa: E402
from tunecli.config.objective import resolve_objective  # noqa: E402
from tunecli.config.space import Training  # noqa: E402
from tunecli.studies import attrs  # noqa: E402
from tunecli.transfer.autoencoder import fit_autoencoder, train_autoencoder  # noqa: E402
from tunecli.transfer.base_model import PRETRAINED  # noqa: E402
from tunecli.trial import run_trial  # noqa: E402


@pytest.mark.slow  # trains Keras models for several epochs
def test_the_autoencoder_learns_and_keeps_its_encoder() -> None:
    x = tiny(rows=300).x_train
    found = fit_autoencoder(x, [12, 4], "elu", epochs=4, seed=0, batch_size=32)
    assert len(found.losses) == 4 and found.losses[-1] < found.losses[0]
    base = found.base
    assert base.source == PRETRAINED and base.n_features == x.shape[1] and base.activation == "elu"
    assert [layer.kernel.shape for layer in base.layers] == [(6, 12), (12, 4)]
    assert [layer.width for layer in base.layers] == [12, 4] and base.layers[1].bias.shape == (4,)
    again = train_autoencoder(x, [12, 4], "elu", epochs=4, seed=0, batch_size=32)
    np.testing.assert_array_equal(again.layers[0].kernel, base.layers[0].kernel)  # seeded


@pytest.mark.slow  # trains Keras models for several epochs
def test_a_trial_starts_from_the_pretrained_encoder() -> None:
    data = tiny(rows=200)
    data.base = train_autoencoder(data.x_train, [16], "relu", epochs=2, seed=0)
    result = run_trial({"n_hidden": 2, "n_neurons": 8, "freeze_epochs": 1, "learning_rate": 0.01}, data,
                       Training(max_epochs=2), resolve_objective("auto", data.task), seed=0)
    assert result.state == "COMPLETE" and result.extras[attrs.BASE] == PRETRAINED
    assert result.extras[attrs.TRANSFER_WIDTHS] == [16, 8] and result.extras[attrs.FROZEN_EPOCHS] == 1


def test_the_autoencoder_needs_widths() -> None:
    with pytest.raises(ValueError, match="hidden width"):
        fit_autoencoder(np.zeros((4, 3), np.float32), [], "relu", epochs=1, seed=0)
