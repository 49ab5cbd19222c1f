"""A long search: does the time a trial spends outside training grow with the study?

    python -m benchmarks.long_study [--trials 1000] [--out benchmarks/results/long_study.jsonl]

Runs ``tunecli search`` (the installed command, its defaults: TPE, median pruner, the journal-file store,
worker recycling every 25 trials) on digits for ``--trials`` trials of one epoch each, on a space whose
network shape is fixed (one program per batch size for the whole search) while the learning rate, optimizer,
activation and batch size vary, so that what grows, if anything, is the sampler, the store and the bookkeeping. Then reads
the study: a trial's time outside training is the time from its start to the next trial's start minus the
seconds its ``fit`` took. Prints (and appends to ``--out``) the medians over the 20 trials around the tenth of
the search (91-110 of 1,000) and over the last 20, the ratio, and the whole search's wall time. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks import RESULTS

SPACE = {
    "n_hidden": 1, "n_neurons": 32,
    "learning_rate": {"float": [1e-4, 0.3], "log": True},
    "activation": {"choice": ["relu", "elu", "selu", "tanh", "swish"]},
    "optimizer": {"choice": ["sgd", "momentum", "nesterov", "rmsprop", "adam", "nadam"]},
    "batch_size": {"choice": [64, 128]},
}


def outside_training(trials: list) -> list[tuple[int, float]]:
    """(number, seconds outside training) of each trial that has a next one, in start order."""
    done = sorted((t for t in trials if t.datetime_start is not None), key=lambda t: t.datetime_start)
    from tunecli.studies import attrs

    out = []
    for trial, following in zip(done, done[1:]):
        gap = (following.datetime_start - trial.datetime_start).total_seconds()
        out.append((trial.number, gap - float(trial.user_attrs.get(attrs.FIT_SECONDS) or 0.0)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--out", default=str(RESULTS / "long_study.jsonl"))
    args = parser.parse_args()
    from tunecli.studies.storage import open_storage

    folder = Path(tempfile.mkdtemp(prefix="tunecli-long-"))
    space = {"study": "long", "data": {"source": "digits"}, "search": {"trials": args.trials, "seed": 0},
             "training": {"max_epochs": 1}, "space": SPACE}
    (folder / "long.yaml").write_text(yaml.safe_dump(space))
    env = {**os.environ, "TUNECLI_CACHE_DIR": str(folder / "xla")}
    tunecli = Path(sys.executable).with_name("tunecli")
    start = time.perf_counter()
    subprocess.run([str(tunecli), "search", "long.yaml", "--json"], cwd=folder, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    import optuna

    study = optuna.load_study(study_name="long", storage=open_storage(str(folder / "tunecli.journal"), must_exist=True))
    gaps = outside_training(study.trials)
    last = [g for n, g in gaps[-20:]]
    tenth = args.trials // 10
    early = [g for n, g in gaps if tenth - 10 <= n < tenth + 10]
    row = {"trials": len(study.trials), "wall_s": round(wall, 1), "machine": platform.machine(),
           "cpus": os.cpu_count(), "median_outside_s_tenth": round(statistics.median(early), 4),
           "median_outside_s_last_20": round(statistics.median(last), 4),
           "ratio": round(statistics.median(last) / statistics.median(early), 2),
           "mean_outside_s_all": round(statistics.mean(g for _, g in gaps), 4)}
    print(json.dumps(row))
    with open(args.out, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
