"""Whether a process is alive: a process named as ``host:pid:pid-namespace`` so that another process of the
same machine (and PID namespace) can tell later that it died. Used by the journal's lock and by the search's
claims on running trials."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def holder(pid: int | None = None) -> str:
    """This process (or the local process ``pid``) as ``host:pid:pid-namespace``, to tell later whether it died."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}:{_pid_namespace()}"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return ""


def holder_dead(text: str | None) -> bool:
    """True when ``text`` (from ``holder()``) names a process of this machine (and PID namespace) that is gone.

    False when it is alive, or cannot be told (another machine or container, no ``/proc``).
    """
    try:
        host, pid, namespace = (text or "").rsplit(":", 2)
        number = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname() or not namespace or namespace != _pid_namespace():
        return False
    try:
        os.kill(number, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:  # a zombie (dead, not yet waited for) is dead too
        return Path(f"/proc/{number}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
