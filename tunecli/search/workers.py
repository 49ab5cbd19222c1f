"""Worker processes: trials run in spawned processes, each loading Keras and the data once.

A slot runs one worker process at a time; the worker stops after ``training.recycle_after``
trials and the slot starts a fresh one, so memory and Keras' per-model overhead cannot
creep up over a long search. ``search.workers`` slots share the study. The parent process
never imports Keras: it only starts, watches and restarts workers.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.errors import RunError
from tunecli.search import coordination
from tunecli.search.progress import ProgressFactory, QuietProgress

if TYPE_CHECKING:
    import optuna

    from tunecli.config.space import SearchSpace

MAX_CRASHES = 3


def run_pool(space: SearchSpace, storage_url: str | None, study: optuna.Study, *, quiet: bool,
             progress: ProgressFactory = QuietProgress) -> bool:
    """Run the missing trials in worker processes; True when interrupted by Ctrl-C."""
    context = multiprocessing.get_context("spawn")
    deadline = time.monotonic() + space.search.timeout if space.search.timeout else None
    generation = 0
    crashes = 0

    def start(slot: int) -> Any:
        nonlocal generation
        generation += 1
        proc = context.Process(target=worker_main, name=f"tunecli-worker-{slot}",
                               args=(space.raw, space.path, storage_url, slot, generation, quiet, progress))
        proc.start()
        return proc

    procs = {slot: start(slot) for slot in range(space.search.workers)}
    interrupted = False
    try:
        while procs:
            for slot, proc in list(procs.items()):
                proc.join(timeout=0.2)
                if proc.exitcode is None:
                    continue
                del procs[slot]
                interrupted = interrupted or proc.exitcode == 130
                if proc.exitcode not in (0, 130):
                    crashes += 1
                    if proc.exitcode == 2 or crashes >= MAX_CRASHES:
                        _stop(procs)
                        raise RunError(f"a worker process failed (exit code {proc.exitcode}); see the message above")
                out_of_time = deadline is not None and time.monotonic() >= deadline
                if not interrupted and not out_of_time and coordination.open_slots(study, space.search.trials) > 0:
                    procs[slot] = start(slot)
    except KeyboardInterrupt:
        interrupted = True
        _stop(procs)
    return interrupted


def _stop(procs: dict[int, Any]) -> None:
    """Let workers finish their Ctrl-C cleanup; pass Ctrl-C on to those that did not get it."""
    for proc in procs.values():
        proc.join(timeout=2)
        if proc.exitcode is None:  # the signal reached only this process (not a terminal's Ctrl-C)
            os.kill(proc.pid, signal.SIGINT)
            proc.join(timeout=30)
        if proc.exitcode is None:
            proc.terminate()


def worker_main(raw: dict[str, Any], path: str | None, storage_url: str | None, slot: int, generation: int,
                quiet: bool, progress: ProgressFactory = QuietProgress) -> None:
    """One worker: load the data once, run up to ``recycle_after`` trials, exit (130 on Ctrl-C)."""
    from tunecli import interrupt
    from tunecli.errors import TuneCliError

    _die_with_parent()
    error = progress.error
    interrupt.install()
    try:
        _work(raw, path, storage_url, slot, generation, quiet, progress)
    except KeyboardInterrupt:
        sys.exit(130)
    except TuneCliError as exc:
        error(exc.render())
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - a worker never prints a traceback
        error(f"worker: unexpected {type(exc).__name__}: {exc}")
        sys.exit(1)


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when the parent dies (no orphans keep training)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _work(raw: dict[str, Any], path: str | None, storage_url: str | None, slot: int, generation: int,
          quiet: bool, make_progress: ProgressFactory) -> None:
    from tunecli import interrupt
    from tunecli.config.objective import resolve_objective
    from tunecli.config.space import validate_space
    from tunecli.data import load_data
    from tunecli.runtime import init_backend
    from tunecli.search.context import search_context
    from tunecli.search.engines import get_engine
    from tunecli.search.study import create_or_resume

    space = validate_space(raw, source=path)
    if space.search.seed is not None and generation > 1:  # each worker process samples differently
        space.search.seed += 1000 * generation
    init_backend(space.training.backend)
    dataset = load_data(space.data, base_dir=Path(path).parent if path else None)
    objective = resolve_objective(space.objective, dataset.task, path)
    study = create_or_resume(space, objective, storage_url)
    progress = make_progress(space.search.trials, 0, objective.metric, space.training.max_epochs, quiet=quiet,
                              live=slot == 0)
    ctx = search_context(space, dataset, objective, study, progress, limit=space.training.recycle_after or None)
    with progress, interrupt.deferred():
        get_engine(space.search.engine).run(ctx)
