"""Where studies live: the embedded default file, or any Optuna storage URL."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.errors import StorageError

if TYPE_CHECKING:
    import optuna

DEFAULT_FILE = "tunecli.journal"


def mask(url: str | None) -> str:
    """Hide the password in ``scheme://user:password@host``."""
    if not url:
        return DEFAULT_FILE
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def describe(url: str | None) -> str:
    return mask(url) if url else f"{DEFAULT_FILE} (in {Path.cwd()})"


def open_storage(url: str | None, *, must_exist: bool = False) -> optuna.storages.BaseStorage:
    """Open the default journal file (``url`` None), a ``*.journal`` path, or an Optuna RDB URL.

    Raises:
        StorageError: the store is missing (``must_exist``) or cannot be opened; the password is masked.
    """
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if url is None or "://" not in url:
        path = Path(url or DEFAULT_FILE)
        if must_exist and not path.exists():
            raise StorageError("no study store here; run `tunecli search SPACE.yaml` first or pass --storage",
                               source=str(path))
        if path.exists() and not path.is_file():
            raise StorageError("not a file", source=str(path))
        try:
            return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot open: {exc}", source=str(path)) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Dead workers are found by tunecli's own heartbeats (coordination.py), for every store alike.
            return optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
    except ImportError:
        raise StorageError("the database driver is not installed; for PostgreSQL: pip install 'psycopg[binary]' "
                           "(or pip install 'tunecli[postgres]')", source=mask(url), field="--storage") from None
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy and drivers raise many types
        detail = mask(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        raise StorageError(f"cannot open the storage: {detail[:300]}", source=mask(url), field="--storage") from None


def _engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("postgresql"):
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    return {}


def load_study(name: str | None, storage_url: str | None) -> optuna.Study | None:
    """Load the named study, or the only one in the store; list them when there are several."""
    import optuna

    storage = open_storage(storage_url, must_exist=True)
    try:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign store
        raise StorageError(f"cannot read the store: {type(exc).__name__}: {exc}", source=describe(storage_url)) from None
    if not names:
        raise StorageError("the store holds no study yet; run `tunecli search SPACE.yaml` first",
                           source=describe(storage_url))
    if name is None:
        if len(names) > 1:
            return None
        name = names[0]
    if name not in names:
        raise StorageError(f"no study named {name!r}; studies here: {', '.join(names)}",
                           source=describe(storage_url), field="STUDY")
    return optuna.load_study(study_name=name, storage=storage)


@dataclass
class StudySummary:
    name: str
    engine: str
    complete: int
    pruned: int
    failed: int
    running: int
    best: float | None
    direction: str
    last_update: str | None


def summarize(storage: optuna.storages.BaseStorage) -> list[StudySummary]:
    """One line per study in the store."""
    import optuna

    out = []
    for s in optuna.get_all_study_summaries(storage, include_best_trial=False):
        study = optuna.load_study(study_name=s.study_name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        counts = {st: sum(t.state == st for t in trials) for st in optuna.trial.TrialState}
        done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        best = (max if maximize else min)((t.value for t in done), default=None)
        ends = [t.datetime_complete for t in trials if t.datetime_complete]
        out.append(StudySummary(s.study_name, study.user_attrs.get("engine", "optuna"),
                                counts[optuna.trial.TrialState.COMPLETE], counts[optuna.trial.TrialState.PRUNED],
                                counts[optuna.trial.TrialState.FAIL], counts[optuna.trial.TrialState.RUNNING], best,
                                "maximize" if maximize else "minimize",
                                max(ends).strftime("%Y-%m-%d %H:%M") if ends else None))
    return out
