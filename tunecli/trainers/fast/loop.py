"""The epoch loop of the fast trainer: data on the device, compile the programs, train, stop."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from tunecli import interrupt
from tunecli.trainers.contract import EpochHook, Fitted
from tunecli.trainers.fast.compile import executable, load_jax
from tunecli.trainers.fast.initial import hyper, initial_bn, initial_theta
from tunecli.trainers.fast.maths import evaluate, n_slots, train_epoch, train_step
from tunecli.trainers.fast.stopping import EarlyStop, Plateau
from tunecli.trainers.fast.structure import forward_only, structure_of

if TYPE_CHECKING:
    from tunecli.config.objective import Objective
    from tunecli.config.space import Training
    from tunecli.data import Dataset

EVAL_CHUNK = 4096
SCAN_MIN_STEPS = 100  # epochs of at least this many batches run as one compiled loop


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


class _Run:
    """One trial on the device: its structure, inputs, state and the two compiled programs."""

    def __init__(self, p: dict[str, Any], dataset: Dataset, training: Training, seed: int | None,
                 x: np.ndarray, y: np.ndarray, validation: tuple[np.ndarray, np.ndarray]) -> None:
        jax = load_jax()  # before any other JAX import: XLA flags and the compile cache
        import jax.numpy as jnp

        self.classification = dataset.task == "classification"
        self.rows = len(x)
        batch = min(int(p["batch_size"]), len(x))
        self.steps = max(1, math.ceil(len(x) / batch))
        self.st, widths = structure_of(p, dataset, int(p["batch_size"]))
        self.rng = np.random.default_rng(seed)
        self.xd, self.yd = _TRAIN.get(x, y, self.classification)
        self.chunks = _eval_chunks(*validation, self.classification)
        init = initial_theta(p, self.st, widths, self.rng)
        self.hp = jax.device_put({**hyper(p, self.st, self.steps, training.max_epochs),
                                  **{k: init[k] for k in ("mask", "reg", "var_id")}})
        slot = np.full_like(init["theta"], 0.1 if self.st.optimizer == "adagrad" else 0.0)
        self.state = jax.device_put({"theta": init["theta"], "slots": (slot,) * n_slots(self.st.optimizer),
                                     "t": np.float32(0), "u_prod": np.float32(1), "pos": np.int32(0),
                                     "stats": np.zeros(4, np.float32), "bn": initial_bn(self.st)})
        self.zero_pos, self.zero_stats = jnp.int32(0), jnp.zeros(4, jnp.float32)
        row_w = np.ones((self.steps, self.st.batch), np.float32)
        row_w[-1, len(x) - (self.steps - 1) * batch:] = 0.0
        row_w[:, batch:] = 0.0
        self.row_w = jnp.asarray(row_w)
        self.units = sum(self.st.widths) if self.st.dropout != "none" else 1
        self.no_noise = jnp.zeros((len(self.chunks[0][2]), 1), jnp.uint16)
        self.train_fn = train_epoch if self.steps >= SCAN_MIN_STEPS else train_step

    def epoch_inputs(self) -> tuple[Any, Any]:
        """This epoch's shuffled row order (padded to whole batches) and dropout noise."""
        import jax.numpy as jnp

        st, steps = self.st, self.steps
        order = np.concatenate([self.rng.permutation(self.rows), np.zeros(steps * st.batch - self.rows, np.int64)])
        noise = np.frombuffer(self.rng.bytes(2 * steps * st.batch * self.units), np.uint16).reshape(
            steps, st.batch, self.units)
        return jnp.asarray(order.reshape(steps, st.batch).astype(np.int32)), jnp.asarray(noise)

    def eval_noise(self, rows: int) -> Any:
        """Dropout noise for evaluation (MC dropout only)."""
        import jax.numpy as jnp

        if not self.st.mc_dropout:
            return self.no_noise
        return jnp.asarray(np.frombuffer(self.rng.bytes(2 * rows * self.units), np.uint16).reshape(rows, self.units))

    def compile(self, idx: Any, noise: Any) -> None:
        """The training and evaluation programs, compiled on two cores at once (or found in the cache)."""
        with ThreadPoolExecutor(1) as pool:
            cx, cy, cw = self.chunks[0]
            pending = pool.submit(executable, evaluate, forward_only(self.st), self.state["theta"], self.state["bn"],
                                  self.hp, cx, cy, cw, self.eval_noise(len(cw)), fast_compile=True)
            self.train_exe = executable(self.train_fn, self.st, self.state, self.hp, self.xd, self.yd, idx,
                                        self.row_w, noise)
            self.eval_exe = pending.result()

    def epoch(self, idx: Any, noise: Any) -> dict[str, float]:
        """Train one epoch on ``idx``/``noise`` and evaluate: Keras' logs."""
        state = {**self.state, "pos": self.zero_pos, "stats": self.zero_stats}
        for _ in range(1 if self.train_fn is train_epoch else self.steps):
            state = self.train_exe(state, self.hp, self.xd, self.yd, idx, self.row_w, noise)
        self.state = state
        val = np.sum([np.asarray(self.eval_exe(state["theta"], state["bn"], self.hp, cx, cy, cw,
                                               self.eval_noise(len(cw))), np.float64)
                      for cx, cy, cw in self.chunks], axis=0)
        return _logs(self.classification, np.asarray(state["stats"], np.float64), val)


