"""Finding a file a space names: as given (relative to the current folder), else next to the space file."""

from __future__ import annotations

from pathlib import Path


def find_file(name: str, base_dir: str | Path | None) -> Path | None:
    """The file (or folder) ``name`` names: as given (relative to the current folder), else next to the space file."""
    path = Path(name).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path] + ([Path(base_dir) / path] if base_dir else [])
    return next((candidate for candidate in candidates if candidate.exists()), None)
