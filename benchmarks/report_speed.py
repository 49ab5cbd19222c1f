"""Start-up and report speed: `tunecli --help`, and `tunecli report` on stored studies of N trials.

    python -m benchmarks.report_speed [--trials 200 1000]

Builds studies directly through Optuna (each trial with a 20-epoch curve, as a search stores
them) in a temporary folder, then times the installed command (best of 3 runs each).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from benchmarks import ROOT

TUNECLI = shutil.which("tunecli") or str(Path(sys.executable).with_name("tunecli"))


def make_study(folder: Path, n: int) -> None:
    from tunecli.studies import attrs
    from tunecli.studies.storage import open_storage

    storage = open_storage(str(folder / "tunecli.journal"))
    study = optuna.create_study(study_name="speed", storage=storage, direction="maximize")
    study.set_user_attr(attrs.OBJECTIVE, "val_accuracy")
    study.set_user_attr(attrs.MAX_EPOCHS, 20)
    for i in range(n):
        trial = study.ask()
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        width = trial.suggest_int("n_neurons", 16, 256, log=True)
        act = trial.suggest_categorical("activation", ["relu", "elu", "selu"])
        curve = [min(0.99, 0.5 + 0.02 * e + (i % 7) * 0.01) for e in range(20)]
        trial.set_user_attr(attrs.CONFIG, {"learning_rate": lr, "n_neurons": width, "activation": act})
        trial.set_user_attr(attrs.CURVE, {"val_accuracy": curve, "loss": [1 / (e + 1) for e in range(20)],
                                      "val_loss": [1 / (e + 1) for e in range(20)]})
        trial.set_user_attr(attrs.EPOCHS, 20)
        trial.set_user_attr(attrs.SECONDS, 2.0)
        study.tell(trial, curve[-1])


def best_of(cmd: list[str], cwd: Path, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return round(min(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, nargs="+", default=[200, 1000])
    args = parser.parse_args()
    out = {"help_s": best_of([TUNECLI, "--help"], ROOT)}
    for n in args.trials:
        with tempfile.TemporaryDirectory() as tmp:
            make_study(Path(tmp), n)
            out[f"report_{n}_s"] = best_of([TUNECLI, "report"], Path(tmp))
            out[f"report_{n}_json_s"] = best_of([TUNECLI, "report", "--format", "json"], Path(tmp))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
