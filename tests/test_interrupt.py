"""Ctrl-C and SIGTERM are recorded, not raised, while trials run; they are raised at the next safe point."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tunecli import interrupt


@pytest.fixture(autouse=True)
def _clear():
    interrupt.reset()
    saved = interrupt._force_after[0]
    interrupt._force_after[0] = 3600.0  # never let the watchdog end the test process
    yield
    interrupt.reset()
    interrupt._force_after[0] = saved


def test_ctrl_c_inside_the_engine_loop_waits_for_a_safe_point() -> None:
    with pytest.raises(KeyboardInterrupt):
        with interrupt.deferred():  # the engine loop
            with pytest.raises(KeyboardInterrupt):
                with interrupt.training():  # one trial's training
                    interrupt._handler(signal.SIGINT, None)  # would land anywhere, e.g. in a GC callback
                    assert interrupt.requested()
                    reached_epoch_end = True
            assert reached_epoch_end  # the training ran on to its end, then the request was raised
            interrupt.check()  # between trials: raises again (the request stays set)
    assert interrupt.exit_code() == 130 and interrupt.describe() == "Ctrl-C"


def test_ctrl_c_outside_trials_raises_at_once() -> None:
    with pytest.raises(KeyboardInterrupt):
        interrupt._handler(signal.SIGINT, None)
    assert interrupt.requested()


def test_sigterm_acts_like_ctrl_c_and_exits_143() -> None:
    with pytest.raises(KeyboardInterrupt):
        with interrupt.deferred():
            interrupt._handler(signal.SIGTERM, None)  # recorded only
            assert interrupt.requested() and interrupt.received() == signal.SIGTERM
            interrupt._handler(signal.SIGTERM, None)  # a second SIGTERM (Slurm and the parent both send one)
    assert interrupt.exit_code() == 143 and interrupt.describe() == "SIGTERM"
    assert interrupt._watchdog and interrupt._watchdog[0].is_alive()  # the forced exit is armed


def test_sigterm_outside_trials_raises_at_once_and_a_span_can_leave_it_to_its_loop() -> None:
    with pytest.raises(KeyboardInterrupt):
        interrupt._handler(signal.SIGTERM, None)
    interrupt.reset()
    with interrupt.deferred(check_at_end=False):  # the worker pool polls requested() itself
        interrupt._handler(signal.SIGTERM, None)
    assert interrupt.requested()


@pytest.mark.slow  # a subprocess
def test_the_watchdog_runs_the_cleanups_and_exits_143_when_training_does_not_stop(tmp_path) -> None:
    marker = tmp_path / "discarded"
    script = textwrap.dedent(f"""
        import os, signal, time
        from tunecli import interrupt
        interrupt.force_after(0.5)
        interrupt.install()
        interrupt.on_force_exit(lambda: open({str(marker)!r}, "w").write("trial 7"))
        with interrupt.deferred():          # an epoch that never ends, or a request swallowed by a callback
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
    """)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 143, proc.stderr
    assert time.monotonic() - start < 10
    assert marker.read_text() == "trial 7"


def test_an_unregistered_cleanup_does_not_run() -> None:
    ran = []
    unregister = interrupt.on_force_exit(lambda: ran.append(1))
    unregister()
    assert not interrupt._cleanups and not ran
