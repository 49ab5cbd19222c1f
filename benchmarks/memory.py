"""Resident memory across trials in one long-lived worker process.

    python benchmarks/memory.py [--trials 50]

Runs the search's trial path (build, compile, fit with early stopping, clear_session) for
varied configurations on digits and prints the resident set size after trials 1, 5, 10, 25, 50.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


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
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--search", action="store_true", help="measure a real `tunecli search` instead")
    parser.add_argument("--recycle-after", type=int, default=25)
    args = parser.parse_args()
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
