"""Worker processes: trials run in spawned processes, each loading Keras and the data once.

A slot runs one worker process at a time; the worker stops after ``training.recycle_after``
trials and the slot starts a fresh one, so memory and Keras' per-model overhead cannot
creep up over a long search. ``search.workers`` slots share the study. While trials run the parent
process only starts, watches and restarts workers (re-ranking, after them, trains in the parent).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any

from tunecli import interrupt
from tunecli.config.space import validate_space
from tunecli.errors import RunError, TuneCliError
from tunecli.prepare import prepare
from tunecli.search import coordination
from tunecli.search.context import search_context
from tunecli.search.engines import get_engine
from tunecli.search.progress import ProgressFactory, QuietProgress
from tunecli.search.study import create_or_resume
from tunecli.studies.storage import write_failure

if TYPE_CHECKING:
    import optuna

    from tunecli.config.space import SearchSpace

MAX_CRASHES = 3
STOPPED = {130: signal.SIGINT, -signal.SIGINT: signal.SIGINT, 143: signal.SIGTERM, -signal.SIGTERM: signal.SIGTERM}
FATAL = 2  # a worker's exit code that stops the pool at once (bad input, a store that cannot be written)


def run_pool(space: SearchSpace, storage_url: str | None, study: optuna.Study, *, quiet: bool,
             progress: ProgressFactory = QuietProgress) -> bool:
    """Run the missing trials in worker processes; True when interrupted by Ctrl-C or SIGTERM.

    A worker that dies (SIGKILL, out of memory) is replaced, and the trial it left RUNNING is failed
    as "worker died" at once and its parameters queued again, so the run still reaches the total.
    On Ctrl-C or SIGTERM the workers discard their running trial and stop; one still running at the
    end of the grace period is killed and its trial discarded.
    """
    pool = _Pool(space, storage_url, study, quiet, progress)
    unregister = interrupt.on_force_exit(lambda: _kill(pool.procs, study))
    try:
        with interrupt.deferred(check_at_end=False):  # a signal is only recorded: the pool's loop handles it
            pool.run()
    finally:
        _stop(pool.procs, study)
        unregister()
    return interrupt.requested()


class _Pool:
    """The slots' worker processes: started, watched, restarted while trials are missing."""

    def __init__(self, space: SearchSpace, storage_url: str | None, study: optuna.Study, quiet: bool,
                 progress: ProgressFactory) -> None:
        self.space, self.storage_url, self.study, self.quiet, self.progress = space, storage_url, study, quiet, progress
        self.context = multiprocessing.get_context("spawn")
        timeout = space.search.timeout
        self.deadline = time.monotonic() + timeout if timeout else None
        self.ends_at = time.time() + timeout if timeout else None  # the same, for the workers
        self.generation = 0
        self.crashes = 0
        self.procs: dict[int, Any] = {}

    def run(self) -> None:
        """Start a worker per slot; restart each that ends while trials are missing, until all end or a signal."""
        for slot in range(self.space.search.workers):
            self.procs[slot] = self._start(slot)
        while self.procs and not interrupt.requested():
            wait([p.sentinel for p in self.procs.values()], timeout=0.5)
            for slot, proc in list(self.procs.items()):
                if proc.exitcode is not None and self._ended(slot, proc):
                    break

    def _start(self, slot: int) -> Any:
        self.generation += 1
        proc = self.context.Process(target=worker_main, name=f"tunecli-worker-{slot}",
                                    args=(self.space.raw, self.space.path, self.storage_url, slot, self.generation,
                                          self.quiet, self.progress, self.ends_at))
        proc.start()
        return proc

    def _ended(self, slot: int, proc: Any) -> bool:
        """Handle a worker that ended: reap its trial, count a crash, restart the slot; True when a signal stopped it.

        Raises:
            RunError: the worker failed on bad input or a store that cannot be written, or too many crashed.
        """
        del self.procs[slot]
        code = proc.exitcode
        proc.join()
        if code in STOPPED:  # Ctrl-C or SIGTERM reached this worker: the whole search stops
            _reap(self.study, proc, f"interrupted ({'SIGTERM' if STOPPED[code] == signal.SIGTERM else 'Ctrl-C'})",
                  requeue=False)
            interrupt.request(STOPPED[code])
            return True
        _reap(self.study, proc, f"worker died (exit code {code}); parameters queued again", requeue=True)
        if code != 0:
            self.crashes += 1
            if code == FATAL or self.crashes >= MAX_CRASHES:
                raise RunError(f"a worker process failed (exit code {code}); see the message above")
        out_of_time = self.deadline is not None and time.monotonic() >= self.deadline
        if not out_of_time and coordination.open_slots(self.study, self.space.search.trials) > 0:
            self.procs[slot] = self._start(slot)
        return False


