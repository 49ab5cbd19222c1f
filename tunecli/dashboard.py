"""``tunecli dashboard``: optuna-dashboard, live in the browser, on a study store.

optuna-dashboard is an optional extra (``pip install "tunecli[dashboard]"``); without it the command says how
to install it and exits 2. The store opens as every command opens it (``studies.storage``: the default
``tunecli.journal``, a ``*.journal`` file through Optuna's JournalStorage, or an RDB URL), so a search running
beside the dashboard shows up as it goes. The server is the standard library's WSGI server with a thread per
request (optuna-dashboard's own choice); Ctrl-C stops it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tunecli.errors import TuneCliError, os_reason
from tunecli.studies.storage import open_storage
from tunecli.studies.urls import describe

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
INSTALL_HINT = 'pip install "tunecli[dashboard]" (in a checkout: pip install -e ".[dashboard]")'


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a request still open never holds up Ctrl-C


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the standard library's name
        """No line per request on the terminal."""


def dashboard_app(store: str | None) -> Any:
    """optuna-dashboard's WSGI application on ``store`` (None: the default journal file here).

    Raises:
        TuneCliError: optuna-dashboard is not installed, or the store is missing or cannot be opened.
    """
    try:
        import optuna_dashboard
    except ImportError:
        raise TuneCliError(f"optuna-dashboard is not installed; {INSTALL_HINT}", field="dashboard") from None
    storage = open_storage(store, must_exist=True, option="the store's path: tunecli dashboard STORE")
    return optuna_dashboard.wsgi(storage)


def address(host: str, port: int) -> str:
    """The URL to open: an IPv6 host in brackets; a wildcard host (all interfaces) as this machine's name."""
    shown = socket.gethostname() if host in ("", "0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def serve(store: str | None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          on_ready: Callable[[str], None] = print) -> None:
    """Serve the dashboard of ``store`` until Ctrl-C; ``on_ready`` gets the address once it listens.

    Args:
        store: a ``*.journal`` file or a storage URL (None: ``tunecli.journal`` in this folder).
        host: the interface to listen on (``0.0.0.0``: every one).
        port: the port (0: any free one; the address says which).
        on_ready: called with the address once the server listens.

    Raises:
        TuneCliError: optuna-dashboard is missing, the store cannot be opened, or the port cannot be had.
    """
    app = dashboard_app(store)
    try:
        server = make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
    except socket.gaierror as exc:
        raise TuneCliError(f"no such host {host!r}: {os_reason(exc)}", source=describe(store), field="--host") from None
    except OSError as exc:
        raise TuneCliError(f"cannot listen on {host}:{port}: {os_reason(exc)}; pick another --port (0: any free one)",
                           source=describe(store), field="--port") from None
    try:
        on_ready(address(host, server.server_address[1]))
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a dashboard stops
    finally:
        server.server_close()
