"""Ctrl-C that is never lost.

Python delivers SIGINT as a KeyboardInterrupt wherever the main thread happens to be; when that
is a weakref callback or ``__del__`` (Keras and TensorFlow run many), the exception is printed
as "Exception ignored" and swallowed, and the search would go on. So the handler only records
the request while a model trains, and the training callback raises it at the next epoch end;
elsewhere it raises at once. A second Ctrl-C exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Any, Iterator

_requested = threading.Event()
_in_fit = threading.Event()


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
    if not _in_fit.is_set():
        raise KeyboardInterrupt


def install() -> None:
    """Install the handler (main thread only; elsewhere this does nothing)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _handler)


@contextlib.contextmanager
def training() -> Iterator[None]:
    """Mark the span in which Ctrl-C is deferred to the next epoch end."""
    _in_fit.set()
    try:
        yield
    finally:
        _in_fit.clear()
    check()
