"""The refit: a fixed configuration trained on train + validation, as the search trained it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tunecli.config.catalogue import with_defaults
from tunecli.errors import RunError
from tunecli.train.outcome import Job
from tunecli.trainers.transfer import phases, plan


def fit(job: Job, n_epochs: int, seed: int | None) -> Any:
    """The Keras model refitted for ``n_epochs`` on train + validation.

    Raises:
        RunError: the loss diverged.
    """
    from tunecli.trainers.keras.fit import build_compiled, fit_phases

    p, dataset, training = with_defaults(job.params), job.dataset, job.space.training
    x = np.concatenate([dataset.x_train, dataset.x_val])
    y = np.concatenate([dataset.y_train, dataset.y_val])
    batch = int(p["batch_size"])
    steps = max(1, math.ceil(len(x) / batch))
    # the schedule runs on the search's epoch axis (max_epochs), whatever number of epochs the refit takes
    model = build_compiled(p, dataset, steps_per_epoch=steps, max_epochs=training.max_epochs,
                           steps_per_execution=steps, seed=seed)
    # reused layers (transfer / pretrain) are frozen for freeze_epochs, then fine-tuned, as in the search
    history = fit_phases(model, plan(p, dataset.base, dataset.n_features)[0], dataset.task,
                         phases(p, dataset.base, training.max_epochs), x, y, epochs=n_epochs,
                         steps_per_epoch=steps, max_epochs=training.max_epochs, steps_per_execution=steps,
                         callbacks=_callbacks(p, training.refit_lr_drops), batch_size=batch, verbose=0, shuffle=True)
    if not all(math.isfinite(v) for v in history["loss"]):
        raise RunError("the loss diverged (NaN/inf) while refitting; lower the learning rate", field="space")
    return model


def _callbacks(p: dict[str, Any], lr_drops: list[int]) -> list[Any]:
    """Reduce-on-plateau's cuts, replayed at the epochs where the search made them."""
    if p["schedule"] != "performance" or not lr_drops:
        return []
    from tunecli.trainers.keras.schedules import ReplayDrops

    return [ReplayDrops(lr_drops, p["plateau_factor"])]
