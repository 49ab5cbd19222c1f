"""Where ``tunecli train`` saves its models (``.keras``), checked writable before any training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunecli.config.catalogue import with_defaults
from tunecli.errors import TuneCliError


def output_path(output: str | Path, option: str = "--output") -> Path:
    """Where the model goes (``.keras``), checked writable before any training."""
    path = Path(output)
    if path.suffix != ".keras":
        path = path.with_suffix(".keras")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(f".{path.name}.tunecli-write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise TuneCliError(f"cannot write the model here: {exc.strerror}", source=str(path), field=option) from None
    return path


def output_paths(output: str | Path | None, kept_output: str | Path | None,
                 from_search: bool) -> tuple[Path | None, Path | None]:
    """Where the refit and the kept model go (None: not saved), each checked writable."""
    refit_path = output_path(output) if output and not from_search else None
    kept_path = output_path(kept_output or output, "--kept-output" if kept_output else "--output") if (
        kept_output or (from_search and output)) else None
    if refit_path is not None and refit_path == kept_path:
        raise TuneCliError("--output and --kept-output name the same file", field="--kept-output")
    return refit_path, kept_path


def save(model: Any, path: Path, params: dict[str, Any], task: str, option: str = "--output") -> Path:
    """Save the model as users load it (preprocessing inside, class names with the probabilities)."""
    from tunecli.trainers.keras.fit import portable

    try:
        portable(model, with_defaults(params), task).save(path)
    except OSError as exc:
        raise TuneCliError(f"cannot save the model: {exc.strerror}", source=str(path), field=option) from None
    return path
