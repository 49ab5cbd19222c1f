"""The LR range test on the fast trainer: one optimizer step per learning rate of the ramp.

The ramp spans as many epochs as it needs (the rows reshuffled at each pass); every step runs the trial's
own compiled training step (the learning rate is an input, so the program is the one a trial with the
same structure uses), and the loss of each batch is read back as it is trained. With a base network
(``dataset.base``) the ramp starts from the trial's reused layers, frozen if the trial starts them frozen
(``freeze_epochs`` > 0): the learning rate it finds is that of the trial's first phase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli.trainers.fast.compile import executable
from tunecli.trainers.fast.cost import quick_compile
from tunecli.trainers.fast.loop import Run
from tunecli.trainers.fast.maths import train_step

if TYPE_CHECKING:
    from tunecli.data import Dataset


def ramp_losses(p: dict[str, Any], dataset: Dataset, lrs: np.ndarray, *, seed: int | None, shuffle: bool = True,
                stop: Any = None) -> list[float]:
    """Train ``p`` (defaults filled in) one batch per learning rate of ``lrs``; the loss of each batch.

    Args:
        p: the configuration (its schedule is ignored: the ramp sets the learning rate of every step).
        dataset: its training rows are the ramp's batches.
        lrs: the learning rate of each step.
        seed: the initial weights, the shuffling and the dropout noise.
        shuffle: reshuffle the rows at every pass (False: the rows in order, as in a test against Keras).
        stop: called with the losses so far after each step; True ends the ramp (the loss exploded).
    """
    import jax.numpy as jnp

    from tunecli.config.space import Training

    q = {**p, "schedule": "constant", "learning_rate": float(lrs[0])}
    run = Run(q, dataset, Training(max_epochs=1), seed, dataset.x_train, dataset.y_train,
               (dataset.x_val[:1], dataset.y_val[:1]))
    losses: list[float] = []
    state, exe, noise, idx = run.state, None, None, None
    for k, lr in enumerate(lrs):
        pos = k % run.steps
        if pos == 0:  # a new pass over the rows
            idx = run.epoch_order() if shuffle else in_order(run)
            state = {**state, "pos": run.zero_pos}
        if pos % run.chunk == 0:
            noise = run.noise_chunk(min(run.chunk, run.steps - pos))
        if exe is None:
            exe = executable(train_step, run.st, state, run.hp, run.xd, run.yd, idx, run.row_w, noise,
                             fast_compile=quick_compile(run.st, run.rows, run.steps, len(lrs) / run.steps))
        before = np.asarray(state["stats"], np.float64)
        run.hp["lr"] = jnp.float32(lr)
        state = exe(state, run.hp, run.xd, run.yd, idx, run.row_w, noise)
        after = np.asarray(state["stats"], np.float64)
        losses.append(float((after[0] - before[0]) / max(after[3] - before[3], 1e-12)))
        if stop is not None and stop(losses):
            break
    return losses


def in_order(run: Run) -> Any:
    """The batches of one pass over ``run``'s rows in their order (no shuffling), as ``Run.epoch_order`` gives them."""
    import jax.numpy as jnp

    order = np.arange(run.steps * run.st.batch) % run.rows
    return jnp.asarray(order.reshape(run.steps, run.st.batch).astype(np.int32))
