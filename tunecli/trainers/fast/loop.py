"""The epoch loop of the fast trainer: data on the device, compile the programs, train, stop."""

from __future__ import annotations

import ctypes
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli import interrupt
from tunecli.trainers.contract import EpochHook, Fitted, FlatWeights
from tunecli.trainers.fast import meter
from tunecli.trainers.fast.compile import executable, load_jax
from tunecli.trainers.fast.cost import expected_epochs, quick_compile
from tunecli.trainers.fast.initial import hyper, initial_bn, initial_theta, load_base, trained_vars
from tunecli.trainers.fast.maths import evaluate, n_slots, train_epoch
from tunecli.trainers.fast.structure import Structure, forward_only, layout, structure_of
from tunecli.trainers.fast.tracker import Tracker
from tunecli.trainers.transfer import phases, plan

if TYPE_CHECKING:
    from tunecli.config.objective import Objective
    from tunecli.config.space import Training
    from tunecli.data import Dataset

EVAL_CHUNK = 4096
NOISE_CHUNK_BYTES = 4 << 20  # dropout noise goes to the device this much at a time (at least one batch's)


class _Cached:
    """Device copies of one array pair, kept while the same arrays are trained on (the host arrays are
    held too, so that their ids cannot be reused by other arrays meanwhile)."""

    def __init__(self) -> None:
        self.host: tuple | None = None
        self.value: tuple | None = None

    def get(self, x: np.ndarray, y: np.ndarray, classification: bool) -> tuple[Any, Any]:
        import jax.numpy as jnp

        if self.host is None or not (self.host[0] is x and self.host[1] is y and self.host[2] == classification):
            self.value = (jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32 if classification else jnp.float32))
            self.host = (x, y, classification)
        return self.value


_TRAIN, _VAL = _Cached(), _Cached()


def _eval_chunks(x: np.ndarray, y: np.ndarray, classification: bool) -> list[tuple[Any, Any, Any]]:
    """Validation rows as equal chunks (the last one padded, with zero weights)."""
    import jax.numpy as jnp

    xd, yd = _VAL.get(x, y, classification)
    n = len(x)
    if n <= EVAL_CHUNK:
        return [(xd, yd, jnp.ones(n, jnp.float32))]
    chunks = []
    for start in range(0, n, EVAL_CHUNK):
        rows = np.arange(start, start + EVAL_CHUNK) % n
        chunks.append((xd[rows], yd[rows], jnp.asarray((np.arange(start, start + EVAL_CHUNK) < n).astype(np.float32))))
    return chunks


