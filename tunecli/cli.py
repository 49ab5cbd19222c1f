"""The ``tunecli`` command: parse options, call one core function, render, exit.

Heavy modules (Optuna, Keras, TensorFlow) are imported inside the commands, so that
``tunecli --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

app = typer.Typer(
    name="tunecli",
    help="Tune Keras MLPs from one YAML search-space file: search, LR range test, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

SpaceArg = Annotated[Path, typer.Argument(help="The search-space YAML file.", show_default=False)]
StorageOpt = Annotated[Optional[str], typer.Option("--storage", help="Optuna storage URL or .journal file "
                                                   "(default: tunecli.journal in this folder).")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")]


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
            from tunecli.console import error

            error(exc.render())
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            from tunecli.console import error

            error("interrupted")
            raise typer.Exit(code=130) from None
        except typer.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - last resort: no traceback without --debug
            if debug:
                raise
            from tunecli.console import error

            error(f"unexpected {type(exc).__name__}: {exc}. Run again with --debug for the traceback.")
            raise typer.Exit(code=1) from None

    return wrapper


@app.command()
@handle_errors
def search(
    space_file: SpaceArg,
    data: Annotated[Optional[str], typer.Option(help="Data source: built-in name or .csv/.parquet/.npz path.")] = None,
    target: Annotated[Optional[str], typer.Option(help="Target column of a table.")] = None,
    task: Annotated[Optional[str], typer.Option(help="classification | regression | auto.")] = None,
    engine: Annotated[Optional[str], typer.Option(help="optuna | keras-tuner.")] = None,
    algorithm: Annotated[Optional[str], typer.Option(help="optuna: tpe|random|cmaes|gp|qmc|grid; "
                                                     "keras-tuner: random|bayesian|hyperband|grid.")] = None,
    pruner: Annotated[Optional[str], typer.Option(help="median | hyperband | successive-halving | none.")] = None,
    trials: Annotated[Optional[int], typer.Option(help="Total number of trials the study should reach.")] = None,
    timeout: Annotated[Optional[str], typer.Option(help="Stop starting trials after this long (90s, 10m, 1h).")] = None,
    max_epochs: Annotated[Optional[int], typer.Option(help="Epoch cap per trial.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the sampler and of each trial.")] = None,
    study: Annotated[Optional[str], typer.Option(help="Study name (default: the file's `study`).")] = None,
    storage: StorageOpt = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes sharing the study (optuna engine).")] = None,
    backend: Annotated[Optional[str], typer.Option(help="Keras backend: tensorflow | jax | torch.")] = None,
    trainer: Annotated[Optional[str], typer.Option(help="auto (the fast JAX trainer where it covers the "
                                                   "configuration) | keras (always Keras' fit).")] = None,
    best_out: Annotated[Optional[Path], typer.Option(help="Where to write the best configuration "
                                                     "(default: STUDY-best.yaml).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of tables.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Run (or resume) a search; show the best configurations and save the best one as YAML."""
    from tunecli.space import load_space

    overrides = {
        "data.source": data, "data.target": target, "data.task": task, "search.engine": engine,
        "search.algorithm": algorithm, "search.pruner": pruner, "search.trials": trials, "search.timeout": timeout,
        "training.max_epochs": max_epochs, "search.seed": seed, "study": study, "training.backend": backend,
        "search.workers": workers, "training.trainer": trainer,
    }
    space = load_space(space_file, overrides)
    from tunecli.search import run_search

    outcome = run_search(space, storage_url=storage, quiet=as_json, best_out=best_out)
    from tunecli import render

    if as_json:
        print(json.dumps(outcome.summary(), indent=2, default=str))
    else:
        render.search_outcome(outcome)
    if outcome.interrupted:
        raise typer.Exit(code=130)


