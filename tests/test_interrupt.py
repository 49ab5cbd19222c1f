"""Ctrl-C is recorded, not raised, while trials run; it is raised at the next safe point."""

from __future__ import annotations

import pytest

from tunecli import interrupt


@pytest.fixture(autouse=True)
def _clear():
    interrupt._requested.clear()
    yield
    interrupt._requested.clear()


def test_ctrl_c_inside_the_engine_loop_waits_for_a_safe_point() -> None:
    with pytest.raises(KeyboardInterrupt):
        with interrupt.deferred():  # the engine loop
            with pytest.raises(KeyboardInterrupt):
                with interrupt.training():  # one trial's training
                    interrupt._handler(2, None)  # would land anywhere, e.g. in a garbage-collector callback
                    assert interrupt.requested()
                    reached_epoch_end = True
            assert reached_epoch_end  # the training ran on to its end, then the request was raised
            interrupt.check()  # between trials: raises again (the request stays set)


def test_ctrl_c_outside_trials_raises_at_once() -> None:
    with pytest.raises(KeyboardInterrupt):
        interrupt._handler(2, None)
    assert interrupt.requested()
