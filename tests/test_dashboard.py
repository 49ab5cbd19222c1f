"""``tunecli dashboard``: optuna-dashboard on a study store, its API and its page read over HTTP.

No browser runs here: the page test reads the HTML and the script bundle it loads (no Chromium on the machine).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from tunecli.cli import app
from tunecli.dashboard import address, serve
from tunecli.errors import TuneCliError
from tunecli.studies import attrs
from tunecli.studies.storage import open_storage

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _store(path: Path) -> Path:
    """A journal file holding one small study, written the way a search writes it."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name="demo", storage=open_storage(str(path)), direction="maximize")
    study.set_user_attr(attrs.OBJECTIVE, "val_accuracy")
    for i in range(3):
        trial = study.ask()
        trial.suggest_int("n_hidden", 1, 3)
        trial.set_user_attr(attrs.CURVE, {"val_accuracy": [0.5, 0.6 + 0.1 * i]})
        study.tell(trial, 0.6 + 0.1 * i)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_line(proc: subprocess.Popen, timeout: float = 60) -> str:
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(timeout=0.5):
            return proc.stdout.readline()
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"no address printed; stderr: {proc.stderr.read()}")


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8", "replace")


@pytest.mark.slow
def test_dashboard_serves_the_studies_and_stops_on_ctrl_c(tmp_path) -> None:
    pytest.importorskip("optuna_dashboard")
    store = _store(tmp_path / "small.journal")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "tunecli.cli", "dashboard", str(store), "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _first_line(proc)
        url = f"http://127.0.0.1:{port}/"
        assert f"Dashboard of {store} at {url}" in line
        status, kind, body = _get(url + "api/studies")
        assert status == 200 and "json" in kind
        summaries = json.loads(body)["study_summaries"]
        assert [s["study_name"] for s in summaries] == ["demo"] and summaries[0]["directions"] == ["maximize"]
        status, _, body = _get(f"{url}api/studies/{summaries[0]['study_id']}")
        assert status == 200 and len(json.loads(body)["trials"]) == 3
        status, kind, page = _get(url)  # redirected to /dashboard
        assert status == 200 and "text/html" in kind and "<title>Optuna Dashboard</title>" in page
        script = page.split('<script defer src="', 1)[1].split('"', 1)[0]
        status, kind, bundle = _get(url + script.lstrip("/"))
        assert status == 200 and "javascript" in kind and len(bundle) > 10_000
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "dashboard stopped" in err and "Traceback" not in err


def test_without_optuna_dashboard_the_command_says_how_to_install_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # import fails as if it were not installed
    store = _store(tmp_path / "small.journal")
    result = runner.invoke(app, ["dashboard", str(store)])
    assert result.exit_code == 2
    assert 'optuna-dashboard is not installed; pip install "tunecli[dashboard]"' in result.output
    assert 'pip install -e ".[dashboard]"' in result.output and "Traceback" not in result.output


def test_a_missing_store_is_a_clear_error(tmp_path, monkeypatch) -> None:
    pytest.importorskip("optuna_dashboard")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["dashboard"])
    assert result.exit_code == 2 and "tunecli.journal: no study store here" in result.output
    assert "tunecli dashboard STORE" in result.output and "--storage" not in result.output  # it has no such option
    assert not (tmp_path / "tunecli.journal").exists()


def test_a_port_in_use_names_the_option(tmp_path) -> None:
    pytest.importorskip("optuna_dashboard")
    store = _store(tmp_path / "small.journal")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(TuneCliError, match="cannot listen on 127.0.0.1") as info:
            serve(str(store), port=port, on_ready=lambda url: pytest.fail("should not listen"))
    assert info.value.field == "--port" and info.value.exit_code == 2


def test_the_address_to_open() -> None:
    assert address("127.0.0.1", 8080) == "http://127.0.0.1:8080/"
    assert address("::1", 8080) == "http://[::1]:8080/"
    assert address("0.0.0.0", 9000) == f"http://{socket.gethostname()}:9000/"


def test_help_lists_the_command() -> None:
    result = runner.invoke(app, ["dashboard", "--help"])
    assert result.exit_code == 0 and "--host" in result.output and "--port" in result.output
