"""What every command of the command line shares: its options' choices, panels (Typer's ``rich_help_panel``:
data, search, training, storage, output) and placeholders (``COLUMN``, ``FILE``), the options several commands
take, help in plain text that reads at 80 columns (options panel by panel; ``tunecli --help`` gives each
command's summary whole), and the handling of errors (one message and the documented exit code).

Only Typer and the config tables are imported here: ``tunecli --help`` stays fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from tunecli.config import registry
from tunecli.config.catalogue import LR_RULES

DATA, SEARCH, TRAINING, STORAGE, OUTPUT = "Data", "Search", "Training", "Storage", "Output"
#: Panels in the order help shows them; options without a panel (``--debug``, ``--help``) come last.
PANELS = (DATA, SEARCH, TRAINING, STORAGE, OUTPUT)
OTHER = "Options"


def option(panel: str, help: str, *names: str, **settings: Any) -> Any:  # noqa: A002 - Typer's own name
    """``typer.Option`` in ``panel``: ``option(DATA, "Target column.", metavar="COLUMN")``."""
    return typer.Option(*names, help=help, rich_help_panel=panel, **settings)


def choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum of ``values``: Typer checks the option at parse time, lists and completes its choices."""
    return Enum(name, {v.replace("-", "_"): v for v in values}, type=str)


Task = choices("Task", ("auto", "classification", "regression"))
Engine = choices("Engine", tuple(registry.ENGINES))
Pruner = choices("Pruner", tuple(registry.PRUNERS))
Backend = choices("Backend", ("tensorflow", "jax", "torch"))
Trainer = choices("Trainer", ("auto", "keras"))
Rule = choices("Rule", tuple(LR_RULES))
Format = choices("Format", ("table", "json", "csv", "yaml"))


def value(choice: Enum | None) -> str | None:
    """The text of a choice (None when the option was not given)."""
    return None if choice is None else choice.value


SpaceArg = Annotated[Path, typer.Argument(metavar="SPACE_FILE", help="The search-space YAML file.", show_default=False)]
StorageOpt = Annotated[Optional[str], option(STORAGE, "Optuna storage URL or .journal file (default: tunecli.journal "
                                             "in this folder).", "--storage", metavar="URL")]
DataOpt = Annotated[Optional[str], option(DATA, "Data source: built-in name or .csv/.parquet/.npz path.", metavar="SOURCE")]
TargetOpt = Annotated[Optional[str], option(DATA, "Target column of a table.", metavar="COLUMN")]
DropOpt = Annotated[Optional[list[str]], option(DATA, "Leave this column out (repeatable; adds to data.drop).", "--drop",
                                                metavar="COLUMN")]
BackendOpt = Annotated[Optional[Backend], option(TRAINING, "Keras backend: tensorflow | jax | torch.", metavar="NAME")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")]
PickOpt = Annotated[Optional[str], option(OUTPUT, "Which trial: a number, best, knee (the Pareto front's, several "
                                          "objectives) or a rule such as 'params<=20000' (the best score among the "
                                          "trials that keep it).", "--pick", metavar="TRIAL")]
N = {"metavar": "N"}

#: Options whose name is not the last part of the setting they override.
_OPTION_OF = {"data.source": "--data", "search.rerank.top": "--rerank-top", "search.rerank.seeds": "--rerank-seeds"}


def option_names(overrides: dict[str, Any]) -> dict[str, str]:
    """The option each override comes from (``search.trials`` -> ``--trials``): a bad value is blamed on it."""
    names = {k.removesuffix("+") for k in overrides}
    return {k: _OPTION_OF.get(k, "--" + k.rsplit(".", 1)[-1].replace("_", "-")) for k in names}


class Command(TyperCommand):
    """A command whose help lists its arguments, then its options panel by panel, all in one column layout; the
    usage line names the arguments by their metavar (``SPACE_FILE``, not ``{space_file}``)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = param.metavar or param.name.upper()
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                record = (param.metavar or param.name.upper(), record[1])
                title = "Arguments"
            else:
                title = getattr(param, "rich_help_panel", None) or OTHER
            sections.setdefault(title, []).append(record)
        width = min(COLUMN, max(len(term) for rows in sections.values() for term, _ in rows))
        for title in sorted(sections, key=panel_order):
            with formatter.section(title):
                formatter.write_dl([(term.ljust(width), text) for term, text in sections[title]])


#: The widest option column (a longer option puts its help on the next line).
COLUMN = 24


def panel_order(title: str) -> int:
    """Where a section goes: the arguments, ``PANELS`` in order, any other panel, the options without one last."""
    order = ("Arguments", *PANELS)
    return order.index(title) if title in order else len(order) + (title == OTHER)


class Group(TyperGroup):
    """The ``tunecli`` group: ``--help`` lists each command with its whole summary, wrapped, not cut."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def summary(command: Any) -> str:
    """A command's short help, or the first paragraph of its help, on one line."""
    text = command.short_help or command.help or ""
    return " ".join(text.strip().split("\n\n")[0].split())


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one clear message and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tunecli.errors import TuneCliError

        debug = kwargs.get("debug", False)
        try:
            return func(*args, **kwargs)
        except TuneCliError as exc:
            if debug:
                raise
            from tunecli.ui.console import error

            error(exc.render())
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            from tunecli import interrupt
            from tunecli.ui.console import error

            error(f"interrupted ({interrupt.describe()})")
            raise typer.Exit(code=interrupt.exit_code()) from None
        except typer.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - last resort: no traceback without --debug
            if closed_pipe(exc):
                raise typer.Exit(code=0) from None
            if debug:
                raise
            from tunecli.ui.console import error

            error(f"unexpected {type(exc).__name__}: {exc}. Run again with --debug for the traceback.")
            raise typer.Exit(code=1) from None

    return wrapper


def closed_pipe(exc: BaseException | None = None) -> bool:
    """True when stdout's reader has gone (``tunecli report | head -3``): not an error (``git log | head`` exits 0 too)."""
    from tunecli.ui.console import stdout_gone

    return (exc is None or isinstance(exc, BrokenPipeError)) and stdout_gone()