def _reap(study: optuna.Study, proc: Any, why: str, *, requeue: bool) -> None:
    """Fail the trials a finished worker left RUNNING (none when it stopped cleanly)."""
    try:
        coordination.reap_owner(study, proc.pid, why, requeue=requeue)
    except Exception:  # noqa: BLE001, S110 - the store is unreachable: the heartbeat grace reaps them later
        pass


def _stop(procs: dict[int, Any], study: optuna.Study) -> None:
    """Stop the workers still running: they discard their trial; those that outlive the grace are killed.

    After SIGTERM every worker gets SIGTERM at once (a second one changes nothing). After Ctrl-C, which
    the terminal sends to every process, only those that did not stop within 2 s get it (a second Ctrl-C
    would kill them).
    """
    if not procs:
        return
    sig = interrupt.received()
    if sig == signal.SIGINT:
        _join(procs, time.monotonic() + 2)
        _signal(procs, signal.SIGINT)
        _join(procs, time.monotonic() + 30)
    else:  # SIGTERM, or a failure of the pool: stop now
        _signal(procs, signal.SIGTERM)
        _join(procs, time.monotonic() + max(1.0, interrupt.grace_seconds() - 1 - interrupt.since()))
    _kill(procs, study)


def _signal(procs: dict[int, Any], sig: int) -> None:
    for proc in procs.values():
        if proc.exitcode is None:
            try:
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                pass


def _join(procs: dict[int, Any], until: float) -> None:
    for proc in procs.values():
        proc.join(timeout=max(0.0, until - time.monotonic()))


def _kill(procs: dict[int, Any], study: optuna.Study) -> None:
    """Kill the workers still running and discard the trials they leave."""
    for proc in list(procs.values()):
        if proc.exitcode is None:
            proc.kill()
            proc.join(timeout=5)
        _reap(study, proc, f"interrupted ({interrupt.describe()})", requeue=False)
    procs.clear()


def worker_main(raw: dict[str, Any], path: str | None, storage_url: str | None, slot: int, generation: int,
                quiet: bool, progress: ProgressFactory = QuietProgress, ends_at: float | None = None) -> None:
    """One worker: load the data once, run up to ``recycle_after`` trials, exit (130 on Ctrl-C, 143 on SIGTERM).
    ``ends_at`` (``time.time()``) is when the search's timeout ends: no trial starts after it (or when what is left
    of it is needed for re-ranking), whenever this worker started.

    A worker stopped by a signal exits at once after discarding its trial (no slow interpreter shutdown
    with Keras loaded); one that outlives its share of the grace is ended by the watchdog (``interrupt``).
    """
    die_with_parent()
    error = progress.error
    interrupt.force_after(max(0.5, interrupt.grace_seconds() - 2))  # SIGTERM: the parent kills at grace - 1
    interrupt.install()
    try:
        work_in_process(raw, path, storage_url, slot, generation, quiet, progress, ends_at)
    except KeyboardInterrupt:
        _exit_now(interrupt.exit_code())
    except TuneCliError as exc:
        error(exc.render())
        sys.exit(FATAL if exc.exit_code == 2 else exc.exit_code)
    except OSError as exc:  # the store cannot be written (disk full, read-only): no use starting another worker
        error(write_failure(exc, storage_url))
        sys.exit(FATAL)
    except Exception as exc:  # noqa: BLE001 - a worker never prints a traceback
        error(f"worker: unexpected {type(exc).__name__}: {exc}")
        sys.exit(1)


def _exit_now(code: int) -> None:
    """Exit with ``code``: a spawned worker at once (its trial is already discarded; the interpreter's shutdown
    with Keras and JAX loaded takes long), ``worker_main`` called in the parent's process by raising SystemExit."""
    if multiprocessing.parent_process() is None:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


def die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when the parent dies (no orphans keep training)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def work_in_process(raw: dict[str, Any], path: str | None, storage_url: str | None, slot: int, generation: int,
                    quiet: bool, make_progress: ProgressFactory, ends_at: float | None = None) -> None:
    """A worker's search in this process (``worker_main`` turns what it raises into an exit code)."""
    space = validate_space(raw, source=path)
    seed = space.search.seed  # the search's: the autoencoder's key
    if space.search.seed is not None and generation > 1:  # each worker process samples differently
        space.search.seed += 1000 * generation
    ready = prepare(space, open_study=lambda objective: create_or_resume(space, objective, storage_url),
                    seed=seed)  # the encoder the main process stored
    progress = make_progress(space.search.trials, 0, ready.objective.metric, space.training.max_epochs, quiet=quiet,
                             live=slot == 0)
    ctx = search_context(space, ready.dataset, ready.objective, ready.study, progress,
                         limit=space.training.recycle_after or None)
    if ends_at is not None:  # the search's deadline, not this worker's start plus the timeout
        ctx.deadline = time.monotonic() + (ends_at - time.time())
    with progress, interrupt.deferred():
        get_engine(space.search.engine).run(ctx)
