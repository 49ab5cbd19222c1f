"""Run the LR range test on a fresh model: ramp the LR exponentially for at most one epoch."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.config.catalogue import with_defaults
from tunecli.lrfinder.rules import DIVERGE_FACTOR, LRFindResult, lr_schedule, short_curve_beta, smooth, suggest
from tunecli.trainers.keras.fit import build_compiled
from tunecli.trainers.keras.model import keras

if TYPE_CHECKING:
    from tunecli.data import Dataset


class LRRamp(keras.callbacks.Callback):
    """Sets the LR before each batch and records that batch's loss; stops when the loss explodes.

    Keras reports the running mean of the loss over the epoch; the batch loss is recovered
    as ``k * mean_k - (k - 1) * mean_{k-1}``.
    """

    def __init__(self, lrs: np.ndarray) -> None:
        super().__init__()
        self.lrs = lrs
        self.losses: list[float] = []
        self._mean = 0.0
        self.stopped_early = False

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.model.optimizer.learning_rate.assign(float(self.lrs[min(batch, len(self.lrs) - 1)]))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        mean = float((logs or {}).get("loss", math.nan))
        k = len(self.losses) + 1
        loss = k * mean - (k - 1) * self._mean
        self._mean = mean
        self.losses.append(loss)
        smoothed = smooth(self.losses, beta=short_curve_beta(len(self.lrs)))
        if not math.isfinite(loss) or (k > 5 and smoothed[-1] > DIVERGE_FACTOR * min(smoothed)):
            self.stopped_early = True
            self.model.stop_training = True
        if k >= len(self.lrs):
            self.model.stop_training = True


def run_range_test(params: dict[str, Any], dataset: Dataset, *, min_lr: float = 1e-7, max_lr: float = 10.0,
                   steps: int = 100, rule: str = "valley", seed: int | None = 0) -> LRFindResult:
    """Train a throw-away model for at most one epoch while the LR grows from min_lr to max_lr.

    Returns:
        The curve and every rule's suggestion (raises ``NoDescent`` when the curve has none).
    """
    start = time.perf_counter()
    p = with_defaults({k: v for k, v in params.items() if k != "learning_rate"})
    p["schedule"] = "constant"
    p["learning_rate"] = min_lr
    batch = int(p["batch_size"])
    per_epoch = max(1, math.ceil(len(dataset.x_train) / batch))
    n = max(5, min(steps, per_epoch))
    lrs = lr_schedule(min_lr, max_lr, n)
    model = build_compiled(p, dataset, steps_per_epoch=per_epoch, max_epochs=1, steps_per_execution=1, seed=seed)
    ramp = LRRamp(lrs)
    rows = min(len(dataset.x_train), n * batch)
    model.fit(dataset.x_train[:rows], dataset.y_train[:rows], batch_size=batch, epochs=1, callbacks=[ramp],
              verbose=0, shuffle=True)
    raw = ramp.losses
    used = lrs[: len(raw)]
    smoothed = smooth(raw, beta=short_curve_beta(n))
    result = LRFindResult([float(x) for x in used], smoothed, raw, {}, rule, steps=len(raw),
                          stopped_early=ramp.stopped_early)
    result.suggestions = suggest(result.lrs, smoothed)
    result.seconds = time.perf_counter() - start
    if len(raw) < steps:
        result.notes.append(f"one epoch holds {per_epoch} batches of {batch}: the test took {len(raw)} steps")
    return result
