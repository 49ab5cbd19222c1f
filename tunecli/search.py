"""``run_search``: the core of ``tunecli search`` (the CLI only parses and renders)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli import storage as store
from tunecli.errors import StorageError
from tunecli.objective import Objective, resolve_objective
from tunecli.results import best_row, fixed_space, ranked, trial_rows, write_yaml

if TYPE_CHECKING:
    import optuna

    from tunecli.data import Dataset
    from tunecli.space import SearchSpace


@dataclass
class SearchOutcome:
    study: str
    storage: str
    objective: Objective
    rows: list[dict[str, Any]]
    seconds: float
    ran: int
    dataset: str
    best_path: Path | None = None
    interrupted: bool = False

    @property
    def best(self) -> dict[str, Any] | None:
        return best_row(self.rows, self.objective.direction)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (for ``--json``)."""
        top = ranked(self.rows, self.objective.direction)
        return {
            "study": self.study, "storage": self.storage, "objective": self.objective.metric,
            "direction": self.objective.direction, "dataset": self.dataset, "seconds": round(self.seconds, 2),
            "trials_run": self.ran, "interrupted": self.interrupted,
            "best": _public(self.best) if self.best else None,
            "best_config_file": str(self.best_path) if self.best_path else None,
            "trials": [_public(r) for r in top],
        }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("number", "state", "value", "params", "epochs", "seconds", "reason")}


def fingerprint(space: SearchSpace) -> str:
    """What must stay the same for a study to be resumed: the data, objective and space sections."""
    raw = space.raw
    key = json.dumps({k: raw.get(k) for k in ("data", "objective", "space")}, sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def open_study(space: SearchSpace, objective: Objective, storage_url: str | None) -> optuna.Study:
    """Create the study, or load it to resume; refuse a study made from a different space."""
    import optuna

    from tunecli.engines._optuna import make_pruner, make_sampler

    storage = store.open_storage(storage_url)
    study = optuna.create_study(study_name=space.study, storage=storage, direction=objective.direction,
                                sampler=make_sampler(space), pruner=make_pruner(space), load_if_exists=True)
    old = study.user_attrs.get("fingerprint")
    if old and old != fingerprint(space):
        raise StorageError(
            f"study {space.study!r} was created from a different search space (its data, objective or space "
            "section changed). Nothing was changed in it. Use --study NEW_NAME to start a new study, "
            "or run the original file to resume", source=store.describe(storage_url), field="study")
    if study.direction.name.lower() != objective.direction:
        raise StorageError(f"study {space.study!r} {study.direction.name.lower()}s; this file asks to "
                           f"{objective.direction}", source=store.describe(storage_url), field="objective")
    if not old:
        for key, value in {"fingerprint": fingerprint(space), "objective": objective.metric,
                           "engine": space.search.engine, "algorithm": space.search.algorithm,
                           "pruner": space.search.pruner, "max_epochs": space.training.max_epochs,
                           "space_file": space.raw, "fixed": space.fixed_values()}.items():
            study.set_user_attr(key, value)
    return study


def run_search(space: SearchSpace, *, storage_url: str | None = None, quiet: bool = False,
               best_out: str | Path | None = None) -> SearchOutcome:
    """Run (or resume) the search the space describes and write the best configuration.

    Args:
        space: the validated search space (command-line overrides already applied).
        storage_url: None for the embedded default file, else any Optuna storage URL or a ``.journal`` path.
        quiet: progress goes to stderr (``--json``).
        best_out: where to write the best configuration (default ``<study>-best.yaml``).
    """
    from tunecli import interrupt
    from tunecli.coordination import finished
    from tunecli.data import load_data
    from tunecli.runtime import init_backend

    interrupt.install()
    init_backend(space.training.backend)
    base = Path(space.path).parent if space.path else None
    dataset = load_data(space.data, base_dir=base)
    objective = resolve_objective(space.objective, dataset.task, space.path)
    study = open_study(space, objective, storage_url)
    started = time.monotonic()
    before = finished(study)
    recycle = space.training.recycle_after
    short = space.search.trials - before <= recycle  # one worker's worth: no process to start
    if space.search.engine == "optuna" and (space.search.workers > 1 or (recycle and not short)):
        from tunecli.workers import run_pool

        interrupted = run_pool(space, storage_url, study, quiet=quiet)
    else:
        interrupted = _run_here(space, dataset, objective, study, quiet)
    rows = trial_rows(study)
    outcome = SearchOutcome(space.study, store.describe(storage_url), objective, rows, time.monotonic() - started,
                            finished(study) - before, dataset.describe(), interrupted=interrupted)
    best = outcome.best
    if best is not None:
        outcome.best_path = write_yaml(best_out or f"{space.study}-best.yaml",
                                       fixed_space(space.raw, best, space.study, objective.metric),
                                       header=f"Best configuration of study {space.study} "
                                              f"({objective.metric} = {best['value']:.6g}, trial #{best['number']}).\n"
                                              "Every value is fixed: run it with tunecli search or tunecli train.")
    return outcome


def search_context(space: SearchSpace, dataset: Dataset, objective: Objective, study: optuna.Study,
                   progress: Any, limit: int | None = None) -> Any:
    """Everything an engine needs to run trials in this process."""
    from tunecli.engines import SearchContext

    deadline = time.monotonic() + space.search.timeout if space.search.timeout else None
    ctx = SearchContext(space, dataset, objective, study, progress, deadline, _trial_runner(space, dataset, objective))
    ctx.limit = limit
    progress.done = ctx.finished()
    progress.set_best(study)
    return ctx


def _run_here(space: SearchSpace, dataset: Dataset, objective: Objective, study: optuna.Study, quiet: bool) -> bool:
    """Run the trials in this process (Keras Tuner, or recycling switched off); True when interrupted."""
    from tunecli import interrupt
    from tunecli.console import SearchProgress
    from tunecli.engines import get_engine

    progress = SearchProgress(space.search.trials, 0, objective.metric, space.training.max_epochs, quiet=quiet)
    ctx = search_context(space, dataset, objective, study, progress)
    with progress:
        try:
            with interrupt.deferred():
                get_engine(space.search.engine).run(ctx)
        except KeyboardInterrupt:
            return True
    return False


def _trial_runner(space: SearchSpace, dataset: Dataset, objective: Objective):  # noqa: ANN202
    def run(params: dict[str, Any], max_epochs: int | None = None, **kwargs: Any) -> Any:
        from tunecli.trial import run_trial

        training = space.training.model_copy(update={"max_epochs": max_epochs}) if max_epochs else space.training
        return run_trial(params, dataset, training, objective, **kwargs)

    return run
