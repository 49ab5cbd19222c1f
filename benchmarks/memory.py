"""Resident memory across trials in one long-lived worker process.

    python -m benchmarks.memory [--trials 50]
    python -m benchmarks.memory --trial mnist [--data-dir DIR] [--epochs 2] [--repeat 1]

Runs the search's trial path (build, compile, fit with early stopping, clear_session) for
varied configurations on digits and prints the resident set size after trials 1, 5, 10, 25, 50.

``--trial mnist``: the peak resident set size (``ru_maxrss``) of this process over ONE fast-trainer
trial on the MNIST 20k subset (``../shared/data/mnist_20k``): 4x512 units, dropout 0.2, batch 32,
2 epochs, no compile cache (``--repeat 3``: its 13,200 training rows three times over, about the full
MNIST's 40k). Run it as a fresh process (the peak is the process's); to measure another
tree, run that tree's copy of this module from that tree's root.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks import SHARED


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1]) / 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


MNIST_TRIAL = {"n_hidden": 4, "n_neurons": 512, "dropout": 0.2, "batch_size": 32, "learning_rate": 1e-3}


def trial_mode(data_dir: Path, epochs: int, repeat: int) -> None:
    """Peak RSS of one fast-trainer trial on the MNIST 20k subset (its training rows ``repeat`` times over),
    in this (fresh) process."""
    import os
    import resource

    os.environ["TUNECLI_CACHE_DIR"] = "off"  # the compile is part of the trial, in both trees
    from tunecli.runtime import init_backend

    init_backend(None)
    import numpy as np

    from tunecli.config.objective import resolve_objective
    from tunecli.config.space import DataSpec, Training
    from tunecli.data import load_data
    from tunecli.studies import attrs
    from tunecli.trial import run_trial

    data = load_data(DataSpec(source=str(data_dir)))
    x, y = (np.tile(data.x_train, (repeat, 1)), np.tile(data.y_train, repeat)) if repeat > 1 else (data.x_train, data.y_train)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_loaded = rss_mb()
    reset = _reset_peak()  # loading the data peaks higher than what stays: measure the trial's own peak too
    result = run_trial(MNIST_TRIAL, data, Training(max_epochs=epochs), resolve_objective("auto", data.task), seed=0,
                       x=x, y=y)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    trial_peak = _status_mb("VmHWM") if reset else None
    later = (result.seconds - (result.first_epoch_seconds or 0)) / max(1, result.epochs - 1)
    print(json.dumps({"mode": "trial", "data": str(data_dir), "rows": len(x), "state": result.state,
                      "trainer": result.extras.get(attrs.TRAINER), "epochs": result.epochs,
                      "val_accuracy": result.history.get("val_accuracy"),
                      "peak_rss_mb_before_trial": round(loaded, 1), "rss_mb_before_trial": round(rss_loaded, 1),
                      "peak_rss_mb": round(peak, 1), "trial_peak_rss_mb": trial_peak and round(trial_peak, 1),
                      "first_epoch_s": round(result.first_epoch_seconds or 0, 3),
                      "later_epoch_s": round(later, 3)}))


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux only)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def search_mode(trials: int, recycle: int) -> None:
    """RSS of a real `tunecli search` (parent + worker processes) after trial 5 and trial N."""
    import shutil
    import subprocess
    import tempfile

    import optuna
    import yaml

    from tunecli.search.coordination import finished
    from tunecli.studies.storage import open_storage

    tunecli = shutil.which("tunecli") or str(Path(sys.executable).with_name("tunecli"))
    with tempfile.TemporaryDirectory() as tmp:
        space = {"study": "mem", "data": {"source": "digits"}, "search": {"trials": trials, "pruner": "none"},
                 "training": {"max_epochs": 2, "recycle_after": recycle},
                 "space": {"n_hidden": {"int": [1, 3]}, "n_neurons": {"choice": [32, 64, 128]},
                           "activation": {"choice": ["relu", "elu", "selu"]}, "batch_size": {"choice": [32, 64]}}}
        Path(tmp, "s.yaml").write_text(yaml.safe_dump(space))
        proc = subprocess.Popen([tunecli, "search", "s.yaml"], cwd=tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        marks: dict[int, float] = {}
        peak = 0.0
        while proc.poll() is None:
            time.sleep(0.5)
            rss = tree_rss_mb(proc.pid)
            peak = max(peak, rss)
            try:
                done = finished(optuna.load_study(study_name="mem", storage=open_storage(str(Path(tmp, "tunecli.journal")))))
            except Exception:  # noqa: BLE001 - the study is not there yet
                continue
            for mark in (5, 25, trials - 1):
                if done >= mark and mark not in marks:
                    marks[mark] = round(rss, 1)
        print(json.dumps({"mode": "search", "recycle_after": recycle, "rss_mb_after_trial": marks,
                          "peak_mb": round(peak, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--search", action="store_true", help="measure a real `tunecli search` instead")
    parser.add_argument("--recycle-after", type=int, default=25)
    parser.add_argument("--trial", choices=["mnist"], help="peak RSS of one fast-trainer trial on this data set")
    parser.add_argument("--data-dir", type=Path, default=SHARED / "mnist_20k")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="--trial: train on the rows this many times over")
    args = parser.parse_args()
    if args.trial:
        trial_mode(args.data_dir, args.epochs, args.repeat)
        return
    if args.search:
        search_mode(args.trials, args.recycle_after)
        return
    from tunecli.runtime import init_backend

    init_backend(None)
    from tunecli.config.objective import resolve_objective
    from tunecli.config.space import DataSpec, Training
    from tunecli.data import load_data
    from tunecli.trial import run_trial

    data = load_data(DataSpec(source="digits"))
    objective = resolve_objective("auto", data.task)
    marks, fixed = {}, []
    for i in range(1, args.trials + 1):
        params = {"n_hidden": 1 + i % 3, "n_neurons": [32, 64, 128][i % 3], "activation": ["relu", "elu", "selu"][i % 3],
                  "batch_size": [32, 64][i % 2]}
        start = time.perf_counter()
        result = run_trial(params, data, Training(max_epochs=3), objective, seed=i)
        later = (result.seconds - (result.first_epoch_seconds or 0)) / max(1, result.epochs - 1)
        fixed.append(round(time.perf_counter() - start - later * (result.epochs - 1), 3))
        if i in (1, 5, 10, 25, 50, 100):
            marks[i] = round(rss_mb(), 1)
            print(json.dumps({"trial": i, "rss_mb": marks[i], "fixed_cost_s": fixed[-1]}), flush=True)
    print(json.dumps({"rss_mb": marks, "fixed_cost_first5": fixed[:5], "fixed_cost_last5": fixed[-5:]}))


if __name__ == "__main__":
    main()
