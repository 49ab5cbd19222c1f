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
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import optuna
from optuna.trial import TrialState

DISCARDED = "discarded"          # user attribute: why a trial does not count
HEARTBEAT = "heartbeat"          # user attribute: last sign of life (unix time)
COUNTED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def heartbeat_seconds() -> float:
    return float(os.environ.get("TUNECLI_HEARTBEAT_SECONDS", "5"))


def grace_seconds() -> float:
    return float(os.environ.get("TUNECLI_HEARTBEAT_GRACE", "60"))


def counts(trial: optuna.trial.FrozenTrial) -> bool:
    return trial.state in COUNTED_STATES and not trial.user_attrs.get(DISCARDED)


def finished(study: optuna.Study) -> int:
    """Trials that count towards the requested total."""
    return sum(1 for t in study.get_trials(deepcopy=False, states=COUNTED_STATES) if counts(t))


def claimed_before(study: optuna.Study, number: int) -> int:
    """Counted or running trials numbered below ``number`` (running ones may still finish)."""
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.number < number and (counts(t) or t.state == TrialState.RUNNING))


def running_alive(study: optuna.Study) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)) if not _stale(t))


def open_slots(study: optuna.Study, total: int) -> int:
    """Trials still to start: the total less the counted ones and those running in live workers."""
    return total - finished(study) - running_alive(study)


def discard(study: optuna.Study, trial: optuna.Trial, why: str) -> None:
    trial.set_user_attr(DISCARDED, why)
    study.tell(trial, state=TrialState.FAIL)


def _stale(t: optuna.trial.FrozenTrial, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    last = t.user_attrs.get(HEARTBEAT)
    if last is None:
        last = t.datetime_start.timestamp() if t.datetime_start else now
    return now - float(last) > grace_seconds()


def reap_dead(study: optuna.Study) -> list[int]:
    """Fail the RUNNING trials of dead workers and queue their parameters again; returns their numbers."""
    storage = study._storage  # noqa: SLF001 - Optuna has no public API to fail another process's trial
    reaped = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _stale(t):
            continue
        try:
            storage.set_trial_user_attr(t._trial_id, DISCARDED, "worker died; parameters queued again")  # noqa: SLF001
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)  # noqa: SLF001
        except (RuntimeError, ValueError):  # another worker reaped it first
            continue
        study.enqueue_trial(dict(t.params), user_attrs={"retry_of": t.number}, skip_if_exists=False)
        reaped.append(t.number)
    return reaped


class Heartbeat:
    """Context manager: stamps the trial every few seconds from a daemon thread."""

    def __init__(self, study: optuna.Study, trial: Any) -> None:
        self.storage, self.trial_id = study._storage, trial._trial_id  # noqa: SLF001
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(heartbeat_seconds()):
            try:
                self.storage.set_trial_user_attr(self.trial_id, HEARTBEAT, time.time())
            except Exception:  # noqa: BLE001 - the trial finished meanwhile, or the store hiccuped
                return

    def __enter__(self) -> Heartbeat:
        self.storage.set_trial_user_attr(self.trial_id, HEARTBEAT, time.time())
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
