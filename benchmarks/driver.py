"""What the drivers of one-job-per-(data set, seed) benchmarks share (``winner_bench``, ``pareto_bench``): their
command-line options, the jobs run side by side in processes pinned to their cores, the failed runs and the
median (interquartile range) cells of their tables."""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import ROOT, module_command


def job_arguments(parser: argparse.ArgumentParser, *, data: Sequence[str], tools: Sequence[str], out: Path) -> None:
    """The options every driver takes: which data sets, seeds and tools; jobs at a time and their cores; where rows
    go (``--out``), a table of rows already run (``--summarize``) and, hidden, one job (``--job DATA SEED``)."""
    parser.add_argument("--data", nargs="+", default=list(data), choices=list(data))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--tools", nargs="+", default=list(tools), choices=list(tools), help="run just these tools")
    parser.add_argument("--parallel", type=int, default=1, help="jobs at a time")
    parser.add_argument("--cores", type=int, default=2, help="CPUs each job is pinned to (with --parallel > 1)")
    parser.add_argument("--out", default=str(out))
    parser.add_argument("--summarize", metavar="JSONL")
    parser.add_argument("--job", nargs=2, metavar=("DATA", "SEED"), help=argparse.SUPPRESS)


def _pin(index: int, cores: int) -> None:
    """Pin this (child) process to its own ``cores`` CPUs (job ``index``)."""
    first = index * cores
    os.sched_setaffinity(0, set(range(first, first + cores)))


def drive(module: str, jobs: list[tuple[str, int]], parallel: int, cores: int, out: Path) -> None:
    """Run the jobs, ``parallel`` at a time, each in its own process (``python -m MODULE --job NAME SEED``, from
    the repository root) pinned to ``cores`` CPUs; their JSON lines are appended to ``out``."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": str(cores),
           "OPENBLAS_NUM_THREADS": str(cores), "MKL_NUM_THREADS": str(cores), "PYTHONUNBUFFERED": "1"}
    waiting = list(jobs)
    running: dict[int, tuple[subprocess.Popen, Any]] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as sink:
        while waiting or running:
            for slot in [s for s in range(parallel) if s not in running][:len(waiting)]:
                name, seed = waiting.pop(0)
                log = tempfile.TemporaryFile("w+")
                proc = subprocess.Popen(module_command(module, "--job", name, str(seed)), stdout=log,
                                        stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
                                        preexec_fn=(lambda s=slot: _pin(s, cores)) if parallel > 1 else None)
                running[slot] = (proc, log)
            time.sleep(0.5)
            for slot, (proc, log) in list(running.items()):
                if proc.poll() is None:
                    continue
                log.seek(0)
                for line in log:
                    if line.startswith("{"):
                        sink.write(line)
                        sink.flush()
                        print(line.strip(), flush=True)
                log.close()
                del running[slot]


def failed_runs(rows: list[dict]) -> list[str]:
    """Lines naming the jobs that failed (their ``error``), after a blank line; none when all ran."""
    errors = [r for r in rows if "error" in r]
    if not errors:
        return []
    return ["", f"{len(errors)} failed runs:"] + [f"- {r['data']} {r['seed']} {r['tool']}: {r['error']}" for r in errors]


def median_iqr(values: Sequence[float], fmt: str = ".4f") -> tuple[str, str]:
    """The median and the interquartile range of ``values`` as two table cells.

    Example:
        >>> median_iqr([1.0, 2.0, 3.0, 4.0], ".2f")
        ('2.50', '1.75–3.25')
    """
    q1, q3 = np.percentile(values, [25, 75])
    return f"{np.median(values):{fmt}}", f"{q1:{fmt}}–{q3:{fmt}}"
