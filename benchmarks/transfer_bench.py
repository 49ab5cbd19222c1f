"""Task B (MNIST 4 vs 9, 200 labelled images) from scratch, with transfer from task A, and with autoencoder
pretraining: the same wall-clock budget each, many seeds.

    python -m benchmarks.transfer_bench [--seeds 10] [--budget 45] [--out FILE]

Task A (the MNIST 20k subset without 4 and 9) is trained once with a fixed configuration (``tunecli train``,
saved as a ``.keras`` file). Then for each seed (it draws task B's split and seeds the search), three searches of
the same space (``search_spaces/transfer_task_b.yaml``'s, the transfer dimensions only where they apply), each
given ``--budget`` seconds in all (re-ranking included; the autoencoder's training counts against its budget):

- scratch: no reuse;
- transfer: ``transfer: {from: task_a.keras}``;
- autoencoder: ``pretrain: {kind: autoencoder, layers: [128, 64], epochs: 5, unlabeled: rest}`` (the other
  ~18,000 images of the subset, labels unused).

Each variant's winner is the model the search kept (trained on the 200 labels only), scored once on the test
split. Also reported: the epochs each search trained (in trial order) before one of its trials first
reached the best validation accuracy any epoch of the scratch search reached, same seed.
Needs ../shared/data/mnist_20k. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import RESULTS, SHARED

MNIST = str(SHARED / "mnist_20k")
TASK_A = {"study": "task-a", "data": {"source": MNIST, "classes": [0, 1, 2, 3, 5, 6, 7, 8], "seed": 0},
          "training": {"max_epochs": 20, "refit_epochs": 12},
          "space": {"n_hidden": 3, "n_neurons": 100, "activation": "relu", "learning_rate": 1e-3, "batch_size": 64}}
COMMON = {"n_hidden": {"int": [1, 4]}, "n_neurons": {"int": [16, 128], "log": True},
          "learning_rate": {"float": [1e-4, 1e-2], "log": True}, "batch_size": 32, "dropout": {"float": [0.0, 0.3]}}
REUSE = {"reuse_layers": {"int": [1, 3]}, "freeze_epochs": {"int": [0, 5]},
         "fine_tune_lr_factor": {"float": [0.01, 1.0], "log": True}}
VARIANTS = ("scratch", "transfer", "autoencoder")


def base_model(folder: Path) -> Path:
    """Task A's network, trained once and saved as ``tunecli train`` saves it."""
    from tunecli.config.space import validate_space
    from tunecli.train import train_best

    path = folder / "task_a.keras"
    outcome = train_best(validate_space(TASK_A), output=path, seed=0)
    print(f"task A: test accuracy {outcome.test_score:.4f}, {outcome.seconds:.1f} s", flush=True)
    return path


def space_for(variant: str, seed: int, base: Path) -> dict:
    raw = {"study": f"b-{variant}-{seed}", "data": {"source": MNIST, "classes": [4, 9], "train_rows": 200, "seed": seed},
           "search": {"trials": 100_000, "seed": seed},
           "training": {"max_epochs": 30, "early_stopping": {"patience": 5}}, "space": dict(COMMON)}
    if variant == "scratch":
        raw["space"]["activation"] = "relu"
    else:
        raw["space"].update(REUSE)
    if variant == "transfer":
        raw["transfer"] = {"from": str(base)}
    if variant == "autoencoder":
        raw["pretrain"] = {"kind": "autoencoder", "layers": [128, 64], "activation": "relu", "epochs": 5,
                           "unlabeled": "rest"}
        raw["space"]["reuse_layers"] = {"int": [1, 2]}
    return raw


