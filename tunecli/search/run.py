"""``run_search``: the core of ``tunecli search`` (the CLI only parses and renders)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli import interrupt
from tunecli.config import registry
from tunecli.config.objective import Objective
from tunecli.data import BUILTIN, DOWNLOADABLE
from tunecli.data.folds import pooled_rows
from tunecli.data.paths import rebase_space_paths
from tunecli.errors import RunError, TuneCliError
from tunecli.prepare import Prepared, prepare
from tunecli.search import workers
from tunecli.search.context import by_structure, search_context
from tunecli.search.coordination import finished
from tunecli.search.engines import get_engine
from tunecli.search.progress import ProgressFactory, QuietProgress, QuietRerank, RerankDisplay, RerankFactory
from tunecli.search.rerank import rerank
from tunecli.search.study import create_or_resume
from tunecli.studies.diagnostics import early_note
from tunecli.studies.pareto import front_summary
from tunecli.studies.report import param_importances
from tunecli.studies.results import best_row, fixed_space, public_trial, ranked, trial_rows, write_yaml
from tunecli.studies.storage import write_failure
from tunecli.studies.urls import describe
from tunecli.trial import run_group

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
    stopped_by: str | None = None  # "Ctrl-C" or "SIGTERM" when interrupted
    best_error: str | None = None  # why the best configuration could not be written
    reranked: int = 0  # extra runs of the top configurations (search.rerank)
    val_rows: int | None = None  # validation rows: what a score's standard error rests on
    importances: dict[str, float] = field(default_factory=dict)  # fANOVA, most important first (table order)
    notes: list[str] = field(default_factory=list)  # what the table does not say (where the result is)

    @property
    def best(self) -> dict[str, Any] | None:
        return best_row(self.rows, self.objective.direction)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (for ``--json``); trials have the shape of ``report --format json``."""
        top = ranked(self.rows, self.objective.direction)
        return {
            "study": self.study, "storage": self.storage, "objective": self.objective.metric,
            "direction": self.objective.direction, "dataset": self.dataset, "seconds": round(self.seconds, 2),
            "trials_run": self.ran, "reranked_runs": self.reranked, "interrupted": self.interrupted,
            "best": public_trial(self.best, self.max_epochs) if self.best else None,
            "best_config_file": str(self.best_path) if self.best_path else None,
            "trials": [public_trial(r, self.max_epochs) for r in top],
            **front_summary(self.rows, self.objective.names, self.objective.directions),
        }


@dataclass
class Displays:
    """How a search shows itself: the progress displays' factories and where a note goes at once."""

    progress: ProgressFactory = QuietProgress   # the trials (each worker process makes its own)
    rerank: RerankFactory = QuietRerank         # the re-ranking runs
    say: Callable[[str], None] = lambda text: None  # a note on what the search is about to do


def run_search(space: SearchSpace, *, storage_url: str | None = None, quiet: bool = False,
               best_out: str | Path | None = None, more: int | None = None,
               displays: Displays | None = None) -> SearchOutcome:
    """Run (or resume) the search the space describes and write the best configuration (a space whose every
    parameter has one value runs one trial and its re-ranking runs, and is the best file already).

    Args:
        space: the validated search space (command-line overrides already applied).
        storage_url: None for the embedded default file, else any Optuna storage URL or a ``.journal`` path.
        quiet: progress goes to stderr (``--json``).
        best_out: where to write the best configuration (default ``<study>-best.yaml``).
        more: run this many trials more than the study holds (instead of ``search.trials``, the total to reach).
        displays: the progress displays and notes (the CLI's draw on the terminal); default: silent.
    """
    shown = displays or Displays()
    interrupt.install()
    try:
        ready = prepare(space, open_study=lambda objective: create_or_resume(space, objective, storage_url))
        study, objective = ready.study, ready.objective
        started, before = time.monotonic(), finished(study)
        space, note = plan_trials(space, before, more)
        if note:
            shown.say(note)
        interrupted, reranked = _search(space, ready, storage_url, started, before, quiet=quiet, shown=shown)
    except OSError as exc:  # the store (or Keras Tuner's folder) cannot be written: disk full, read-only folder
        raise RunError(write_failure(exc, storage_url)) from None
    outcome = SearchOutcome(space.study, describe(storage_url), objective, trial_rows(study),
                            time.monotonic() - started, finished(study) - before, ready.dataset.describe(),
                            max_epochs=space.training.max_epochs, interrupted=interrupted,
                            stopped_by=interrupt.describe() if interrupted else None, reranked=reranked or 0,
                            val_rows=pooled_rows(ready.dataset),
                            importances={} if interrupted or quiet else param_importances(study)[0])
    if not interrupted and finished(study) == 0:
        raise RunError(f"no trial ran and study {space.study!r} holds none ({_why_none(space, outcome.seconds)}); "
                       "nothing was searched", source=outcome.storage)
    if outcome.best is not None:
        _write_best(space, outcome, best_out, ready.folder)
    es = space.training.early_stopping
    if es.enabled and (note := early_note(outcome.rows, space.training.max_epochs, es.patience)):
        outcome.notes.append(note)
    return outcome


