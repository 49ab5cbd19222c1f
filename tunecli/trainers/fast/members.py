"""Members: K configurations that share a structure, trained by one compiled program.

Everything a sampler varies continuously is already an input of the fast trainer's programs (learning rate,
dropout rate, momentum and betas, L1/L2, schedule constants, real widths inside a width bucket through the
masks, initial weights, shuffling and dropout seeds). A group stacks K trials' inputs and state along a
leading axis and runs ``jax.vmap`` of the single trial's step: one compile for K trials, and each step does
K models' work for one dispatch. Each member keeps its own rules (``Tracker``): one that stops early, is
pruned or diverges is frozen (its kept weights are its best epoch's; its later epochs are not read) while the
others go on; the group ends when every member has ended.

The maths is the single trial's (``maths.step``, ``maths.evaluate``), so a member's results equal the
trial's trained alone with the same seed, up to float rounding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli import interrupt
from tunecli.trainers.contract import EpochHook, Fitted
from tunecli.trainers.fast import meter
from tunecli.trainers.fast.compile import executable, load_jax
from tunecli.trainers.fast.cost import expected_epochs, quick_compile
from tunecli.trainers.fast.loop import Run, check_memory, epoch_logs, fitted
from tunecli.trainers.fast.maths import carry_of, evaluate, inputs_of, state_of, step
from tunecli.trainers.fast.structure import forward_only, structure_of
from tunecli.trainers.fast.tracker import Tracker

#: After each epoch: (epoch from 1, each member's logs or None once it has ended) -> the members to prune now.
AfterEpoch = Callable[[int, list[dict[str, float] | None]], "Iterable[int]"]

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tunecli.config.objective import Objective
    from tunecli.config.space import Training
    from tunecli.data import Dataset


def group_key(p: dict[str, Any], dataset: Dataset) -> Any:
    """What configurations must share to train in one group: their structure (``None``: they cannot be
    members, e.g. they reuse pretrained layers; such a trial trains alone)."""
    if dataset.base is not None:
        return None
    return structure_of(p, dataset, int(p["batch_size"]))[0]


def members_steps(st: Any, state: dict, hp: dict, x: Any, y: Any, idx: Any, row_w: Any, noise: Any) -> dict:
    """The next ``noise.shape[1]`` steps of every member (fewer at the epoch's end), in one compiled loop.

    ``state``, ``hp``, ``idx`` and ``noise`` have the members on their first axis; the rows are shared.
    """
    return _steps(st, state, hp, idx, noise, (x, y, row_w), None)


def fold_steps(st: Any, state: dict, hp: dict, x: Any, y: Any, idx: Any, row_w: Any, noise: Any) -> dict:
    """``members_steps`` where each member trains on rows of its own (``x``, ``y``, ``row_w`` stacked too)."""
    return _steps(st, state, hp, idx, noise, (x, y, row_w), 0)


def _steps(st: Any, state: dict, hp: dict, idx: Any, noise: Any, rows: tuple, axis: int | None) -> dict:
    import jax
    import jax.numpy as jnp

    carry = jax.vmap(lambda s: carry_of(st, s))(state)
    inputs = jax.vmap(lambda h: inputs_of(st, h))(hp)
    one = jax.vmap(lambda c, h, inp, i, n, x, y, w: step(st, c, h, inp, x, y, i, w, n),
                   in_axes=(0, 0, 0, 0, 0, axis, axis, axis))
    count = jnp.minimum(noise.shape[1], idx.shape[1] - state["pos"][0])
    carry = jax.lax.fori_loop(0, count, lambda _, c: one(c, hp, inputs, idx, noise, *rows), carry)
    return jax.vmap(state_of)(state, carry)


def members_evaluate(st: Any, theta: Any, bn: tuple, hp: dict, x: Any, y: Any, row_w: Any, noise: Any) -> Any:
    """``maths.evaluate`` of every member on the shared validation chunk: (members, 4)."""
    import jax

    return jax.vmap(lambda t, b, h, n: evaluate(st, t, b, h, x, y, row_w, n))(theta, bn, hp, noise)


def fold_evaluate(st: Any, theta: Any, bn: tuple, hp: dict, x: Any, y: Any, row_w: Any, noise: Any) -> Any:
    """``members_evaluate`` where each member has validation rows of its own (stacked, zero-weight padded)."""
    import jax

    return jax.vmap(lambda t, b, h, n, xx, yy, w: evaluate(st, t, b, h, xx, yy, w, n))(theta, bn, hp, noise, x, y, row_w)


Rows = tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]   # x, y, (x_val, y_val) of one member


class Group:
    """K trials of one structure on the device: their stacked inputs and state, and the two programs.

    Members share their rows (a search's trials) or each has its own (the folds of cross-validation: same
    number of training rows; validation rows padded to the longest with zero weights).
    """

    def __init__(self, ps: list[dict[str, Any]], dataset: Dataset, training: Training, seeds: list[int | None],
                 rows: list[Rows]) -> None:
        jax = load_jax()
        import jax.numpy as jnp

        self.runs = [Run(p, dataset, training, seed, x, y, val) for p, seed, (x, y, val) in zip(ps, seeds, rows)]
        first = self.runs[0]
        if any(r.st != first.st or r.steps != first.steps for r in self.runs) or first.st.freeze:
            raise ValueError("members must share one structure and reuse no frozen layers")
        self.st, self.steps = first.st, first.steps
        self.classification = first.classification
        self.shared = all(r[0] is rows[0][0] and r[2][0] is rows[0][2][0] for r in rows)
        check_memory(self.st, max(len(val[0]) for _, _, val in rows), len(ps))
        stack = lambda *leaves: jnp.stack(leaves)  # noqa: E731
        self.state = jax.tree.map(stack, *[r.state for r in self.runs])
        self.hp = jax.tree.map(stack, *[r.hp for r in self.runs])
        if self.shared:
            self.x, self.y, self.row_w, self.chunks = first.xd, first.yd, first.row_w, first.chunks
        else:
            self.x, self.y = jnp.stack([r.xd for r in self.runs]), jnp.stack([r.yd for r in self.runs])
            self.row_w = jnp.stack([r.row_w for r in self.runs])
            self.chunks = [_stacked_validation([val for _, _, val in rows], self.classification)]
        self.train_fn, self.eval_fn = (members_steps, members_evaluate) if self.shared else (fold_steps, fold_evaluate)
        self.lr_scale = np.ones(len(ps), np.float32)
        # the noise of all members for a chunk of batches stays within the single trial's bound
        chunk = first.chunk if first.zero_noise is not None else max(1, first.chunk // len(ps))
        for r in self.runs:
            r.chunk = chunk
        self.chunk = chunk
        self.quick = quick_compile(self.st, first.rows, self.steps, expected_epochs(training), len(ps))
        self.zero_pos = jnp.zeros(len(ps), jnp.int32)
        self.zero_stats = jnp.zeros((len(ps), 4), jnp.float32)

    def epoch_order(self) -> Any:
        import jax.numpy as jnp

        return jnp.stack([r.epoch_order() for r in self.runs])

    def _noise(self, n: int) -> Any:
        import jax.numpy as jnp

        return jnp.stack([r.noise_chunk(n) for r in self.runs])

    def _eval_noise(self, rows: int) -> Any:
        import jax.numpy as jnp

        if not self.st.mc_dropout:  # unused: one shape for all members whatever their validation rows
            return jnp.zeros((len(self.runs), rows, 1), jnp.uint16)
        return jnp.stack([r.eval_noise(rows) for r in self.runs])

    def compile(self, idx: Any) -> None:
        """The members' training and evaluation programs, compiled on two cores at once (or found in the cache)."""
        import jax.numpy as jnp

        first = self.runs[0]
        units = first.units if first.zero_noise is None else 1
        noise = jnp.zeros((len(self.runs), self.chunk if first.zero_noise is None else self.steps, self.st.batch, units),
                          jnp.uint16)  # the shape of the epoch's noise; drawing it would use the members' streams
        with ThreadPoolExecutor(1) as pool:
            cx, cy, cw = self.chunks[0]
            rows = cw.shape[-1]
            eval_noise = (jnp.zeros((len(self.runs), *first.eval_noise_shape(rows)), jnp.uint16)
                          if self.st.mc_dropout else self._eval_noise(rows))
            pending = pool.submit(executable, self.eval_fn, forward_only(self.st), self.state["theta"],
                                  self.state["bn"], self.hp, cx, cy, cw, eval_noise, fast_compile=True)
            self.train_exe = executable(self.train_fn, self.st, self.state, self.hp, self.x, self.y, idx,
                                        self.row_w, noise, fast_compile=self.quick)
            self.eval_exe = pending.result()

    def epoch(self, idx: Any) -> list[dict[str, float]]:
        """Train every member one epoch on its row order (``idx``: members x steps x batch) and evaluate."""
        start = time.perf_counter()
        state = {**self.state, "pos": self.zero_pos, "stats": self.zero_stats}
        for at in range(0, self.steps, self.chunk):
            noise = self._noise(min(self.chunk, self.steps - at))
            state = self.train_exe(state, self.hp, self.x, self.y, idx, self.row_w, noise)
        self.state = state
        val = np.sum([np.asarray(self.eval_exe(state["theta"], state["bn"], self.hp, cx, cy, cw,
                                               self._eval_noise(cw.shape[-1])), np.float64)
                      for cx, cy, cw in self.chunks], axis=0)
        stats = np.asarray(state["stats"], np.float64)
        logs = [epoch_logs(self.classification, stats[k], val[k]) for k in range(len(self.runs))]
        seconds = (time.perf_counter() - start) / len(self.runs)
        for entry in logs:
            meter.epoch_done(seconds, entry)
        return logs

    def set_lr_scale(self, k: int, scale: float) -> None:
        import jax.numpy as jnp

        self.lr_scale[k] = scale
        self.hp["lr_scale"] = jnp.asarray(self.lr_scale)


def _stacked_validation(validation: list[tuple[np.ndarray, np.ndarray]], classification: bool) -> tuple[Any, Any, Any]:
    """Each member's validation rows as one stacked chunk, padded to the longest with zero weights."""
    import jax.numpy as jnp

    n = max(len(x) for x, _ in validation)
    xs, ys, ws = [], [], []
    for x, y in validation:
        pad = n - len(x)
        xs.append(np.concatenate([x, np.zeros((pad, x.shape[1]), x.dtype)]))
        ys.append(np.concatenate([y, np.zeros(pad, y.dtype)]))
        ws.append(np.concatenate([np.ones(len(x), np.float32), np.zeros(pad, np.float32)]))
    return (jnp.asarray(np.stack(xs), jnp.float32), jnp.asarray(np.stack(ys), jnp.int32 if classification else jnp.float32),
            jnp.asarray(np.stack(ws)))


def fit_members(ps: list[dict[str, Any]], dataset: Dataset, training: Training, objective: Objective, *,
                on_epochs: list[EpochHook | None] | None = None, seeds: list[int | None] | None = None,
                rows: list[Rows] | None = None, after_epoch: AfterEpoch | None = None) -> list[Fitted]:
    """Train the configurations ``ps`` (defaults filled in, one structure: ``group_key``) as members of one
    program, each with its own epoch hook (pruning) and seed; one ``Fitted`` per member, in order.

    Args:
        rows: each member's training and validation rows (the folds of cross-validation); None: the data
            set's splits for all.
        after_epoch: called after every epoch with its number (from 1) and every member's logs (None for
            one that has ended); returns the members to prune now (e.g. the folds of a configuration whose
            mean the pruner stops).

    Raises:
        ValueError: the configurations do not share a structure (or reuse frozen layers).
        MemoryError: the members cannot fit in memory together.
    """
    k = len(ps)
    hooks = on_epochs or [None] * k
    seeds = seeds or [None] * k
    rows = rows or [(dataset.x_train, dataset.y_train, (dataset.x_val, dataset.y_val))] * k
    group = Group(ps, dataset, training, seeds, rows)
    tracks = [Tracker(p, training, objective, hook, group.classification) for p, hook in zip(ps, hooks)]
    start = time.perf_counter()
    meter.fit_event("start")
    try:
        _train(group, tracks, training, start, after_epoch)
    finally:
        meter.fit_event("end")
    seconds = (time.perf_counter() - start) / k  # each member's share of the group's time
    return [fitted(track, group.runs[i], i, seconds) for i, track in enumerate(tracks)]


def _train(group: Group, tracks: list[Tracker], training: Training, start: float, after: AfterEpoch | None) -> None:
    idx = group.epoch_order()
    group.compile(idx)
    # Ctrl-C stops the members at this epoch's end; it is raised by the caller once the members that had
    # ended before it are recorded (``Fitted.interrupted`` tells the others)
    with interrupt.training(check_at_end=False):
        for epoch in range(training.max_epochs):
            if epoch:
                idx = group.epoch_order()
            logs = group.epoch(idx)
            ref = (group.state["theta"], group.state["bn"])
            running = [not t.done for t in tracks]
            for k, track in enumerate(tracks):
                if not running[k]:
                    continue
                if not track.record(epoch, logs[k], ref, time.perf_counter() - start) and (
                        scale := track.lr_scale(logs[k])) is not None:
                    group.set_lr_scale(k, scale)
            if after is not None:
                for k in after(epoch + 1, [entry if on else None for entry, on in zip(logs, running)]):
                    tracks[k].pruned = tracks[k].pruned or not tracks[k].done
                    tracks[k].done = True
            if interrupt.requested():
                for track in tracks:
                    track.interrupted = track.interrupted or not track.done
                    track.done = True
            if all(t.done for t in tracks):
                break
