"""Ctrl-C that is never lost.

Python delivers SIGINT as a KeyboardInterrupt wherever the main thread happens to be; when that
is a weakref callback, ``__del__`` or a garbage-collector callback (Keras, TensorFlow and JAX run
many), the exception is printed as "Exception ignored" and swallowed, and the search would go on.
So while trials run (``deferred()``: the whole engine loop, and each training) the handler only
records the request; the trainers stop at the next epoch end and ``check()`` raises it at safe
points (between trials, when a training ends). Elsewhere it raises at once. A second Ctrl-C exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

_requested = threading.Event()
_depth = [0]  # how many deferred() spans are open (they nest: the engine loop, then each training)
_lock = threading.Lock()


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed."""
    if _requested.is_set():
        raise KeyboardInterrupt


def _handler(signum: int, frame: Any) -> None:  # noqa: ARG001
    if _requested.is_set():  # the second Ctrl-C: exit at once
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        return
    _requested.set()
    if not _depth[0]:
        raise KeyboardInterrupt


def install() -> None:
    """Install the handler (main thread only; elsewhere this does nothing)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A span in which Ctrl-C is only recorded; it is raised when the span ends (or at ``check()``)."""
    with _lock:
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
    check()


training = deferred  # a model's training: the trainers stop at the next epoch end