def plan_trials(space: SearchSpace, before: int, more: int | None = None) -> tuple[SearchSpace, str | None]:
    """The space with the total of trials to reach, and a note for the user where it is not the file's own.

    Args:
        space: the validated space; ``search.trials`` is the total to reach.
        before: trials the study holds (those that count).
        more: this many trials more than ``before`` (``--more``); it wins over a fixed space's single trial.
    """
    trials = space.search.trials
    if more is not None:
        return with_trials(space, before + more), (f"{more} more trial{'s' if more > 1 else ''}: study {space.study} "
                                                    f"holds {before}, the search goes on to {before + more}")
    if space.all_fixed():
        runs = space.search.rerank.seeds - 1 if space.search.rerank.top > 0 else 0
        reruns = f" and its {runs} re-ranking runs (search.rerank.seeds: {runs + 1})" if runs > 0 else ""
        if before:
            return with_trials(space, 1), (f"every parameter is fixed and study {space.study} already holds its "
                                           f"trial: no new trial (`--more N` runs N more)")
        instead = f", not {trials} identical ones" if trials > 1 else ""
        return with_trials(space, 1), f"every parameter is fixed: one trial{reruns}{instead}"
    if before >= trials:
        return space, (f"study {space.study} already holds {before} trials and --trials / search.trials ({trials}) "
                       f"is the total to reach: no new trial (`--more N` runs N more)")
    return space, None


def with_trials(space: SearchSpace, trials: int) -> SearchSpace:
    """A copy of ``space`` whose ``search.trials`` (also in its raw mapping, which worker processes read) is ``trials``."""
    raw = {**space.raw, "search": {**(space.raw.get("search") or {}), "trials": trials}}
    return space.model_copy(update={"raw": raw, "search": space.search.model_copy(update={"trials": trials})})


#: A search with a timeout this short (seconds) trains in this process, whatever ``training.recycle_after`` says.
SHORT_SEARCH_S = 300.0


def _search(space: SearchSpace, ready: Prepared, storage_url: str | None, started: float, before: int, *,
            quiet: bool, shown: Displays) -> tuple[bool, int | None]:
    """Run the trials (here, or in worker processes), then re-rank; whether interrupted, and the re-ranked runs."""
    study, objective = ready.study, ready.objective
    recycle = space.training.recycle_after
    # one worker's worth, or a search of a few minutes at most: no process to start (recycling bounds the memory
    # of long studies; a worker's start-up costs seconds that a short timeout cannot spare)
    timeout = space.search.timeout
    short = space.search.trials - before <= recycle or (timeout is not None and timeout <= SHORT_SEARCH_S)
    if registry.ENGINES[space.search.engine].workers and (space.search.workers > 1 or (recycle and not short)):
        interrupted = workers.run_pool(space, storage_url, study, quiet=quiet, progress=shown.progress)
    else:
        interrupted = run_here(space, ready.dataset, objective, study, shown.progress(
            space.search.trials, 0, objective.metric, space.training.max_epochs, quiet=quiet,
            timeout=space.search.timeout))
    deadline = started + space.search.timeout if space.search.timeout else None
    settings = space.search.rerank
    display = shown.rerank(objective.metric, space.training.max_epochs, top=settings.top, seeds=settings.seeds,
                           quiet=quiet, deadline=deadline)
    reranked = 0 if interrupted else _rerank(space, ready.dataset, objective, study, display, deadline)
    return interrupted or reranked is None, reranked


def _why_none(space: SearchSpace, seconds: float) -> str:
    """Why a search that was not interrupted ran no trial."""
    timeout = space.search.timeout
    if timeout and seconds >= timeout:
        return f"the timeout ({timeout:g}s) ran out before the first trial ended"
    return f"the {space.search.engine} engine started no trial"


def _write_best(space: SearchSpace, outcome: SearchOutcome, best_out: str | Path | None, folder: Path | None) -> None:
    """Write the best configuration as a fixed space file (``outcome.best_path``), or say why not (``best_error``,
    or a note where the space is fixed: it is that file already)."""
    best, metric = outcome.best, outcome.objective.metric
    if best_out is None and space.all_fixed():
        outcome.notes.append(f"No new best file: every parameter is fixed, so {space.path or 'the space'} is the "
                             f"configuration itself; its runs are in study {space.study} (tunecli report {space.study})")
        return
    try:
        target = Path(best_out or f"{space.study}-best.yaml")
        fixed = rebase_space_paths(fixed_space(space.raw, best, space.study, metric), folder,
                                   target.parent, BUILTIN + DOWNLOADABLE)  # its paths find the same files
        outcome.best_path = write_yaml(
            target, fixed,
            header=f"Best configuration of study {space.study} "
                   f"({metric} = {best['value']:.6g}, trial #{best['number']}).\n"
                   "Every value is fixed: run it with tunecli search or tunecli train.")
    except TuneCliError as exc:
        outcome.best_error = (f"{exc.render()}. The trials are stored in {outcome.storage}: "
                              f"`tunecli report {space.study} --export FILE` writes the best configuration later")


def _rerank(space: SearchSpace, dataset: Dataset, objective: Objective, study: optuna.Study,
            display: RerankDisplay, deadline: float | None = None) -> int | None:
    """Run the top configurations again (``search.rerank``), shown on ``display``; the runs trained, None when
    interrupted."""
    def run(configs: list[dict[str, Any]], seeds: list[int | None]) -> list[Any]:
        return run_group(configs, dataset, space.training, objective, seeds=seeds,
                         on_epochs=display.group(len(configs)))

    settings = space.search.rerank
    try:
        with interrupt.deferred(), display:
            return rerank(study, top=settings.top, seeds=settings.seeds, base_seed=space.search.seed, run=run,
                          deadline=deadline, plan=lambda configs: by_structure(configs, space, dataset), report=display)
    except KeyboardInterrupt:
        return None


def run_here(space: SearchSpace, dataset: Dataset, objective: Objective, study: optuna.Study, progress: Any) -> bool:
    """Run the trials in this process (Keras Tuner, or recycling switched off); True when interrupted."""
    ctx = search_context(space, dataset, objective, study, progress)
    with progress:
        try:
            with interrupt.deferred():
                get_engine(space.search.engine).run(ctx)
        except KeyboardInterrupt:
            return True
    return False
