"""``run_search``: the core of ``tunecli search`` (the CLI only parses and renders)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.config.objective import Objective, resolve_objective
from tunecli.search.context import search_context
from tunecli.search.progress import ProgressFactory, QuietProgress
from tunecli.search.study import create_or_resume
from tunecli.studies import storage as store
from tunecli.studies.results import best_row, fixed_space, public_trial, ranked, trial_rows, write_yaml

if TYPE_CHECKING:
    import optuna

    from tunecli.config.space import SearchSpace
    from tunecli.data import Dataset


@dataclass
class SearchOutcome:
    study: str
    storage: str
    objective: Objective
    rows: list[dict[str, Any]]
    seconds: float
    ran: int
    dataset: str
    max_epochs: int | None = None
    best_path: Path | None = None
    interrupted: bool = False

    @property
    def best(self) -> dict[str, Any] | None:
        return best_row(self.rows, self.objective.direction)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (for ``--json``); trials have the shape of ``report --format json``."""
        top = ranked(self.rows, self.objective.direction)
        return {
            "study": self.study, "storage": self.storage, "objective": self.objective.metric,
            "direction": self.objective.direction, "dataset": self.dataset, "seconds": round(self.seconds, 2),
            "trials_run": self.ran, "interrupted": self.interrupted,
            "best": public_trial(self.best, self.max_epochs) if self.best else None,
            "best_config_file": str(self.best_path) if self.best_path else None,
            "trials": [public_trial(r, self.max_epochs) for r in top],
        }


def run_search(space: SearchSpace, *, storage_url: str | None = None, quiet: bool = False,
               best_out: str | Path | None = None, progress: ProgressFactory = QuietProgress) -> SearchOutcome:
    """Run (or resume) the search the space describes and write the best configuration.

    Args:
        space: the validated search space (command-line overrides already applied).
        storage_url: None for the embedded default file, else any Optuna storage URL or a ``.journal`` path.
        quiet: progress goes to stderr (``--json``).
        best_out: where to write the best configuration (default ``<study>-best.yaml``).
        progress: makes the progress display of each process (``tunecli.ui.SearchProgress`` in the CLI).
    """
    from tunecli import interrupt
    from tunecli.data import load_data
    from tunecli.runtime import init_backend
    from tunecli.search.coordination import finished

    interrupt.install()
    init_backend(space.training.backend)
    base = Path(space.path).parent if space.path else None
    dataset = load_data(space.data, base_dir=base)
    objective = resolve_objective(space.objective, dataset.task, space.path)
    study = create_or_resume(space, objective, storage_url)
    started = time.monotonic()
    before = finished(study)
    recycle = space.training.recycle_after
    short = space.search.trials - before <= recycle  # one worker's worth: no process to start
    if space.search.engine == "optuna" and (space.search.workers > 1 or (recycle and not short)):
        from tunecli.search.workers import run_pool

        interrupted = run_pool(space, storage_url, study, quiet=quiet, progress=progress)
    else:
        interrupted = _run_here(space, dataset, objective, study, progress(
            space.search.trials, 0, objective.metric, space.training.max_epochs, quiet=quiet))
    outcome = SearchOutcome(space.study, store.describe(storage_url), objective, trial_rows(study),
                            time.monotonic() - started, finished(study) - before, dataset.describe(),
                            max_epochs=space.training.max_epochs, interrupted=interrupted)
    best = outcome.best
    if best is not None:
        outcome.best_path = write_yaml(best_out or f"{space.study}-best.yaml",
                                       fixed_space(space.raw, best, space.study, objective.metric),
                                       header=f"Best configuration of study {space.study} "
                                              f"({objective.metric} = {best['value']:.6g}, trial #{best['number']}).\n"
                                              "Every value is fixed: run it with tunecli search or tunecli train.")
    return outcome


def _run_here(space: SearchSpace, dataset: Dataset, objective: Objective, study: optuna.Study, progress: Any) -> bool:
    """Run the trials in this process (Keras Tuner, or recycling switched off); True when interrupted."""
    from tunecli import interrupt
    from tunecli.search.engines import get_engine

    ctx = search_context(space, dataset, objective, study, progress)
    with progress:
        try:
            with interrupt.deferred():
                get_engine(space.search.engine).run(ctx)
        except KeyboardInterrupt:
            return True
    return False