def run_one(variant: str, seed: int, budget: float, base: Path, folder: Path) -> dict:
    """One search of ``budget`` seconds in all, then its kept winner scored on the test split."""
    from tunecli.config.space import load_space, validate_space
    from tunecli.prepare import prepare
    from tunecli.search.run import run_search
    from tunecli.search.study import create_or_resume
    from tunecli.train import train_best

    raw = space_for(variant, seed, base)
    start = time.perf_counter()
    pretrain_seconds = 0.0
    if variant == "autoencoder":   # trained first and stored in the study: its time comes off the search's
        space = validate_space(raw)
        prepare(space, open_study=lambda objective: create_or_resume(space, objective, None))
        pretrain_seconds = time.perf_counter() - start
    raw["search"]["timeout"] = max(1.0, budget - pretrain_seconds)
    outcome = run_search(validate_space(raw), quiet=True, best_out=folder / f"{raw['study']}-best.yaml")
    wall = time.perf_counter() - start
    kept = train_best(load_space(outcome.best_path), output=None, from_search=True, seed=seed)
    rows = [r for r in outcome.rows if r.get("state") in ("COMPLETE", "PRUNED", "FAIL")]
    return {"variant": variant, "seed": seed, "budget": budget, "wall": round(wall, 2),
            "pretrain_seconds": round(pretrain_seconds, 2), "trials": len(rows), "val": outcome.best["value"],
            "test": kept.test_score, "best_params": outcome.best["params"],
            "curves": [(r["number"], (r.get("curve") or {}).get("val_accuracy") or []) for r in sorted(
                rows, key=lambda r: r["number"])]}


def epochs_to_reach(curves: list, target: float) -> int | None:
    """Epochs trained, trial after trial, until one first reaches ``target`` (None: never)."""
    spent = 0
    for _, curve in curves:
        for i, value in enumerate(curve):
            if value >= target:
                return spent + i + 1
        spent += len(curve)
    return None


def summarize(rows: list[dict]) -> list[str]:
    scratch_best = {r["seed"]: max(max(curve, default=0.0) for _, curve in r["curves"])  # its best single epoch
                    for r in rows if r["variant"] == "scratch"}
    lines = ["| variant | seeds | test median | test IQR | val median | trials (median) | epochs to reach scratch's best "
             "val (median; seeds that reached it) | wall s (median) |", "|---|---|---|---|---|---|---|---|"]
    for variant in VARIANTS:
        runs = [r for r in rows if r["variant"] == variant]
        if not runs:
            continue
        test = np.array([r["test"] for r in runs])
        q1, q3 = np.percentile(test, [25, 75])
        reach = [epochs_to_reach(r["curves"], scratch_best[r["seed"]]) for r in runs if r["seed"] in scratch_best]
        got = [e for e in reach if e is not None]
        lines.append(f"| {variant} | {len(runs)} | {np.median(test):.4f} | {q1:.4f}–{q3:.4f} | "
                     f"{statistics.median(r['val'] for r in runs):.4f} | "
                     f"{statistics.median(r['trials'] for r in runs):.0f} | "
                     f"{statistics.median(got) if got else '—'} ({len(got)} of {len(reach)}) | "
                     f"{statistics.median(r['wall'] for r in runs):.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=float, default=45.0, help="seconds per search, everything included")
    parser.add_argument("--out", default=str(RESULTS / "transfer.jsonl"))
    parser.add_argument("--summarize", action="store_true", help="only print the table of --out")
    args = parser.parse_args()
    if args.summarize:
        print("\n".join(summarize([json.loads(line) for line in open(args.out)])))
        return
    if not (SHARED / "mnist_20k").is_dir():
        sys.exit(f"skip: {SHARED / 'mnist_20k'} is absent")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, open(args.out, "w") as out:
        folder = Path(tmp)
        os.chdir(folder)
        base = base_model(folder)
        for seed in range(args.seeds):
            for variant in VARIANTS[seed % 3:] + VARIANTS[:seed % 3]:
                row = run_one(variant, seed, args.budget, base, folder)
                rows.append(row)
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(json.dumps({k: v for k, v in row.items() if k != "curves"}), flush=True)
    print("\n".join(summarize(rows)))


if __name__ == "__main__":
    main()
