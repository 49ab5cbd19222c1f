"""Ctrl-C and SIGTERM that are never lost.

Python delivers SIGINT as a KeyboardInterrupt wherever the main thread happens to be; when that
is a weakref callback, ``__del__`` or a garbage-collector callback (Keras, TensorFlow and JAX run
many), the exception is printed as "Exception ignored" and swallowed, and the search would go on.
So while trials run (``deferred()``: the whole engine loop, and each training) the handler only
records the request; the trainers stop at the next epoch end and ``check()`` raises it at safe
points (between trials, when a training ends). Elsewhere it raises at once. A second Ctrl-C exits at once.

SIGTERM (Kubernetes, Slurm, ``docker stop``: SIGKILL follows after a grace period) acts like Ctrl-C
and the process exits 143 (130 for Ctrl-C). It also arms a watchdog: if the process is still there
``grace_seconds()`` later (an epoch longer than the grace, a request swallowed by a callback), the
cleanups registered with ``on_force_exit`` run (they discard the trials still running) and the
process exits 143 at once. A second SIGTERM changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

_requested = threading.Event()
_depth = [0]  # how many deferred() spans are open (they nest: the engine loop, then each training)
_lock = threading.RLock()  # re-entrant: the signal handler runs in the main thread, maybe inside a `with _lock`
_received: list[int] = []  # the first signal received (SIGINT or SIGTERM), and when
_at: list[float] = []
_force_after: list[float | None] = [None]  # seconds from SIGTERM to the forced exit (None: grace_seconds())
_cleanups: dict[int, Callable[[], None]] = {}
_watchdog: list[threading.Timer] = []

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def grace_seconds() -> float:
    """How long a SIGTERM'd ``tunecli`` may take to stop (``TUNECLI_STOP_GRACE``, default 5 s)."""
    try:
        return max(1.0, float(os.environ.get("TUNECLI_STOP_GRACE", "5")))
    except ValueError:
        return 5.0


def requested() -> bool:
    return _requested.is_set()


def received() -> int | None:
    """The signal that asked to stop (``signal.SIGINT`` or ``signal.SIGTERM``), or None."""
    return _received[0] if _received else None


def since() -> float:
    """Seconds since the stop was requested (0 when it was not)."""
    return time.monotonic() - _at[0] if _at else 0.0


def exit_code() -> int:
    """130 after Ctrl-C, 143 after SIGTERM (the shell's 128 + signal number)."""
    return EXIT_CODES.get(received() or signal.SIGINT, 130)


def describe() -> str:
    return "SIGTERM" if received() == signal.SIGTERM else "Ctrl-C"


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed (or SIGTERM received)."""
    if _requested.is_set():
        raise KeyboardInterrupt


def request(signum: int = signal.SIGINT) -> None:
    """Record a stop request without raising (e.g. a worker process was stopped by SIGTERM)."""
    with _lock:
        if not _received:
            _received.append(signum)
            _at.append(time.monotonic())
    _requested.set()
    if signum == signal.SIGTERM:
        _arm_watchdog()


def _handler(signum: int, frame: Any) -> None:  # noqa: ARG001
    if signum == signal.SIGTERM:
        first = not _requested.is_set()
        request(signal.SIGTERM)
        if first and not _depth[0]:
            raise KeyboardInterrupt
        return
    if _requested.is_set():  # the second Ctrl-C: exit at once
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        return
    request(signal.SIGINT)
    if not _depth[0]:
        raise KeyboardInterrupt


def force_after(seconds: float) -> None:
    """Seconds from SIGTERM to the forced exit in this process (default ``grace_seconds()``)."""
    _force_after[0] = seconds


def install() -> None:
    """Install the handlers (main thread only; elsewhere this does nothing)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _handler)
        signal.signal(signal.SIGTERM, _handler)


def on_force_exit(cleanup: Callable[[], None]) -> Callable[[], None]:
    """Run ``cleanup`` if the watchdog has to end the process; returns the function that unregisters it."""
    key = id(cleanup)
    with _lock:
        _cleanups[key] = cleanup

    def unregister() -> None:
        with _lock:
            _cleanups.pop(key, None)

    return unregister


def _arm_watchdog() -> None:
    with _lock:
        if _watchdog:
            return
        delay = _force_after[0] if _force_after[0] is not None else grace_seconds()
        timer = threading.Timer(max(0.0, delay - since()), force_exit)
        timer.daemon = True
        _watchdog.append(timer)
    timer.start()


def force_exit() -> None:
    """Run the registered cleanups (each at most once), flush the output, and exit with ``exit_code()`` at once."""
    with _lock:
        cleanups = list(_cleanups.values())
        _cleanups.clear()
    for cleanup in cleanups:
        try:
            cleanup()
        except Exception:  # noqa: BLE001, S110 - exiting anyway; one failed cleanup must not stop the others
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001, S110 - a closed stream
            pass
    os._exit(exit_code())


@contextlib.contextmanager
def deferred(*, check_at_end: bool = True) -> Iterator[None]:
    """A span in which Ctrl-C is only recorded; it is raised when the span ends (or at ``check()``)."""
    with _lock:
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
    if check_at_end:
        check()


training = deferred  # a model's training: the trainers stop at the next epoch end


def reset() -> None:
    """Forget every request and cleanup: a later search in this process starts afresh (tests, benchmarks)."""
    with _lock:
        _received.clear()
        _at.clear()
        _cleanups.clear()
        for timer in _watchdog:
            timer.cancel()
        _watchdog.clear()
    _requested.clear()
