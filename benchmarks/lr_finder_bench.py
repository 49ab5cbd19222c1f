"""LR finder vs a grid of 12 log-spaced learning rates trained to convergence.

    python -m benchmarks.lr_finder_bench [--out benchmarks/results/lr_finder.jsonl] [--steps 300]
                                         [--data digits housing mnist] [--trainer auto|keras]

For each data set (digits, the housing CSV, the MNIST 20k subset) and architecture: the validation loss
reached at each rule's LR divided by the best validation loss over the grid, and the finder's cost
(seconds, passes over the training rows, the trainer that ran it).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from benchmarks import RESULTS, SHARED
from tunecli.runtime import init_backend  # noqa: E402

init_backend(None)

from tunecli.config.objective import resolve_objective  # noqa: E402
from tunecli.config.space import DataSpec, EarlyStopping, Training  # noqa: E402
from tunecli.data import load_data  # noqa: E402
from tunecli.lrfinder.range_test import run_range_test  # noqa: E402
from tunecli.lrfinder.rules import NoDescent  # noqa: E402
from tunecli.trial import run_trial  # noqa: E402

ARCHS = {"small": {"n_hidden": 1, "n_neurons": 32}, "medium": {"n_hidden": 2, "n_neurons": 128},
         "deep": {"n_hidden": 5, "n_neurons": 64}}
GRID = list(np.logspace(-4, 0, 12))


def datasets() -> dict:
    out = {"digits": (DataSpec(source="digits"), 32)}
    if (SHARED / "housing.csv").exists():
        out["housing"] = (DataSpec(source=str(SHARED / "housing.csv"), target="median_house_value",
                                   target_scale=100_000), 128)
    if (SHARED / "mnist_20k").is_dir():
        out["mnist"] = (DataSpec(source=str(SHARED / "mnist_20k")), 64)
    return out


def val_loss(params: dict, data, training: Training) -> float:
    result = run_trial(params, data, training, resolve_objective("val_loss", data.task), seed=0)
    return result.value if result.value is not None and math.isfinite(result.value) else math.inf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(RESULTS / "lr_finder.jsonl"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=300, help="steps of the range test's ramp")
    parser.add_argument("--data", nargs="*", default=None, help="data sets (default: all there are)")
    parser.add_argument("--trainer", default="auto", choices=["auto", "keras"], help="the range test's trainer")
    args = parser.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    training = Training(max_epochs=args.epochs, early_stopping=EarlyStopping(patience=4))
    with open(args.out, "w") as out:
        for name, (spec, batch) in datasets().items():
            if args.data and name not in args.data:
                continue
            data = load_data(spec)
            for arch, shape in ARCHS.items():
                base = {**shape, "batch_size": batch, "optimizer": "adam"}
                t = time.perf_counter()
                grid = {lr: val_loss({**base, "learning_rate": lr}, data, training) for lr in GRID}
                grid_seconds = time.perf_counter() - t
                best_lr = min(grid, key=grid.get)
                per_epoch = math.ceil(len(data.x_train) / batch)
                try:
                    found = run_range_test(base, data, seed=0, steps=args.steps, trainer=args.trainer)
                except NoDescent as exc:
                    row = {"data": name, "arch": arch, "grid_best_lr": best_lr, "finder_error": exc.message}
                    print(json.dumps(row), flush=True)
                    out.write(json.dumps(row) + "\n")
                    continue
                row = {"data": name, "arch": arch, "grid_best_lr": best_lr, "grid_best_loss": grid[best_lr],
                       "grid_seconds": round(grid_seconds, 1), "finder_seconds": round(found.seconds, 2),
                       "finder_epochs": round(found.steps / per_epoch, 3), "finder_steps": found.steps,
                       "finder_trainer": found.trainer, "rules": {}}
                for rule, lr in found.suggestions.items():
                    loss = val_loss({**base, "learning_rate": lr}, data, training)
                    row["rules"][rule] = {"lr": lr, "loss_ratio": round(loss / grid[best_lr], 4)}
                print(json.dumps(row), flush=True)
                out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