class Run:
    """One trial on the device: its structure, inputs, state and the two compiled programs.

    With a base network (``dataset.base``) the trial starts from its reused layers, frozen when
    ``freeze_epochs`` > 0 (``tunecli.trainers.transfer``): what is frozen, the fine-tuning learning rate and
    the schedule's offset are inputs, so one program serves both phases (``unfreeze``).
    """

    def __init__(self, p: dict[str, Any], dataset: Dataset, training: Training, seed: int | None,
                 x: np.ndarray, y: np.ndarray, validation: tuple[np.ndarray, np.ndarray]) -> None:
        jax = load_jax()  # before any other JAX import: XLA flags and the compile cache
        import jax.numpy as jnp

        self.classification = dataset.task == "classification"
        self.rows = len(x)
        batch = min(int(p["batch_size"]), len(x))
        self.steps = max(1, math.ceil(len(x) / batch))
        p, reused = plan(p, dataset.base, dataset.n_features)
        self.phases = phases(p, dataset.base, training.max_epochs)
        self.st, widths = structure_of(p, dataset, int(p["batch_size"]), freeze=self.phases.frozen > 0)
        self.widths = widths  # the real (unpadded) hidden widths
        check_memory(self.st, len(validation[0]))
        self.rng = np.random.default_rng(seed)
        self.xd, self.yd = _TRAIN.get(x, y, self.classification)
        self.chunks = _eval_chunks(*validation, self.classification)
        init = initial_theta(p, self.st, widths, self.rng)
        load_base(init["theta"], self.st, widths, reused)
        self.hp = jax.device_put({**hyper(p, self.st, self.steps, training.max_epochs),
                                  **{k: init[k] for k in ("mask", "reg", "var_id")}, **self._frozen(init)})
        self.state = jax.device_put({"theta": init["theta"], **self._fresh_optimizer(), "pos": np.int32(0),
                                     "stats": np.zeros(4, np.float32), "bn": initial_bn(self.st)})
        self.zero_pos, self.zero_stats = jnp.int32(0), jnp.zeros(4, jnp.float32)
        row_w = np.ones((self.steps, self.st.batch), np.float32)
        row_w[-1, len(x) - (self.steps - 1) * batch:] = 0.0
        row_w[:, batch:] = 0.0
        self.row_w = jnp.asarray(row_w)
        dropout = self.st.dropout != "none"
        self.units = sum(self.st.widths) if dropout else 1
        self.no_noise = jnp.zeros((len(self.chunks[0][2]), 1), jnp.uint16)
        # Dropout noise is drawn and sent a chunk of batches at a time, so that it takes a few MB whatever the
        # epoch's length; the chunk's shape follows from the structure and the row count, as idx's does (no
        # more compiled programs). Without dropout, one chunk of zeros serves the whole epoch.
        per_batch = 2 * self.st.batch * max(1, self.units)
        self.chunk = max(1, min(self.steps, NOISE_CHUNK_BYTES // per_batch)) if dropout else self.steps
        self.zero_noise = None if dropout else jnp.zeros((self.steps, self.st.batch, 1), jnp.uint16)
        self.train_fn = train_epoch  # a chunk of batches in one compiled loop (one call per batch costs 2-3x)
        self.quick = quick_compile(self.st, self.rows, self.steps, expected_epochs(training))  # -O0: a trial that trains little
        self.passes = training.mc_passes  # MC dropout: a score is the mean prediction of this many passes

    def _frozen(self, init: dict[str, np.ndarray]) -> dict[str, Any]:
        """The freezing inputs (``st.freeze`` only): which variables train, the L1/L2 mask without the frozen
        kernels (Keras penalizes trainable weights only), the schedule's offset."""
        if not self.st.freeze:
            return {}
        self.full_reg = init["reg"]
        train = trained_vars(self.st, self.phases.reused)
        return {"var_train": train, "reg": init["reg"] * train[init["var_id"]], "step0": np.float32(0)}

    def _fresh_optimizer(self) -> dict[str, Any]:
        """The optimizer's state as Keras builds it: zero slots (Adagrad's 0.1), no step taken."""
        slot = np.full(self.hp["mask"].shape, 0.1 if self.st.optimizer == "adagrad" else 0.0, np.float32)
        return {"slots": (slot,) * n_slots(self.st.optimizer), "t": np.float32(0), "u_prod": np.float32(1)}

    def unfreeze(self, epoch: int) -> None:
        """Fine-tune from the 0-based ``epoch`` on, as Keras' recompile with a new optimizer: every layer trains,
        the slots and step count start afresh, the learning rate is multiplied by ``fine_tune_lr_factor`` (a
        reduce-on-plateau multiplier, ``lr_scale``, still applies) and the schedule goes on at this epoch."""
        jax = load_jax()

        hp = {"var_train": np.ones_like(np.asarray(self.hp["var_train"])), "reg": self.full_reg,
              "lr": np.float32(np.asarray(self.hp["lr"]) * self.phases.factor), "step0": np.float32(epoch * self.steps)}
        self.hp.update(jax.device_put(hp))
        self.state = {**self.state, **jax.device_put(self._fresh_optimizer())}

    def epoch_order(self) -> Any:
        """This epoch's shuffled row order, padded to whole batches: (steps, batch)."""
        import jax.numpy as jnp

        st, steps = self.st, self.steps
        order = np.concatenate([self.rng.permutation(self.rows), np.zeros(steps * st.batch - self.rows, np.int64)])
        return jnp.asarray(order.reshape(steps, st.batch).astype(np.int32))

    def noise_chunk(self, n: int) -> Any:
        """Dropout noise for the epoch's next ``n`` batches (at most a chunk), zero-padded to a whole chunk.

        Drawn from the trial's stream in batch order: the same bytes a whole epoch drawn at once would take.
        """
        import jax.numpy as jnp

        if self.zero_noise is not None:
            return self.zero_noise
        shape = (self.chunk, self.st.batch, self.units)
        drawn = np.frombuffer(self.rng.bytes(2 * n * self.st.batch * self.units), np.uint16).reshape(n, *shape[1:])
        if n < self.chunk:
            drawn = np.concatenate([drawn, np.zeros((self.chunk - n, *shape[1:]), np.uint16)])
        return jnp.asarray(drawn)

    def eval_noise(self, rows: int) -> Any:
        """Dropout noise for evaluation (MC dropout only)."""
        import jax.numpy as jnp

        if not self.st.mc_dropout:
            return self.no_noise
        size = self.passes * rows * self.units
        return jnp.asarray(np.frombuffer(self.rng.bytes(2 * size), np.uint16).reshape(self.passes, rows, self.units))

    def eval_noise_shape(self, rows: int) -> tuple[int, ...]:
        """The shape of ``eval_noise(rows)``, without drawing it."""
        return (self.passes, rows, self.units) if self.st.mc_dropout else tuple(self.no_noise.shape)

    def compile(self, idx: Any) -> None:
        """The training and evaluation programs, compiled on two cores at once (or found in the cache)."""
        import jax.numpy as jnp

        noise = self.zero_noise if self.zero_noise is not None else jnp.zeros(
            (self.chunk, self.st.batch, self.units), jnp.uint16)
        with ThreadPoolExecutor(1) as pool:
            cx, cy, cw = self.chunks[0]
            eval_noise = self.no_noise if not self.st.mc_dropout else jnp.zeros(
                (self.passes, len(cw), self.units), jnp.uint16)
            pending = pool.submit(executable, evaluate, forward_only(self.st), self.state["theta"], self.state["bn"],
                                  self.hp, cx, cy, cw, eval_noise, fast_compile=True)
            self.train_exe = executable(self.train_fn, self.st, self.state, self.hp, self.xd, self.yd, idx,
                                        self.row_w, noise, fast_compile=self.quick)
            self.eval_exe = pending.result()

    def epoch(self, idx: Any) -> dict[str, float]:
        """Train one epoch on the row order ``idx`` and evaluate: Keras' logs (``meter`` hears of it)."""
        start = time.perf_counter()
        logs = self._epoch(idx)
        meter.epoch_done(time.perf_counter() - start, logs)
        return logs

    def _epoch(self, idx: Any) -> dict[str, float]:
        state = {**self.state, "pos": self.zero_pos, "stats": self.zero_stats}
        queued: list[dict] = []  # what the chunks not known to be done return
        for start in range(0, self.steps, self.chunk):
            if len(queued) == 2:  # dispatch is asynchronous: wait for the chunk before last, so that at most
                queued.pop(0)["pos"].block_until_ready()  # three chunks' noise are held at once
                _trim()
            n = min(self.chunk, self.steps - start)
            noise = self.noise_chunk(n)  # drawn while the device still runs the chunk before
            state = self.train_exe(state, self.hp, self.xd, self.yd, idx, self.row_w, noise)
            queued.append(state)
        self.state = state
        val = np.sum([np.asarray(self.eval_exe(state["theta"], state["bn"], self.hp, cx, cy, cw,
                                               self.eval_noise(len(cw))), np.float64)
                      for cx, cy, cw in self.chunks], axis=0)
        return epoch_logs(self.classification, np.asarray(state["stats"], np.float64), val)


def fit(p: dict[str, Any], dataset: Dataset, training: Training, objective: Objective, *,
        on_epoch: EpochHook | None = None, seed: int | None = None,
        x: np.ndarray | None = None, y: np.ndarray | None = None,
        validation: tuple[np.ndarray, np.ndarray] | None = None) -> Fitted:
    """Train ``p`` (defaults filled in) with early stopping, pruning and reduce-on-plateau; with a base network
    (``dataset.base``), from its reused layers, frozen then fine-tuned (``Run.unfreeze``)."""
    run = Run(p, dataset, training, seed, dataset.x_train if x is None else x, dataset.y_train if y is None else y,
              (dataset.x_val, dataset.y_val) if validation is None else validation)
    fit_start = time.perf_counter()
    meter.fit_event("start")
    try:
        return _train(run, p, training, objective, on_epoch, fit_start)
    finally:
        meter.fit_event("end")


def _train(run: Run, p: dict[str, Any], training: Training, objective: Objective, on_epoch: EpochHook | None,
           fit_start: float) -> Fitted:
    import jax.numpy as jnp

    track = Tracker(p, training, objective, on_epoch, run.classification)
    idx = run.epoch_order()
    run.compile(idx)
    with interrupt.training():
        for epoch in range(training.max_epochs):
            if epoch:
                idx = run.epoch_order()
            if epoch == run.phases.unfreeze_at(training.max_epochs):
                run.unfreeze(epoch)
            logs = run.epoch(idx)
            if track.record(epoch, logs, (run.state["theta"], run.state["bn"]), time.perf_counter() - fit_start):
                break
            if (scale := track.lr_scale(logs)) is not None:
                run.hp["lr_scale"] = jnp.float32(scale)
    return fitted(track, run, None, time.perf_counter() - fit_start)


def fitted(track: Tracker, run: Run, member: int | None, seconds: float) -> Fitted:
    """The trainer's result for a trial (``member``: its index in a group's stacked state)."""
    weights = None
    if track.kept is not None:
        theta, bn = track.kept
        pick = (lambda a: np.asarray(a)) if member is None else (lambda a: np.asarray(a[member]))
        weights = FlatWeights(pick(theta), tuple((pick(m), pick(v)) for m, v in bn), layout(run.st),
                              [run.st.n_features, *run.widths, run.st.n_out], run.st.batch_norm)
    return Fitted(track.history, track.pruned, track.diverged, track.first, seconds, trainer="jax", weights=weights,
                  interrupted=track.interrupted)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc
    except (OSError, AttributeError, TypeError):
        return None


def _trim() -> None:
    """Give the memory of freed buffers back to the system. glibc keeps freed blocks of a few MB (the noise
    chunks, the states the chunks before returned) in its arenas, where the next ones do not always fit:
    without this the resident size grows through an epoch as if its whole noise were still held."""
    if (trim := _malloc_trim()) is not None:
        trim(0)


def memory_needed(st: Structure, eval_rows: int) -> tuple[int, int]:
    """A lower bound on the bytes a trial of this structure holds while it trains, and its parameter count.

    Per parameter: theta, its mask, its L1/L2 mask, its variable id and the optimizer's slots stay on the
    device; a step adds the gradient, the new theta and the new slots (4 bytes each). Per hidden unit
    and row: a step keeps each layer's pre-activation and output for the backward pass.
    """
    params = sum(math.prod(shape) for _, _, shape in layout(st))
    slots = n_slots(st.optimizer)
    activations = 8 * (st.batch * sum(st.widths) + min(eval_rows, EVAL_CHUNK) * max(st.widths, default=0))
    return params * 4 * (6 + 2 * slots) + activations, params


def available_memory() -> int | None:
    """The bytes this process may still allocate, as far as is known: the least of the machine's available
    memory, the room under its control group's limit and under its address-space limit (``RLIMIT_AS``)."""

    def read(path: str) -> int | None:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            return None
        return int(text) if text.strip().isdigit() and int(text) < 1 << 60 else None

    def proc_kb(path: str, field: str) -> int | None:
        try:
            with open(path) as f:
                line = next((ln for ln in f if ln.startswith(f"{field}:")), None)
        except OSError:
            return None
        return int(line.split()[1]) * 1024 if line else None

    room: list[int] = []
    if (free := proc_kb("/proc/meminfo", "MemAvailable")) is not None:
        room.append(free)
    for limit, usage in (("memory.max", "memory.current"), ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes")):
        cap, used = read(f"/sys/fs/cgroup/{limit}"), read(f"/sys/fs/cgroup/{usage}")
        if cap is not None and used is not None:
            room.append(max(0, cap - used))
    try:
        import resource
    except ImportError:  # not on Windows
        resource = None  # type: ignore[assignment]
    soft = resource.getrlimit(resource.RLIMIT_AS)[0] if resource else -1
    if soft >= 0 and soft != resource.RLIM_INFINITY and (size := proc_kb(f"/proc/{os.getpid()}/status", "VmSize")):
        room.append(max(0, soft - size))
    return min(room) if room else None


def check_memory(st: Structure, eval_rows: int, members: int = 1) -> None:
    """Refuse at once a network that cannot fit (``members`` of them trained together), before any of it is
    allocated.

    Raises:
        MemoryError: naming the estimate and the memory available.
    """
    needed, params = memory_needed(st, eval_rows)
    needed *= members
    room = available_memory()
    if room is not None and needed > room:
        what = f"{params:,} parameters" if members == 1 else f"{members} members of {params:,} parameters"
        raise MemoryError(f"{what} need at least {needed / 2**30:,.1f} GiB to train; "
                          f"{room / 2**30:,.1f} GiB is available")


def epoch_logs(classification: bool, train: np.ndarray, val: np.ndarray) -> dict[str, float]:
    n, m = max(train[3], 1.0), max(val[3], 1.0)
    if classification:
        return {"loss": train[0] / n, "accuracy": train[1] / n, "val_loss": val[0] / m, "val_accuracy": val[1] / m}
    return {"loss": train[0] / n, "rmse": math.sqrt(train[1] / n), "mae": train[2] / n,
            "val_loss": val[0] / m, "val_rmse": math.sqrt(val[1] / m), "val_mae": val[2] / m}
