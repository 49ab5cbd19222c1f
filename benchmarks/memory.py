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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()
    from tunecli.runtime import init_backend

    init_backend(None)
    from tunecli.data import load_data
    from tunecli.objective import resolve_objective
    from tunecli.space import DataSpec, Training
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
