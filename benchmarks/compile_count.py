"""Compiled programs per search on the fast trainer, per-trial overhead, and seconds per epoch.

    python -m benchmarks.compile_count [--trials 40] [--epochs 3] [--seed 0] [--epoch-time | --compile-only]

Draws ``--trials`` configurations at random (seeded) from a wide digits space (n_hidden 1-4, n_neurons
16-256 log, learning rate 1e-4-0.3 log, activation relu/elu/selu/tanh/swish, optimizer sgd/momentum/
nesterov/rmsprop/adam/nadam, batch size 16/32/64/128, dropout 0-0.3) and trains each through
``run_trial`` for ``--epochs`` epochs, with the persistent compile cache off. Counts the programs
compiled (those the fast trainer's ``meter`` reports compiled, by program kind) against the distinct
(depth, width bucket) pairs met, and the per-trial overhead: the trial's wall time minus the time spent
in its epochs (as the ``meter`` reports them), median over the trials. The counts are deterministic; the
times are not.

``--epoch-time``: seconds per epoch (median and least of 11 after a warm-up) of 2x64 and 4x256 networks on
digits at batch sizes 16 and 128, with dropout 0.2 and without. ``--compile-only``: the distinct programs the
first 40 and all ``--trials`` trials ask for, each trial's programs compiled (once each) without training it.
Prints one JSON line per part.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import time
from contextlib import AbstractContextManager

os.environ.setdefault("TUNECLI_CACHE_DIR", "off")

ACTIVATIONS = ("relu", "elu", "selu", "tanh", "swish")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "nadam")
BATCHES = (16, 32, 64, 128)


def draw(rng, n: int) -> list[dict]:
    """``n`` configurations of the space above."""
    import math

    out = []
    for _ in range(n):
        out.append({"n_hidden": int(rng.integers(1, 5)),
                    "n_neurons": int(round(math.exp(rng.uniform(math.log(16), math.log(256))))),
                    "learning_rate": float(math.exp(rng.uniform(math.log(1e-4), math.log(0.3)))),
                    "activation": str(rng.choice(ACTIVATIONS)), "optimizer": str(rng.choice(OPTIMIZERS)),
                    "batch_size": int(rng.choice(BATCHES)), "dropout": float(rng.uniform(0.0, 0.3))})
    return out


class Heard:
    """What the fast trainer's ``meter`` reports while the block runs: each epoch's seconds (compile excluded)
    and the programs asked for (their keys, and which were compiled then)."""

    def __init__(self) -> None:
        self.total, self.times = 0.0, []
        self.asked: list[tuple] = []
        self.compiled: list[tuple] = []

    def on_epoch(self, seconds: float, logs: dict[str, float]) -> None:
        self.total += seconds
        self.times.append(seconds)

    def on_program(self, key: tuple, compiled: bool) -> None:
        self.asked.append(key)
        if compiled:
            self.compiled.append(key)

    def listening(self) -> AbstractContextManager[None]:
        from tunecli.trainers.fast import meter

        return meter.listening(on_epoch=self.on_epoch, on_program=self.on_program)


def search(args) -> dict:
    import numpy as np

    from tunecli.config.objective import resolve_objective
    from tunecli.config.space import DataSpec, Training
    from tunecli.data import load_data
    from tunecli.studies import attrs
    from tunecli.trainers.fast.structure import bucket
    from tunecli.trial import run_trial

    data = load_data(DataSpec(source="digits"))
    objective = resolve_objective("auto", data.task)
    training = Training(max_epochs=args.epochs, early_stopping={"patience": 3})
    heard = Heard()
    configs = draw(np.random.default_rng(args.seed), args.trials)
    run_trial({"n_neurons": 8, "n_hidden": 1}, data, Training(max_epochs=1), objective, seed=0)  # imports, JAX up
    overheads, shapes, states = [], set(), collections.Counter()
    start_all = time.perf_counter()
    with heard.listening():
        for k, p in enumerate(configs):
            epochs_before = heard.total
            start = time.perf_counter()
            result = run_trial(p, data, training, objective, seed=k)
            wall = time.perf_counter() - start
            overheads.append(wall - (heard.total - epochs_before))
            states[f"{result.state}/{result.extras.get(attrs.TRAINER)}"] += 1
            shapes.add((p["n_hidden"], bucket(p["n_neurons"])))
    kinds = collections.Counter(key[0] for key in heard.compiled)
    return {"part": "search", "trials": args.trials, "epochs": args.epochs, "seed": args.seed,
            "compiled": len(heard.compiled), "by_kind": dict(kinds), "depth_width_pairs": len(shapes),
            "median_overhead_s": round(statistics.median(overheads), 4),
            "mean_overhead_s": round(statistics.mean(overheads), 4),
            "median_epoch_s": round(statistics.median(heard.times), 4),
            "wall_s": round(time.perf_counter() - start_all, 2), "states": dict(states)}


def compile_only(args) -> dict:
    """The distinct programs the first 40 and all ``--trials`` trials ask for: each trial's programs compiled
    (once each: a program already compiled is found in memory), none trained."""
    import numpy as np

    from tunecli.config.catalogue import with_defaults
    from tunecli.config.space import DataSpec, Training
    from tunecli.data import load_data
    from tunecli.trainers.fast import loop
    from tunecli.trainers.fast.structure import bucket

    data = load_data(DataSpec(source="digits"))
    row: dict = {"part": "compile_only", "seed": args.seed}
    configs = draw(np.random.default_rng(args.seed), args.trials)
    start = time.perf_counter()
    for n in sorted({min(40, args.trials), args.trials}):
        heard = Heard()
        with heard.listening():
            for k, p in enumerate(configs[:n]):
                run = loop.Run(with_defaults(p), data, Training(max_epochs=args.epochs), k, data.x_train, data.y_train,
                               (data.x_val, data.y_val))
                run.compile(run.epoch_order())
        kinds = collections.Counter(key[0] for key in set(heard.asked))
        pairs = len({(p["n_hidden"], bucket(p["n_neurons"])) for p in configs[:n]})
        row[f"trials_{n}"] = {"programs": len(set(heard.asked)), "by_kind": dict(kinds), "depth_width_pairs": pairs}
    row["wall_s"] = round(time.perf_counter() - start, 2)
    return row


def epoch_time(args) -> list[dict]:
    """Seconds per epoch of 2x64 and 4x256 ELU networks (Adam, dropout 0.2 or none) at batch sizes 16 and 128."""
    from tunecli.config.catalogue import with_defaults
    from tunecli.config.objective import resolve_objective
    from tunecli.config.space import DataSpec, Training
    from tunecli.data import load_data
    from tunecli.trainers.fast import fit

    data = load_data(DataSpec(source="digits"))
    objective = resolve_objective("auto", data.task)
    heard = Heard()
    rows = []
    for depth, width in ((2, 64), (4, 256)):
        for batch in (16, 128):
            for dropout in (0.2, 0.0):
                p = {"n_hidden": depth, "n_neurons": width, "activation": "elu", "optimizer": "adam",
                     "batch_size": batch, "dropout": dropout, "learning_rate": 1e-3}
                heard.times = []
                with heard.listening():
                    fit(with_defaults(p), data, Training(max_epochs=12, early_stopping={"enabled": False}), objective,
                        seed=0)
                times = heard.times[1:]  # the first epoch warms the caches
                rows.append({"part": "epoch_time", "net": f"{depth}x{width}", "batch_size": batch, "dropout": dropout,
                             "median_epoch_s": round(statistics.median(times), 5), "min_epoch_s": round(min(times), 5)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epoch-time", action="store_true", help="seconds per epoch at batch 16 and 128 only")
    parser.add_argument("--compile-only", action="store_true", help="count the programs, compiled but not trained")
    args = parser.parse_args()
    from tunecli.runtime import init_backend

    init_backend(None)
    rows = epoch_time(args) if args.epoch_time else [compile_only(args)] if args.compile_only else [search(args)]
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
