"""Domain exceptions. Library code raises these; only ``cli.py`` prints them."""

from __future__ import annotations


class TuneCliError(Exception):
    """Bad input or usage: the CLI prints the message and exits with code 2."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None) -> None:
        self.message = message
        self.source = source
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        where = ": ".join(part for part in (self.source, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class SpaceError(TuneCliError):
    """The search-space file is malformed or inconsistent."""


class DataError(TuneCliError):
    """The data source is missing, unreadable or unsuitable."""


class StorageError(TuneCliError):
    """The study store cannot be opened or does not hold what was asked for."""


class RunError(TuneCliError):
    """A run-time failure that is not the user's input (exit code 1)."""

    exit_code = 1

