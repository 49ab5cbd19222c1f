"""How long a trial's training is expected to take, to choose how hard its program is optimized.

XLA:CPU compiles an epoch's training loop 3-5x as fast with LLVM at -O0 (0.2-0.45 s against 0.85-1.9 s,
digits, 1x32 to 4x256 networks, batch 16 to 128), whose steps then take 3-4x as long. A trial that trains
little (a small network, a few thousand rows, early stopping; a few members at most) is done sooner with the
quick compile; one that trains long gains the optimized program back within a few epochs. How many trials of
one structure train together as members of one program follows from the same estimates. The choice depends
on the structure, the row count and the training settings only, never on timings, so the same trial always
runs the same program (results differ between the two in the 6th or 7th significant digit).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tunecli.trainers.fast.structure import Structure, layer_shapes

if TYPE_CHECKING:
    from tunecli.config.space import Training

STEP_S = 1.5e-5           # a step's fixed cost inside a compiled loop (gather the batch, optimizer update)
FLOPS_PER_S = 4e10        # the rate the dense layers' matrix products run at, optimized, from 64 rows a batch
QUICK_SAVES_S = 0.7       # what compiling at -O0 saves (digits, 1x32 to 4x256: 0.63 to 1.45 s)
SLOWDOWN = 3.0            # the extra time a quick (-O0) program takes per epoch, in optimized epochs


def epoch_seconds(st: Structure, rows: int, steps: int) -> float:
    """A rough estimate of one optimized epoch's seconds: fixed cost per step plus forward and backward
    products (6 flops per weight and row; the padded shapes are what is computed; small batches run the
    products slower). Within 1.5x of the measured on digits for 1x32 to 4x256 networks, batch 16 to 128."""
    weights = sum(n_in * n_out for n_in, n_out in layer_shapes(st))
    rate = FLOPS_PER_S * min(1.0, (st.batch / 64) ** 0.25)
    return steps * STEP_S + 6.0 * weights * max(rows, steps * st.batch) / rate


def expected_epochs(training: Training) -> int:
    """Epochs a trial is expected to train: early stopping usually ends it within twice its patience."""
    if not training.early_stopping.enabled:
        return training.max_epochs
    return min(training.max_epochs, 2 * (training.early_stopping.patience + 1))


def quick_compile(st: Structure, rows: int, steps: int, epochs: float, members: int = 1) -> bool:
    """True when compiling at -O0 is expected to finish ``epochs`` epochs (of ``members`` trials trained
    together) sooner than an optimized program."""
    extra = SLOWDOWN * epochs * members * epoch_seconds(st, rows, steps)
    return math.isfinite(extra) and extra < QUICK_SAVES_S


MAX_MEMBERS = 8           # members of one group at most (the sampler still sees a new structure every group)
COMPILE_S = 0.8           # a group's compile (training and evaluation programs), about


def members_for(st: Structure, rows: int, steps: int, epochs: float, most: int = MAX_MEMBERS) -> int:
    """How many trials of this structure to train as members of one program: as many as keep the members'
    own compute within the costs they share (the compile and every step's fixed cost), at most ``most``;
    1 where one trial's compute already dominates (large networks, many rows)."""
    own = epochs * (epoch_seconds(st, rows, steps) - steps * STEP_S)
    shared = COMPILE_S + epochs * steps * STEP_S
    if not math.isfinite(own) or own <= 0:
        return 1
    return max(1, min(most, round(shared / own)))
