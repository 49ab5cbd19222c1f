"""Sharing one study between worker processes (one machine or many).

- Counting: a trial counts towards ``search.trials`` once finished (complete, pruned,
  failed), unless it was *discarded*: stopped by Ctrl-C, started beyond the requested
  total by a racing worker, or abandoned by a worker that died (its parameters are queued
  again, so they are retried).
- Claiming: after ``study.ask()`` a worker checks how many counted or running trials come
  before its own; if the total is already reached its trial is discarded as surplus. So the
  study ends with exactly the requested number of counted trials, whatever the races.
- Heartbeats: while a trial runs, a thread stamps it every few seconds; a RUNNING trial whose
  stamp is older than the grace period belongs to a dead worker and is reaped.
- Owners: a running trial also records which process runs it (``host:pid:pid-namespace``), so the
  process that started a worker reaps that worker's trial as soon as it sees the worker die, and any
  process on the same machine reaps a trial whose process is gone, without waiting for the heartbeat
  grace (heartbeats stay for workers on other machines).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import optuna
from optuna.trial import TrialState

from tunecli import interrupt
from tunecli.liveness import holder, holder_dead
from tunecli.studies import attrs

COUNTED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment (the default when unset or not a number)."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def heartbeat_seconds() -> float:
    return _seconds("TUNECLI_HEARTBEAT_SECONDS", 5.0)


def grace_seconds() -> float:
    return _seconds("TUNECLI_HEARTBEAT_GRACE", 60.0)


def counts(trial: optuna.trial.FrozenTrial) -> bool:
    return trial.state in COUNTED_STATES and not attrs.read(trial.user_attrs, attrs.DISCARDED)


def finished(study: optuna.Study) -> int:
    """Trials that count towards the requested total."""
    return sum(1 for t in study.get_trials(deepcopy=False, states=COUNTED_STATES) if counts(t))


def claimed_before(study: optuna.Study, number: int) -> int:
    """Counted or running trials numbered below ``number`` (running ones may still finish)."""
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.number < number and (counts(t) or t.state == TrialState.RUNNING))


def running_alive(study: optuna.Study) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)) if not _dead(t))


def open_slots(study: optuna.Study, total: int) -> int:
    """Trials still to start: the total less the counted ones and those running in live workers."""
    return total - finished(study) - running_alive(study)


def discard(study: optuna.Study, trial: optuna.Trial, why: str) -> None:
    if why.startswith("interrupted") and interrupt.requested():  # name the signal received: Ctrl-C or SIGTERM
        why = f"interrupted ({interrupt.describe()})"
    trial.set_user_attr(attrs.DISCARDED, why)
    study.tell(trial, state=TrialState.FAIL)


def _dead(t: optuna.trial.FrozenTrial) -> bool:
    """A RUNNING trial whose process is known to be gone, or silent for longer than the grace period."""
    return holder_dead(attrs.read(t.user_attrs, attrs.OWNER)) or _stale(t)


def _stale(t: optuna.trial.FrozenTrial, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    last = attrs.read(t.user_attrs, attrs.HEARTBEAT)
    if last is None:
        last = t.datetime_start.timestamp() if t.datetime_start else now
    return now - float(last) > grace_seconds()


def reap_dead(study: optuna.Study) -> list[int]:
    """Fail the RUNNING trials of dead workers and queue their parameters again; returns their numbers."""
    return [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if _dead(t) and _reap(study, t, "worker died; parameters queued again", requeue=True)]


def reap_owner(study: optuna.Study, pid: int, why: str, *, requeue: bool = True) -> list[int]:
    """Fail the RUNNING trials of the local worker process ``pid`` (known dead); returns their numbers.

    ``requeue``: queue their parameters again (a worker that died); not for trials stopped on purpose.
    """
    who = holder(pid)
    return [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if attrs.read(t.user_attrs, attrs.OWNER) == who and _reap(study, t, why, requeue=requeue)]


def _reap(study: optuna.Study, t: optuna.trial.FrozenTrial, why: str, *, requeue: bool) -> bool:
    storage = study._storage  # noqa: SLF001 - Optuna has no public API to fail another process's trial
    try:
        storage.set_trial_user_attr(t._trial_id, attrs.DISCARDED, why)  # noqa: SLF001
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)  # noqa: SLF001
    except (RuntimeError, ValueError):  # another worker reaped it first
        return False
    if requeue:
        study.enqueue_trial(dict(t.params), user_attrs={attrs.RETRY_OF: t.number}, skip_if_exists=False)
    return True


class Heartbeat:
    """Context manager: stamps the trial every few seconds from a daemon thread.

    It also records the trial's owner (``liveness.holder()``) and, should SIGTERM's grace run out before the
    training stops, has the forced exit discard the trial (``interrupt.on_force_exit``).
    """

    def __init__(self, study: optuna.Study, trial: Any) -> None:
        self.storage, self.trial_id = study._storage, trial._trial_id  # noqa: SLF001
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.unregister = lambda: None

    def _run(self) -> None:
        while not self.stop.wait(heartbeat_seconds()):
            try:
                self.storage.set_trial_user_attr(self.trial_id, attrs.HEARTBEAT, time.time())
            except Exception:  # noqa: BLE001 - the trial finished meanwhile, or the store hiccuped
                return

    def _discard(self) -> None:
        """The forced exit's cleanup: the trial does not count (like a trial stopped by Ctrl-C)."""
        self.stop.set()
        self.storage.set_trial_user_attr(self.trial_id, attrs.DISCARDED, f"interrupted ({interrupt.describe()})")
        self.storage.set_trial_state_values(self.trial_id, TrialState.FAIL)

    def __enter__(self) -> Heartbeat:
        self.storage.set_trial_user_attr(self.trial_id, attrs.OWNER, holder())
        self.storage.set_trial_user_attr(self.trial_id, attrs.HEARTBEAT, time.time())
        self.unregister = interrupt.on_force_exit(self._discard)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unregister()
        self.stop.set()
        self.thread.join(timeout=5)