@app.command("lr-find")
@handle_errors
def lr_find(
    space_file: SpaceArg,
    params: Annotated[Optional[list[str]], typer.Option("--params", help="key=value for the model (repeatable).")] = None,
    from_study: Annotated[Optional[str], typer.Option(help="Use the best trial of this study.")] = None,
    storage: StorageOpt = None,
    min_lr: Annotated[float, typer.Option(help="Start of the ramp.")] = 1e-7,
    max_lr: Annotated[float, typer.Option(help="End of the ramp.")] = 10.0,
    steps: Annotated[int, typer.Option(min=5, max=10_000, help="Steps (at most one epoch).")] = 100,
    rule: Annotated[str, typer.Option(help="valley | steep | minimum | slide | divergence.")] = "valley",
    plot: Annotated[Optional[Path], typer.Option(help="Also save the curve as a PNG.")] = None,
    write_space: Annotated[Optional[Path], typer.Option(help="Write a copy of the space with the LR range found.")] = None,
    data: Annotated[Optional[str], typer.Option(help="Data source override.")] = None,
    target: Annotated[Optional[str], typer.Option(help="Target column override.")] = None,
    backend: Annotated[Optional[str], typer.Option(help="Keras backend: tensorflow | jax | torch.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the curve and suggestions as JSON.")] = False,
    debug: DebugOpt = False,
) -> None:
    """LR range test: ramp the learning rate over (at most) one epoch; suggest an LR and bounds."""
    from tunecli.errors import SpaceError
    from tunecli.lr_finder import RULES
    from tunecli.space import load_space

    if rule not in RULES:
        raise SpaceError(f"unknown rule {rule!r}; allowed: {', '.join(RULES)}", field="--rule")
    space = load_space(space_file, {"data.source": data, "data.target": target, "training.backend": backend})
    from tunecli.lr_find import find_lr, parse_params, space_with_lr_range

    outcome = find_lr(space, params=parse_params(params or []), from_study=from_study, storage_url=storage,
                      min_lr=min_lr, max_lr=max_lr, steps=steps, rule=rule)
    from tunecli import render

    if as_json:
        print(json.dumps({**outcome.result.to_dict(), "config": outcome.config}, indent=2, default=str))
    else:
        render.lr_find_outcome(outcome)
    if plot:
        from tunecli.plots import lr_curve_png

        render.note(f"wrote {lr_curve_png(outcome.result, plot)}")
    if write_space:
        from tunecli.results import write_yaml

        low, high = outcome.result.bounds()
        path = write_yaml(write_space, space_with_lr_range(space.raw, (low, high)),
                          header=f"{space_file} with learning_rate from the LR range test ({rule}: {outcome.result.lr:.3g}).")
        render.note(f"wrote {path} (learning_rate: log-uniform {low:.3g} to {high:.3g})")


@app.command()
@handle_errors
def report(
    study: Annotated[Optional[str], typer.Argument(help="Study name (default: the only one in the store).")] = None,
    storage: StorageOpt = None,
    top: Annotated[int, typer.Option(min=1, help="How many of the best trials to show.")] = 10,
    fmt: Annotated[str, typer.Option("--format", help="table | json | csv | yaml.")] = "table",
    export: Annotated[Optional[Path], typer.Option(help="Write the best configuration as a fixed space file.")] = None,
    plots: Annotated[Optional[Path], typer.Option(help="Write PNG plots into this folder.")] = None,
    debug: DebugOpt = False,
) -> None:
    """Show a study: summary, best trials, importances, diagnostics; export and plot it."""
    from tunecli import render
    from tunecli import report as rep
    from tunecli.errors import TuneCliError

    if fmt not in ("table", "json", "csv", "yaml"):
        raise TuneCliError(f"unknown format {fmt!r}; allowed: table, json, csv, yaml", field="--format")
    loaded = rep.open_study(study, storage)
    if loaded is None:
        from tunecli.storage import open_storage, summarize

        render.study_list(summarize(open_storage(storage)))
        return
    result = rep.build_report(loaded, storage, importances=fmt != "csv")  # csv has no place for them
    if fmt == "table":
        render.study_report(result, top)
    else:
        sys.stdout.write(rep.dumps(result, fmt))
    if export:
        from tunecli.results import write_yaml

        path = write_yaml(export, result.export_space(), header=f"Best configuration of study {result.study}.")
        render.note(f"Best configuration written to {path}")
    if plots:
        from tunecli.plots import write_plots

        for path in write_plots(result, plots):
            render.note(f"wrote {path}")


@app.command()
@handle_errors
def train(
    best_file: Annotated[Path, typer.Argument(help="A space file with every value fixed (report --export).")],
    output: Annotated[Optional[Path], typer.Option(help="Save the trained model here (.keras).")] = None,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Epochs (default: the best trial's best epoch).")] = None,
    mc_dropout: Annotated[int, typer.Option(min=0, help="Also report MC dropout over N stochastic passes.")] = 0,
    backend: Annotated[Optional[str], typer.Option(help="Keras backend: tensorflow | jax | torch.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Refit the best configuration on train + validation; score it once on the unseen test split."""
    from tunecli.space import load_space
    from tunecli.train import train_best

    space = load_space(best_file, {"training.backend": backend})
    outcome = train_best(space, output=output, mc_dropout=mc_dropout, epochs=epochs)
    from tunecli import render

    if as_json:
        print(json.dumps(outcome.summary(), indent=2))
    else:
        render.train_outcome(outcome)


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    """Tune Keras MLPs from one YAML search-space file."""
    if version:
        from tunecli import __version__

        print(f"tunecli {__version__}")
        raise typer.Exit()


def run() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    run()
