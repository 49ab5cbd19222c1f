"""Per-trial fixed cost over a long search in one process.

    python -m benchmarks.fixed_cost [--trials 100] [--trainer auto|keras]

Runs ``tunecli search`` in-process on digits (``peers.SMALL_SPACE``, 20-epoch cap,
patience 3, one worker, no process recycling, an empty compile cache), then reads every trial
back. Fixed cost of a trial = its wall time minus the time of its epochs after the first, plus
the gap since the previous trial ended (sampler, storage) — the first epoch counts as fixed, since
it is where Keras traces and XLA compiles. Prints medians and means by blocks of 10 trials and
appends one JSON line to benchmarks/results/fixed_cost.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import RESULTS, peers

PATIENCE = 3   # as run.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--trainer", default="auto", choices=["auto", "keras"])
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="tunecli-fixed-")
    os.environ["TUNECLI_CACHE_DIR"] = os.path.join(tmp, "xla")
    os.chdir(tmp)
    from tunecli.config.space import validate_space
    from tunecli.search.run import run_search

    raw = {"study": "fixed-cost", "data": {"source": "digits"}, "space": dict(peers.SMALL_SPACE),
           "search": {"trials": args.trials, "seed": 0},
           "training": {"max_epochs": 20, "early_stopping": {"patience": PATIENCE}, "recycle_after": 0,
                        "trainer": args.trainer}}
    start = time.perf_counter()
    run_search(validate_space(raw), quiet=True, best_out=Path(tmp) / "best.yaml")
    wall = time.perf_counter() - start
    import optuna

    from tunecli.studies import attrs
    from tunecli.studies.storage import open_storage

    study = optuna.load_study(study_name="fixed-cost", storage=open_storage(None))
    trials = sorted((t for t in study.trials if t.datetime_complete), key=lambda t: t.number)
    fixed, previous_end = [], None
    for t in trials:
        duration = (t.datetime_complete - t.datetime_start).total_seconds()
        later_epochs = (t.user_attrs.get(attrs.FIT_SECONDS) or 0.0) - (t.user_attrs.get(attrs.FIRST_EPOCH_SECONDS) or 0.0)
        gap = (t.datetime_start - previous_end).total_seconds() if previous_end else 0.0
        fixed.append(duration - later_epochs + gap)
        previous_end = t.datetime_complete
    blocks = [fixed[i:i + 10] for i in range(0, len(fixed), 10)]
    row = {"date": time.strftime("%Y-%m-%d"), "trainer": args.trainer, "trials": len(trials), "wall": round(wall, 2),
           "median_fixed": round(statistics.median(fixed), 3), "mean_fixed": round(statistics.mean(fixed), 3),
           "block_medians": [round(statistics.median(b), 3) for b in blocks],
           "block_means": [round(statistics.mean(b), 3) for b in blocks],
           "epochs": sum(t.user_attrs.get(attrs.EPOCHS) or 0 for t in trials)}
    print(json.dumps(row))
    with open(RESULTS / "fixed_cost.jsonl", "a") as out:
        out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
