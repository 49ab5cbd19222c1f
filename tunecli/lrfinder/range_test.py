"""Run the LR range test on a fresh model: one optimizer step per learning rate of an exponential ramp.

The ramp takes ``steps`` steps, over as many epochs as it needs (the rows reshuffled at each pass), and
stops early when the smoothed loss passes ``DIVERGE_FACTOR`` times its minimum or turns NaN. It runs on the
fast trainer wherever that trainer covers the configuration (``ramp_fast``: no TensorFlow import), else on
Keras' ``fit`` (``ramp_keras``).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from tunecli.config.catalogue import with_defaults
from tunecli.lrfinder.rules import DIVERGE_FACTOR, LRFindResult, lr_schedule, short_curve_beta, smooth, steps_per_pass, suggest

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from tunecli.data import Dataset

#: The ramp's length when nothing says otherwise: "a few hundred iterations" (Smith; Géron ch. 11).
DEFAULT_STEPS = 300


def exploded(losses: list[float], beta: float) -> bool:
    """The ramp's stop rule: the last loss is NaN/inf, or the smoothed loss passed 4x its minimum."""
    if not math.isfinite(losses[-1]):
        return True
    if len(losses) <= 5:
        return False
    smoothed = smooth(losses, beta=beta)
    return smoothed[-1] > DIVERGE_FACTOR * min(smoothed)


def run_range_test(params: dict[str, Any], dataset: Dataset, *, min_lr: float = 1e-7, max_lr: float = 10.0,
                   steps: int = DEFAULT_STEPS, rule: str = "valley", seed: int | None = 0,
                   trainer: str = "auto") -> LRFindResult:
    """Ramp the LR from ``min_lr`` to ``max_lr`` over ``steps`` steps on a fresh model.

    Args:
        params: the configuration (its learning rate and schedule are the ramp's).
        dataset: the training rows feed the ramp.
        min_lr, max_lr, steps: the ramp.
        rule: the suggestion rule the result leads with.
        seed: initial weights, shuffling, dropout.
        trainer: ``auto`` (the fast trainer where it covers the configuration) or ``keras``.

    Returns:
        The curve and every rule's suggestion (raises ``NoDescent`` when the curve has none).
    """
    start = time.perf_counter()
    p = with_defaults({k: v for k, v in params.items() if k != "learning_rate"})
    p["schedule"], p["learning_rate"] = "constant", min_lr
    lrs = lr_schedule(min_lr, max_lr, steps)
    beta = short_curve_beta(steps)
    raw, used = _ramp(p, dataset, lrs, seed, trainer, stop=lambda losses: exploded(losses, beta))
    smoothed = smooth(raw, beta=beta)
    result = LRFindResult([float(x) for x in lrs[: len(raw)]], smoothed, raw, {}, rule, steps=len(raw),
                          stopped_early=len(raw) < steps, trainer=used)
    result.suggestions = suggest(result.lrs, smoothed)
    result.seconds = time.perf_counter() - start
    per_pass = steps_per_pass(len(dataset.x_train), int(p["batch_size"]))
    if len(raw) > per_pass:
        result.notes.append(f"the ramp took {len(raw)} steps: {len(raw) / per_pass:.1f} passes over the "
                            f"{len(dataset.x_train)} training rows in batches of {p['batch_size']}")
    return result



def _ramp(p: dict[str, Any], dataset: Dataset, lrs: np.ndarray, seed: int | None, trainer: str,
          stop: Callable[[list[float]], bool]) -> tuple[list[float], str]:
    """The ramp's losses, on the fast trainer where it covers ``p`` (and ``trainer`` allows), else on Keras';
    and which trainer ran it (``jax`` | ``keras``)."""
    from tunecli.config.space import Training
    from tunecli.trainers import fast

    if fast.supported(p, Training(trainer=trainer if trainer in ("auto", "keras") else "auto")) is None:
        from tunecli.lrfinder.ramp_fast import ramp_losses

        return ramp_losses(p, dataset, lrs, seed=seed, stop=stop), "jax"
    from tunecli.lrfinder.ramp_keras import keras_ramp

    return keras_ramp(p, dataset, lrs, seed=seed, stop=stop), "keras"
