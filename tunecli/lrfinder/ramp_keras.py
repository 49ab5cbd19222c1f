"""The LR range test on Keras' ``fit``: one optimizer step per learning rate of the ramp, for the configurations
the fast trainer does not cover (and to check the fast ramp against)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tunecli.lrfinder.rules import steps_per_pass

if TYPE_CHECKING:
    import numpy as np

    from tunecli.data import Dataset


def keras_ramp(p: dict[str, Any], dataset: Dataset, lrs: np.ndarray, *, seed: int | None, stop: Any,
               shuffle: bool = True, model: Any = None) -> list[float]:
    """The ramp on Keras' ``fit``: the loss of each batch (``model``: start from this compiled model)."""
    from tunecli.trainers.keras.fit import build_compiled
    from tunecli.trainers.keras.model import keras

    batch = int(p["batch_size"])
    per_pass = steps_per_pass(len(dataset.x_train), batch)
    if model is None:
        model = build_compiled(p, dataset, steps_per_epoch=per_pass, max_epochs=1, steps_per_execution=1, seed=seed)

    class Ramp(keras.callbacks.Callback):
        """Sets each step's LR and recovers its batch loss from Keras' running mean over the epoch
        (``k * mean_k - (k - 1) * mean_{k-1}``); stops at the ramp's end or when the loss explodes."""

        def __init__(self) -> None:
            super().__init__()
            self.losses: list[float] = []
            self.mean = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.mean = 0.0

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            self.model.optimizer.learning_rate.assign(float(lrs[min(len(self.losses), len(lrs) - 1)]))

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            mean = float((logs or {}).get("loss", math.nan))
            self.losses.append((batch + 1) * mean - batch * self.mean)
            self.mean = mean
            if len(self.losses) >= len(lrs) or stop(self.losses):
                self.model.stop_training = True

    ramp = Ramp()
    model.fit(dataset.x_train, dataset.y_train, batch_size=batch, epochs=math.ceil(len(lrs) / per_pass),
              callbacks=[ramp], verbose=0, shuffle=shuffle)
    return ramp.losses[: len(lrs)]
