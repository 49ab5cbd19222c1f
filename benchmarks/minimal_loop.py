"""What an epoch physically costs: a hand-written JAX loop against the fast trainer, and members per K.

The reference is the smallest loop that trains the same network (pytree parameters, Adam, the whole epoch
in one ``fori_loop`` over shuffled batch indices, then one validation pass), compiled once; its epoch is
timed warm. tunecli's epoch is timed on its ``Run`` (one trial) and a group of K members on its ``Group``
(seconds per member-epoch), warm, with the fully optimized program (``tunecli_kK_ms``) and with the program
the cost model picks for a short trial of 6 epochs (``tunecli_kK_chosen_ms``: -O0 where compiling fast
saves more than the slower epochs cost). An epoch here is what ``fit`` times: the shuffled order sent,
the steps, the validation pass and the logs read back. Same rows, batch size and widths, ReLU, Adam.

    python -m benchmarks.minimal_loop [--repeats 5] [--members 1,2,4,8,16] [--json out.json]

Data: digits (built in) and ../shared/data/housing.csv (skipped when absent).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

SHARED = next((p / "shared" / "data" for p in Path(__file__).resolve().parents if (p / "shared" / "data").is_dir()),
              Path(__file__).resolve().parents[2] / "shared" / "data")
NETWORKS = [("digits", 2, 64, 32), ("digits", 3, 128, 16), ("housing", 2, 64, 32), ("housing", 3, 256, 16)]
EPOCHS = 6


def load(name: str) -> Any:
    from tunecli.config.space import DataSpec
    from tunecli.data import load_data

    if name == "housing":
        return load_data(DataSpec(source=str(SHARED / "housing.csv"), target="median_house_value",
                                  target_scale=100000, seed=0))
    return load_data(DataSpec(source=name, seed=0))


def minimal_epoch_seconds(data: Any, depth: int, width: int, batch: int, repeats: int) -> tuple[float, float]:
    """The hand-written loop: (compile seconds, median warm epoch seconds)."""
    import jax
    import jax.numpy as jnp

    classification = data.task == "classification"
    x, y = jnp.asarray(data.x_train, jnp.float32), jnp.asarray(data.y_train)
    xv, yv = jnp.asarray(data.x_val, jnp.float32), jnp.asarray(data.y_val)
    sizes = [x.shape[1], *[width] * depth, data.n_classes if classification else 1]
    key = jax.random.PRNGKey(0)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        key, sub = jax.random.split(key)
        params.append((jax.random.normal(sub, (n_in, n_out)) * (2 / n_in) ** 0.5, jnp.zeros(n_out)))

    def forward(ps, xb):
        for w, b in ps[:-1]:
            xb = jax.nn.relu(xb @ w + b)
        return xb @ ps[-1][0] + ps[-1][1]

    def loss(ps, xb, yb):
        out = forward(ps, xb)
        if classification:
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(out), yb[:, None], axis=1))
        return jnp.mean((out[:, 0] - yb) ** 2)

    steps = len(data.x_train) // batch

    @jax.jit
    def epoch(ps, m, v, t, perm):
        def step(i, carry):
            ps, m, v, t = carry
            rows = jax.lax.dynamic_slice(perm, (i * batch,), (batch,))
            g = jax.grad(loss)(ps, x[rows], y[rows])
            t = t + 1
            m = jax.tree.map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
            v = jax.tree.map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
            ps = jax.tree.map(lambda p, a, b: p - 1e-3 * (a / (1 - 0.9**t)) / (jnp.sqrt(b / (1 - 0.999**t)) + 1e-7),
                              ps, m, v)
            return ps, m, v, t
        ps, m, v, t = jax.lax.fori_loop(0, steps, step, (ps, m, v, t))
        return ps, m, v, t, loss(ps, xv, yv)

    zeros = jax.tree.map(jnp.zeros_like, params)
    state = (params, zeros, zeros, jnp.float32(0))
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    out = epoch(*state, jnp.asarray(rng.permutation(len(data.x_train)).astype(np.int32)))
    out[-1].block_until_ready()
    compiled = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        perm = jnp.asarray(rng.permutation(len(data.x_train)).astype(np.int32))
        start = time.perf_counter()
        out = epoch(*out[:4], perm)
        float(out[-1])  # the validation loss read back, as a trainer reads its logs
        times.append(time.perf_counter() - start)
    return compiled, statistics.median(times)


def tunecli_epoch_seconds(data: Any, depth: int, width: int, batch: int, k: int, optimized: bool) -> float:
    """Median warm epoch seconds of tunecli's fast trainer (per member for ``k`` > 1: ``members.Group``).

    ``optimized``: the fully optimized program; else the one the cost model picks for a short trial
    (``cost.quick_compile``: -O0 where the compile saved outweighs the slower epochs).
    """
    from tunecli.config.catalogue import with_defaults
    from tunecli.config.space import Training
    from tunecli.trainers.fast.loop import Run
    from tunecli.trainers.fast.members import Group

    training = Training(max_epochs=EPOCHS, early_stopping={"enabled": False})
    ps = [with_defaults({"n_hidden": depth, "n_neurons": width, "batch_size": batch, "activation": "relu",
                         "optimizer": "adam", "learning_rate": 1e-3 * (1 + i / 10)}) for i in range(k)]
    rows = (data.x_train, data.y_train, (data.x_val, data.y_val))
    run = Run(ps[0], data, training, 0, *rows) if k == 1 else Group(ps, data, training, list(range(k)), [rows] * k)
    if optimized:
        run.quick = False
    run.compile(run.epoch_order())
    run.epoch(run.epoch_order())   # warm
    times = []
    for _ in range(EPOCHS):
        idx = run.epoch_order()
        start = time.perf_counter()
        run.epoch(idx)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--members", default="1,2,4,8,16")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from tunecli.trainers.fast.compile import load_jax

    load_jax()
    rows = []
    for name, depth, width, batch in NETWORKS:
        if name == "housing" and not (SHARED / "housing.csv").is_file():
            print(f"skipped {name}: {SHARED / 'housing.csv'} is absent")
            continue
        data = load(name)
        compiled, minimal = minimal_epoch_seconds(data, depth, width, batch, args.repeats)
        row: dict[str, Any] = {"data": name, "network": f"{depth}x{width}", "batch": batch,
                               "minimal_ms": round(minimal * 1e3, 2), "minimal_compile_s": round(compiled, 2)}
        for k in (int(v) for v in args.members.split(",")):
            for optimized in (True, False):
                tag = "" if optimized else "_chosen"
                row[f"tunecli_k{k}{tag}_ms"] = round(
                    tunecli_epoch_seconds(data, depth, width, batch, k, optimized) * 1e3, 2)
        row["ratio_k1"] = round(row["tunecli_k1_ms"] / row["minimal_ms"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
