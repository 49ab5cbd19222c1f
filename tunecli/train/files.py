"""Where ``tunecli train`` saves its models (``.keras``, a TensorFlow SavedModel), checked writable before any
training, and what it saves: the model that ships (``tunecli.serving``) with its metadata record."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.errors import TuneCliError
from tunecli.serving import metadata
from tunecli.serving.record import Scores, record
from tunecli.serving.shipped import ship

if TYPE_CHECKING:
    from tunecli.serving.inputs import RawInputs
    from tunecli.train.outcome import Job, TrainOutcome

EXPORT_OPTION = "--export-saved-model"


def output_path(output: str | Path, option: str = "--output", force: bool = False) -> Path:
    """Where the model goes (``.keras``), checked writable (and new, unless ``force``) before any training."""
    path = Path(output)
    if path.suffix != ".keras":
        path = path.with_suffix(".keras")
    if path.exists() and not force:
        raise TuneCliError("already exists; --force overwrites it, or name another file", source=str(path),
                           field=option)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(f".{path.name}.tunecli-write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise TuneCliError(f"cannot write the model here: {exc.strerror}", source=str(path), field=option) from None
    return path


def output_paths(output: str | Path | None, kept_output: str | Path | None,
                 from_search: bool, force: bool = False) -> tuple[Path | None, Path | None]:
    """Where the refit and the kept model go (None: not saved), each checked writable."""
    refit_path = output_path(output, force=force) if output and not from_search else None
    kept_path = output_path(kept_output or output, "--kept-output" if kept_output else "--output", force) if (
        kept_output or (from_search and output)) else None
    if refit_path is not None and refit_path == kept_path:
        raise TuneCliError("--output and --kept-output name the same file", field="--kept-output")
    return refit_path, kept_path


def export_path(folder: str | Path | None, force: bool = False) -> Path | None:
    """Where the SavedModel goes: a new or empty folder (with ``force``, also a SavedModel written before), checked
    before any training; the TensorFlow backend is needed to write one."""
    if folder is None:
        return None
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise TuneCliError("is a file; a SavedModel is a folder", source=str(path), field=EXPORT_OPTION)
    if path.is_dir() and any(path.iterdir()):
        if not force:
            raise TuneCliError("already exists and is not empty; --force overwrites a SavedModel, or name a new "
                               "folder", source=str(path), field=EXPORT_OPTION)
        if not (path / "saved_model.pb").is_file():
            raise TuneCliError("is not empty and holds no SavedModel (saved_model.pb), so --force leaves it alone; "
                               "name a new or empty folder", source=str(path), field=EXPORT_OPTION)
    import keras

    if keras.backend.backend() != "tensorflow":
        raise TuneCliError(f"writes a TensorFlow SavedModel, which needs the tensorflow backend (this run uses "
                           f"{keras.backend.backend()}): add --backend tensorflow", field=EXPORT_OPTION)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TuneCliError(f"cannot write here: {exc.strerror}", source=str(path), field=EXPORT_OPTION) from None
    return path


def save(model: Any, path: Path | None, job: Job, outcome: TrainOutcome, option: str = "--output",
         export: Path | None = None) -> Path | None:
    """Save the model as users load it (``path``, with its metadata record; and/or a SavedModel in ``export``):
    raw columns in (the preprocessing inside), class probabilities or values in the target's own units out, MC
    dropout averaged inside. Returns ``path``."""
    shipped, raw = shipped_model(model, job, ensemble=outcome.model == "ensemble")
    if path is not None:
        try:
            shipped.save(path)
            metadata.write(path, describe(raw, job, outcome))
        except OSError as exc:
            raise TuneCliError(f"cannot save the model: {exc.strerror}", source=str(path), field=option) from None
    if export is not None:
        _export(shipped, export)
    return path


def shipped_model(model: Any, job: Job, ensemble: bool = False) -> tuple[Any, RawInputs]:
    """The trained network (or an ensemble's model, MC masks inside) with the data's preprocessing in front."""
    data = job.space.data
    return ship(model, job.dataset, source=data.source, target_scale=data.target_scale, passes=job.passes,
                nested=ensemble)


def describe(raw: RawInputs, job: Job, outcome: TrainOutcome) -> dict[str, Any]:
    """The metadata record of the model ``outcome`` scored (a kept model or an ensemble trained on the training
    split and is scored on validation; a refit trained on both: the search's validation score stands for it)."""
    dataset, refitted = job.dataset, outcome.model == "refit"
    validation = outcome.search_score if refitted else outcome.val_score
    trial = outcome.trial if outcome.model == "kept" else (job.space.origin or {}).get("trial")
    rows = len(dataset.x_train) + (len(dataset.x_val) if refitted else 0)
    return record(raw, dataset, job.space, config=job.params, passes=job.passes, kind=outcome.model,
                  trial=trial if isinstance(trial, int) and not isinstance(trial, bool) else None,
                  scores=Scores(outcome.metric, validation, outcome.test_score), rows=rows,
                  members=outcome.members if outcome.model == "ensemble" else None)


def _export(shipped: Any, folder: Path) -> None:
    """The shipped model as a TensorFlow SavedModel (``serve``: the same raw inputs, the same outputs)."""
    try:
        shipped.export(str(folder), format="tf_saved_model", verbose=False)
    except OSError as exc:
        raise TuneCliError(f"cannot write the SavedModel: {exc.strerror}", source=str(folder),
                           field=EXPORT_OPTION) from None
