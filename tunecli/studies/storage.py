"""Opening stores: the embedded default journal file, a ``*.journal`` path, or any Optuna RDB URL."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.errors import StorageError, os_reason, shorten, show
from tunecli.studies.urls import DEFAULT_FILE, describe, mask

if TYPE_CHECKING:
    import optuna


def open_storage(url: str | None, *, must_exist: bool = False,
                 option: str = "--storage") -> optuna.storages.BaseStorage:
    """Open the default journal file (``url`` None), a ``*.journal`` path, or an Optuna RDB URL.

    ``option``: how the command that asked names a store (the messages say it).

    Raises:
        StorageError: the store is missing (``must_exist``) or cannot be opened; the password is masked.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if url is None or "://" not in url:
        return _open_journal(url, must_exist=must_exist, option=option)
    return _open_rdb(url, must_exist=must_exist)


def _open_journal(url: str | None, *, must_exist: bool, option: str = "--storage") -> optuna.storages.BaseStorage:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from tunecli.studies.journal import JournalLock, repair_journal

    path = Path(url or DEFAULT_FILE)
    if must_exist and not path.exists():
        raise StorageError(f"no study store here; run `tunecli search SPACE.yaml` first or pass {option}",
                           source=str(path))
    if path.exists() and not path.is_file():
        raise StorageError("not a file", source=str(path))
    lock = JournalLock(str(path))
    try:
        backend = JournalFileBackend(str(path), lock_obj=lock)
    except OSError as exc:
        raise StorageError(f"cannot create the study store: {os_reason(exc)}", source=str(path),
                           field="--storage" if url else None) from None
    repair_journal(path, lock)
    try:
        return JournalStorage(backend)
    except (OSError, ValueError) as exc:  # a record in the middle of the file is garbled
        raise StorageError(f"cannot open: {exc}", source=str(path)) from None


def _open_rdb(url: str, *, must_exist: bool) -> optuna.storages.BaseStorage:
    import optuna

    if must_exist and _missing_sqlite_file(url):
        raise StorageError("no such database file; run `tunecli search SPACE.yaml --storage URL` first",
                           source=mask(url), field="--storage")
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


def write_failure(exc: OSError, url: str | None) -> str:
    """One clear message for a failed write during a search (disk full, read-only folder)."""
    where = exc.filename if exc.filename else describe(url)
    return (f"cannot write {where}: {os_reason(exc)}. Finished trials are kept in {describe(url)}; "
            "make room (or pick a writable folder or --storage) and run the same command again to resume")


def _missing_sqlite_file(url: str) -> bool:
    """True for ``sqlite:///PATH`` whose file does not exist (opening it would create an empty database)."""
    if not url.startswith("sqlite:///"):
        return False
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return bool(path) and path != ":memory:" and not Path(path).exists()


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
        raise StorageError(f"cannot read the store: {type(exc).__name__}: {shorten(mask(str(exc)), 200)}",
                           source=describe(storage_url)) from None
    if not names:
        raise StorageError("the store holds no study yet; run `tunecli search SPACE.yaml` first",
                           source=describe(storage_url))
    if name is None:
        if len(names) > 1:
            return None
        name = names[0]
    if name not in names:
        raise StorageError(f"no study named {show(name)}; studies here: {shorten(', '.join(names), 200)}",
                           source=describe(storage_url), field="STUDY")
    return optuna.load_study(study_name=name, storage=storage)
