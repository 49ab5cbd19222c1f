"""Finding a file a space names: as given (relative to the current folder), else next to the space file."""

from __future__ import annotations

from pathlib import Path


def find_file(name: str, base_dir: str | Path | None) -> Path | None:
    """The file (or folder) ``name`` names: as given (relative to the current folder), else next to the space file."""
    path = Path(name).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path] + ([Path(base_dir) / path] if base_dir else [])
    return next((candidate for candidate in candidates if candidate.exists()), None)


def rebase(name: str, base_dir: str | Path | None, new_dir: str | Path) -> str:
    """``name`` as a file written in ``new_dir`` must spell it to find the same file: unchanged when it is
    absolute, found from the current folder, or found nowhere (the reader then says so); else (found next to
    the space file in ``base_dir``) the path from ``new_dir`` to it."""
    import os

    path = Path(name).expanduser()
    if path.is_absolute() or (Path.cwd() / path).exists() or not base_dir:
        return name
    beside = Path(base_dir) / path
    if not beside.exists():
        return name
    return os.path.relpath(beside.resolve(), Path(new_dir).resolve())


def rebase_space_paths(raw: dict, base_dir: str | Path | None, new_dir: str | Path,
                       builtin: tuple[str, ...] = ()) -> dict:
    """The files a space names (``data.source`` unless one of the ``builtin`` names, ``transfer.from``,
    ``pretrain.unlabeled``), rebased in place for a copy of the space written in ``new_dir``."""
    for section, key, keep in (("data", "source", builtin), ("transfer", "from", ()),
                               ("pretrain", "unlabeled", ("rest",))):
        block = raw.get(section)
        if isinstance(block, dict) and isinstance(block.get(key), str) and block[key] not in keep:
            block[key] = rebase(block[key], base_dir, new_dir)
    return raw