def fit(p: dict[str, Any], dataset: Dataset, training: Training, objective: Objective, *,
        on_epoch: EpochHook | None = None, seed: int | None = None,
        x: np.ndarray | None = None, y: np.ndarray | None = None,
        validation: tuple[np.ndarray, np.ndarray] | None = None) -> Fitted:
    """Train ``p`` (defaults filled in) with early stopping, pruning and reduce-on-plateau."""
    import jax.numpy as jnp

    run = _Run(p, dataset, training, seed, dataset.x_train if x is None else x, dataset.y_train if y is None else y,
               (dataset.x_val, dataset.y_val) if validation is None else validation)
    names = ("loss", "accuracy") if run.classification else ("loss", "rmse", "mae")
    history: dict[str, list[float]] = {k: [] for k in (*names, *(f"val_{n}" for n in names))}
    plateau = Plateau(p, objective) if p["schedule"] == "performance" else None
    stopper = EarlyStop(training, objective)
    pruned, diverged, first = False, None, None
    fit_start = time.perf_counter()
    idx, noise = run.epoch_inputs()
    run.compile(idx, noise)
    with interrupt.training():
        for epoch in range(training.max_epochs):
            if epoch:
                idx, noise = run.epoch_inputs()
            logs = run.epoch(idx, noise)
            for k in history:
                history[k].append(logs[k])
            first = time.perf_counter() - fit_start if first is None else first
            if interrupt.requested():
                break
            if not math.isfinite(logs["loss"]):
                diverged = f"loss became {logs['loss']} at epoch {epoch + 1}"
                break
            value = logs.get(objective.metric)
            if value is not None and on_epoch is not None and on_epoch(epoch + 1, value, logs):
                pruned = True
                break
            if plateau is not None:
                run.hp["lr_scale"] = jnp.float32(plateau.scale(logs))
            if stopper.stop(logs, epoch):
                break
    return Fitted(history, pruned, diverged, first, time.perf_counter() - fit_start, trainer="jax")


def _logs(classification: bool, train: np.ndarray, val: np.ndarray) -> dict[str, float]:
    n, m = max(train[3], 1.0), max(val[3], 1.0)
    if classification:
        return {"loss": train[0] / n, "accuracy": train[1] / n, "val_loss": val[0] / m, "val_accuracy": val[1] / m}
    return {"loss": train[0] / n, "rmse": math.sqrt(train[1] / n), "mae": train[2] / n,
            "val_loss": val[0] / m, "val_rmse": math.sqrt(val[1] / m), "val_mae": val[2] / m}
