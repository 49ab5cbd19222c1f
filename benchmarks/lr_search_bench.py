"""A search whose learning rate comes from the LR finder against the same search with a log-uniform
learning rate: same space otherwise, same split, the same wall-clock budget, many seeds.

    python -m benchmarks.lr_search_bench [--seeds 10] [--budget digits=20 housing=30] [--out FILE]

Each run is ``tunecli search`` in a fresh folder (``--timeout`` = the budget, trials unbounded, re-ranking off,
one shared compile cache); its best configuration is then refitted on train + validation for its best epoch
count on the fast trainer (the recipe of ``tunecli train``) and scored once on the test split. Reported per
data set and variant: median and interquartile range of the test score, trials run, and wall time per trial.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from benchmarks import RESULTS, ROOT, SHARED

SPACES = {
    "digits": ROOT / "search_spaces" / "quickstart.yaml",
    "housing": ROOT / "search_spaces" / "housing.yaml",
}
LR_FINDER = {"lr_finder": {"rule": "valley", "multiplier": {"float": [0.3, 3.0], "log": True}}}


def space_for(name: str, seed: int, variant: str) -> dict:
    raw = yaml.safe_load(SPACES[name].read_text())
    raw["study"] = f"{name}-{variant}-{seed}"
    raw["search"] = {**raw.get("search", {}), "seed": seed, "trials": 100_000, "rerank": {"top": 0}}
    raw["data"] = {**raw["data"], "seed": seed}
    if name == "housing":
        raw["data"]["source"] = str(SHARED / "housing.csv")
    if variant == "lr_finder":
        raw["space"]["learning_rate"] = LR_FINDER
    return raw


def run_one(name: str, seed: int, variant: str, budget: float, cache: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "space.yaml"
        path.write_text(yaml.safe_dump(space_for(name, seed, variant)))
        env = {**os.environ, "TUNECLI_CACHE_DIR": cache}
        proc = subprocess.run([sys.executable, "-m", "tunecli.cli", "search", str(path), "--timeout", f"{budget}s",
                               "--json"], cwd=folder, capture_output=True, text=True, env=env, timeout=budget * 4 + 120)
        if proc.returncode != 0:
            return {"data": name, "seed": seed, "variant": variant, "error": proc.stderr[-500:]}
        summary = json.loads(proc.stdout)
        best = yaml.safe_load((Path(folder) / summary["best_config_file"]).read_text())
    counted = [t for t in summary["trials"] if t["state"] in ("COMPLETE", "PRUNED", "FAIL")]
    return {"data": name, "seed": seed, "variant": variant, "budget": budget, "trials": len(counted),
            "search_seconds": summary["seconds"], "seconds_per_trial": summary["seconds"] / max(1, len(counted)),
            "best_val": summary["best"]["value"], "test": test_score(best)}


def test_score(best: dict) -> float:
    """Refit the best configuration on train + validation for its best epoch count; score it on the test split."""
    from tunecli.config.objective import resolve_objective
    from tunecli.config.space import Training, validate_space
    from tunecli.data import load_data
    from tunecli.trial import run_trial

    space = validate_space(best)
    data = load_data(space.data)
    objective = resolve_objective(space.objective, data.task)
    params = {k: v.value for k, v in space.space.items()}
    epochs = space.training.refit_epochs or space.training.max_epochs
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    training = Training(max_epochs=epochs, early_stopping={"enabled": False})
    result = run_trial(params, data, training, objective, seed=0, x=x, y=y, validation=(data.x_test, data.y_test))
    curve = result.history.get(objective.metric) or [float("nan")]
    return float(curve[-1])


def summarize(rows: list[dict]) -> list[str]:
    lines = ["| data | variant | seeds | test median | test IQR | best val median | trials (median) | s/trial (median) |",
             "|---|---|---|---|---|---|---|---|"]
    for name in sorted({r["data"] for r in rows}):
        for variant in ("log_uniform", "lr_finder"):
            runs = [r for r in rows if r["data"] == name and r["variant"] == variant and "test" in r]
            if not runs:
                continue
            test = np.array([r["test"] for r in runs])
            q1, q3 = np.percentile(test, [25, 75])
            lines.append(f"| {name} | {variant} | {len(runs)} | {np.median(test):.4f} | {q1:.4f}–{q3:.4f} | "
                         f"{statistics.median(r['best_val'] for r in runs):.4f} | "
                         f"{statistics.median(r['trials'] for r in runs):.0f} | "
                         f"{statistics.median(r['seconds_per_trial'] for r in runs):.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", nargs="*", default=["digits=20", "housing=30"], help="data=seconds")
    parser.add_argument("--out", default=str(RESULTS / "lr_search.jsonl"))
    args = parser.parse_args()
    budgets = {k: float(v) for k, v in (item.split("=") for item in args.budget)}
    if "housing" in budgets and not (SHARED / "housing.csv").exists():
        budgets.pop("housing")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as cache, open(args.out, "w") as out:
        for name, budget in budgets.items():
            for seed in range(args.seeds):
                for variant in ("log_uniform", "lr_finder"):
                    row = run_one(name, seed, variant, budget, cache)
                    rows.append(row)
                    out.write(json.dumps(row) + "\n")
                    print(json.dumps(row), flush=True)
    print("\n".join(summarize(rows)))


if __name__ == "__main__":
    main()
