"""The ``tunecli`` command: parse options, call one core function, render, exit.

Heavy modules (Optuna, Keras, TensorFlow) are imported inside the commands, so that
``tunecli --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from tunecli.config import registry
from tunecli.config.catalogue import LR_RULES

app = typer.Typer(
    name="tunecli",
    help="Tune Keras MLPs from one YAML search-space file: search, LR range test, report.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum of ``values``: Typer checks the option at parse time, lists and completes its choices."""
    return Enum(name, {v.replace("-", "_"): v for v in values}, type=str)


Task = _choices("Task", ("auto", "classification", "regression"))
Engine = _choices("Engine", tuple(registry.ENGINES))
Pruner = _choices("Pruner", tuple(registry.PRUNERS))
Backend = _choices("Backend", ("tensorflow", "jax", "torch"))
Trainer = _choices("Trainer", ("auto", "keras"))
Rule = _choices("Rule", tuple(LR_RULES))
Format = _choices("Format", ("table", "json", "csv", "yaml"))


def _value(choice: Enum | None) -> str | None:
    return None if choice is None else choice.value


SpaceArg = Annotated[Path, typer.Argument(help="The search-space YAML file.", show_default=False)]
StorageOpt = Annotated[Optional[str], typer.Option("--storage", help="Optuna storage URL or .journal file "
                                                   "(default: tunecli.journal in this folder).")]
DropOpt = Annotated[Optional[list[str]], typer.Option("--drop", help="Leave this column out (repeatable; adds to data.drop).")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")]
PickOpt = Annotated[Optional[str], typer.Option("--pick", help="Which trial: a number, best, knee (the Pareto "
                                                "front's, several objectives) or a rule such as 'params<=20000' "
                                                "(the best score among the trials that keep it).")]


#: Options whose name is not the last part of the setting they override.
_OPTION_OF = {"data.source": "--data", "search.rerank.top": "--rerank-top", "search.rerank.seeds": "--rerank-seeds"}


def _options(overrides: dict[str, Any]) -> dict[str, str]:
    """The option each override comes from (``search.trials`` -> ``--trials``): a bad value is blamed on it."""
    names = {k.removesuffix("+") for k in overrides}
    return {k: _OPTION_OF.get(k, "--" + k.rsplit(".", 1)[-1].replace("_", "-")) for k in names}


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
            if _closed_pipe(exc):
                raise typer.Exit(code=0) from None
            if debug:
                raise
            from tunecli.ui.console import error

            error(f"unexpected {type(exc).__name__}: {exc}. Run again with --debug for the traceback.")
            raise typer.Exit(code=1) from None

    return wrapper


def _closed_pipe(exc: BaseException | None = None) -> bool:
    """True when stdout's reader has gone (``tunecli report | head -3``): not an error (``git log | head`` exits 0 too)."""
    from tunecli.ui.console import stdout_gone

    return (exc is None or isinstance(exc, BrokenPipeError)) and stdout_gone()


@app.command(epilog=registry.describe())
@handle_errors
def search(
    space_file: SpaceArg,
    data: Annotated[Optional[str], typer.Option(help="Data source: built-in name or .csv/.parquet/.npz path.")] = None,
    target: Annotated[Optional[str], typer.Option(help="Target column of a table.")] = None,
    drop: DropOpt = None,
    task: Annotated[Optional[Task], typer.Option(help="classification | regression | auto.")] = None,
    engine: Annotated[Optional[Engine], typer.Option(help=f"{' | '.join(registry.ENGINES)}.")] = None,
    algorithm: Annotated[Optional[str], typer.Option(help=f"{registry.algorithms_help()}.")] = None,
    pruner: Annotated[Optional[Pruner], typer.Option(help=f"{' | '.join(registry.PRUNERS)}.")] = None,
    trials: Annotated[Optional[int], typer.Option(help="Total number of trials the study should reach.")] = None,
    more: Annotated[Optional[int], typer.Option(min=1, max=100_000, help="Run N more trials than the study holds "
                                                "(instead of --trials, the total).")] = None,
    timeout: Annotated[Optional[str], typer.Option(help="Stop starting trials after this long (90s, 10m, 1h).")] = None,
    max_epochs: Annotated[Optional[int], typer.Option(help="Epoch cap per trial.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the sampler and of each trial.")] = None,
    study: Annotated[Optional[str], typer.Option(help="Study name (default: the file's `study`).")] = None,
    storage: StorageOpt = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes sharing the study "
                                                  f"(engine {' or '.join(registry.with_workers())}).")] = None,
    rerank_top: Annotated[Optional[int], typer.Option(min=0, help="Run the best N configurations again "
                                                      "(search.rerank.top; 0: off).")] = None,
    rerank_seeds: Annotated[Optional[int], typer.Option(min=1, help="Runs per re-ranked configuration in all "
                                                        "(search.rerank.seeds).")] = None,
    backend: Annotated[Optional[Backend], typer.Option(help="Keras backend: tensorflow | jax | torch.")] = None,
    trainer: Annotated[Optional[Trainer], typer.Option(help="auto (the fast JAX trainer where it covers the "
                                                   "configuration) | keras (always Keras' fit).")] = None,
    best_out: Annotated[Optional[Path], typer.Option(help="Where to write the best configuration "
                                                     "(default: STUDY-best.yaml).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of tables.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Run (or resume) a search; show the best configurations and save the best one as YAML."""
    from tunecli.config.space import load_space

    overrides = {
        "data.source": data, "data.target": target, "data.drop+": drop, "data.task": _value(task),
        "search.engine": _value(engine),
        "search.algorithm": algorithm, "search.pruner": _value(pruner), "search.trials": trials,
        "search.timeout": timeout, "training.max_epochs": max_epochs, "search.seed": seed, "study": study,
        "training.backend": _value(backend), "search.workers": workers, "training.trainer": _value(trainer),
        "search.rerank.top": rerank_top, "search.rerank.seeds": rerank_seeds,
    }
    if more is not None and trials is not None:
        from tunecli.errors import TuneCliError

        raise TuneCliError("give --more N (N trials beyond those the study holds) or --trials N (the total to "
                           "reach), not both", source="--more")
    space = load_space(space_file, overrides, options=_options(overrides))
    from tunecli.search.run import Displays, run_search
    from tunecli.ui import render
    from tunecli.ui.progress import RerankProgress, SearchProgress

    shown = Displays(progress=SearchProgress, rerank=RerankProgress, say=render.note)
    outcome = run_search(space, storage_url=storage, quiet=as_json, best_out=best_out, more=more, displays=shown)
    _show_search(outcome, as_json)


def _show_search(outcome: Any, as_json: bool) -> None:
    """Show a search's outcome; exit 130 / 143 when it was interrupted, 1 when its best file could not be written."""
    from tunecli.ui import render

    if as_json:
        print(json.dumps(outcome.summary(), indent=2, default=str))
    else:
        render.search_outcome(outcome)
    if outcome.interrupted:
        from tunecli import interrupt

        raise typer.Exit(code=interrupt.exit_code())  # 130 after Ctrl-C, 143 after SIGTERM
    if outcome.best_error:
        from tunecli.ui.console import error

        error(outcome.best_error)
        raise typer.Exit(code=1)


@app.command("lr-find")
@handle_errors
def lr_find(
    space_file: SpaceArg,
    params: Annotated[Optional[list[str]], typer.Option("--params", help="key=value for the model (repeatable).")] = None,
    from_study: Annotated[Optional[str], typer.Option(help="Use the best trial of this study.")] = None,
    storage: StorageOpt = None,
    min_lr: Annotated[float, typer.Option(help="Start of the ramp.")] = 1e-7,
    max_lr: Annotated[float, typer.Option(help="End of the ramp.")] = 10.0,
    steps: Annotated[int, typer.Option(min=5, max=10_000, help="Steps of the ramp (over as many epochs as it takes).")] = 300,
    rule: Annotated[Rule, typer.Option(help="How to pick the LR from the curve.")] = Rule("valley"),
    plot: Annotated[Optional[Path], typer.Option(help="Also save the curve as a PNG.")] = None,
    write_space: Annotated[Optional[Path], typer.Option(help="Write a copy of the space with the LR range found.")] = None,
    data: Annotated[Optional[str], typer.Option(help="Data source override.")] = None,
    target: Annotated[Optional[str], typer.Option(help="Target column override.")] = None,
    drop: DropOpt = None,
    backend: Annotated[Optional[Backend], typer.Option(help="Keras backend: tensorflow | jax | torch.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the curve and suggestions as JSON.")] = False,
    debug: DebugOpt = False,
) -> None:
    """LR range test: ramp the learning rate over a few hundred steps; suggest an LR and bounds."""
    from tunecli.config.space import load_space

    rule_name = rule.value
    overrides = {"data.source": data, "data.target": target, "data.drop+": drop, "training.backend": _value(backend)}
    space = load_space(space_file, overrides, options=_options(overrides))
    from tunecli.lrfinder.command import find_lr, parse_params

    outcome = find_lr(space, params=parse_params(params or []), from_study=from_study, storage_url=storage,
                      min_lr=min_lr, max_lr=max_lr, steps=steps, rule=rule_name)
    from tunecli.ui import render

    if as_json:
        print(json.dumps({**outcome.result.to_dict(), "config": outcome.config}, indent=2, default=str))
    else:
        render.lr_find_outcome(outcome)
    if plot:
        from tunecli.studies.plots import lr_curve_png

        render.note(f"wrote {lr_curve_png(outcome.result, plot)}")
    if write_space:
        _write_lr_space(write_space, space_file, space.raw, outcome.result, rule_name)


def _write_lr_space(path: Path, space_file: Path, raw: dict[str, Any], result: Any, rule_name: str) -> None:
    """Write a copy of the space file whose learning rate is the range the test found."""
    from tunecli.lrfinder.command import space_with_lr_range
    from tunecli.studies.results import write_yaml
    from tunecli.ui import render

    low, high = result.bounds()
    header = f"{space_file} with learning_rate from the LR range test ({rule_name}: {result.lr:.3g})."
    written = write_yaml(path, space_with_lr_range(raw, (low, high)), header=header)
    render.note(f"wrote {written} (learning_rate: log-uniform {low:.3g} to {high:.3g})")


@app.command()
@handle_errors
def report(
    study: Annotated[Optional[str], typer.Argument(help="Study name (default: the only one in the store).")] = None,
    storage: StorageOpt = None,
    top: Annotated[int, typer.Option(min=1, help="How many of the best trials to show.")] = 10,
    fmt: Annotated[Format, typer.Option("--format", help="table | json | csv | yaml.")] = Format("table"),
    export: Annotated[Optional[Path], typer.Option(help="Write the best configuration (or --pick's) as a fixed "
                                                   "space file.")] = None,
    pick: PickOpt = None,
    plots: Annotated[Optional[Path], typer.Option(help="Write PNG plots into this folder.")] = None,
    debug: DebugOpt = False,
) -> None:
    """Show a study: summary, best trials, importances, diagnostics; export and plot it."""
    from tunecli.studies import report as rep
    from tunecli.studies.storage import load_study, open_storage
    from tunecli.studies.summary import summarize
    from tunecli.ui import render

    loaded = load_study(study, storage)
    if loaded is None:
        render.study_list(summarize(open_storage(storage)))
        return
    result = rep.build_report(loaded, storage, importances=fmt.value != "csv")  # csv has no place for them
    picked = result.pick(pick) if pick else None
    if fmt.value == "table":
        render.study_report(result, top)
    else:
        sys.stdout.write(rep.dumps(result, fmt.value))
    if picked and not export:
        render.note(f"--pick {pick}: trial #{picked['number']}; --export FILE writes its configuration")
    if export:
        from tunecli.studies.results import write_yaml

        which = f"Trial #{picked['number']} (--pick {pick})" if picked else "Best configuration"
        path = write_yaml(export, result.export_space(picked), header=f"{which} of study {result.study}.")
        render.note(f"{which} written to {path}")
    if plots:
        from tunecli.studies.plots import write_plots

        for path in write_plots(result, plots, loaded):
            render.note(f"wrote {path}")


@app.command()
@handle_errors
def train(
    best_file: Annotated[Path, typer.Argument(help="A space file with every value fixed (report --export); with "
                                              "--pick, the search's space file.")],
    output: Annotated[Optional[Path], typer.Option(help="Save the refit model here (.keras); with --from-search, "
                                                   "the kept model; with --ensemble, the ensemble.")] = None,
    kept_output: Annotated[Optional[Path], typer.Option(help="Save the model the search trained and kept for this "
                                                        "trial here (.keras).")] = None,
    from_search: Annotated[bool, typer.Option("--from-search", help="No refit: score the model the search kept "
                                              "(the trial in the file's origin) on the test split.")] = False,
    storage: StorageOpt = None,
    pick: Annotated[Optional[str], typer.Option("--pick", help="Train this trial of the file's study instead (the "
                                                "file may then be the search's own space file): a number, best, "
                                                "knee or a rule such as 'params<=20000'.")] = None,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Epochs (default: the best trial's best epoch).")] = None,
    mc_dropout: Annotated[int, typer.Option(min=0, help="Also report MC dropout over N stochastic passes.")] = 0,
    ensemble: Annotated[Optional[int], typer.Option(min=1, metavar="K", help="Also average the models the search "
                                                    "kept for its K best trials, weighted by greedy selection on "
                                                    "the validation split.")] = None,
    backend: Annotated[Optional[Backend], typer.Option(help="Keras backend: tensorflow | jax | torch.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Refit the best configuration on train + validation and show it beside the model the search kept;
    score each once on the unseen test split."""
    from tunecli.config.space import load_space
    from tunecli.train import train_best

    space = load_space(best_file, {"training.backend": _value(backend)}, options={"training.backend": "--backend"})
    if pick:
        from tunecli.train import picked_space

        space = picked_space(space, pick, storage_url=storage)
    outcome = train_best(space, output=output, mc_dropout=mc_dropout, epochs=epochs, from_search=from_search,
                         kept_output=kept_output, storage_url=storage, ensemble=ensemble or 0)
    from tunecli.ui import render

    if as_json:
        print(json.dumps(outcome.summary(), indent=2))
    else:
        render.train_outcome(outcome)


@app.command()
@handle_errors
def dashboard(
    store: Annotated[Optional[str], typer.Argument(metavar="STORE", show_default=False,
                                                   help="Study store: a .journal file or a storage URL "
                                                   "(default: tunecli.journal in this folder).")] = None,
    host: Annotated[str, typer.Option(metavar="HOST", help="Interface to listen on (0.0.0.0: every one).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, metavar="PORT", help="Port (0: any free one).")] = 8080,
    debug: DebugOpt = False,
) -> None:
    """Show the studies live in the browser (optuna-dashboard); Ctrl-C stops it.

    Needs the optional extra: pip install "tunecli[dashboard]".
    """
    from tunecli.dashboard import serve
    from tunecli.ui import render

    serve(store, host=host, port=port, on_ready=lambda url: render.dashboard_ready(url, store))
    render.note("dashboard stopped")


@app.command()
@handle_errors
def predict(
    model: Annotated[Path, typer.Argument(help="A model tunecli saved (train --output), or any Keras .keras file.",
                                          show_default=False)],
    data: Annotated[Optional[Path], typer.Argument(help="The rows to predict: .csv, .parquet or .npz (array x).",
                                                   show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option(help="Write the predictions here (CSV; default: standard "
                                                   "output).")] = None,
    proba: Annotated[bool, typer.Option("--proba", help="Add one probability column per class.")] = False,
    test_split: Annotated[Optional[Path], typer.Option(help="Instead of DATA: the test split of the data this space "
                                                       "file names (BEST.yaml): rows the search never saw.")] = None,
    info: Annotated[bool, typer.Option("--info", help="Show what the model is (columns, classes, configuration, "
                                       "origin, scores) and exit.")] = False,
    sep: Annotated[Optional[str], typer.Option(help="The CSV file's separator (default: detected).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the predictions too, without --output).")] = False,
    debug: DebugOpt = False,
) -> None:
    """Predict the rows of a data file with a saved model; a target column, if the file has it, is scored."""
    from tunecli.ui import predict as view

    if info:
        from tunecli.predict.info import model_info

        view.model_info(model_info(model), as_json=as_json)
        return
    from tunecli.predict.command import predict_file

    outcome = predict_file(model, data, test_split=test_split, output=output, proba=proba, sep=sep,
                           stream=None if as_json or output else sys.stdout, keep=as_json and output is None,
                           progress=None if as_json else view.ChunkProgress)
    view.predict_outcome(outcome, as_json=as_json)


def _print_version(value: bool) -> None:
    if value:
        from tunecli import __version__

        print(f"tunecli {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.", is_eager=True,
                                          callback=_print_version)] = False,
) -> None:
    """Tune Keras MLPs from one YAML search-space file."""


def run() -> None:
    """Console-script entry point: exits 130 after Ctrl-C, 143 after SIGTERM (``tunecli.interrupt``)."""
    from tunecli import interrupt

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    interrupt.install()  # before anything slow: SIGTERM during start-up also exits 143
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(interrupt.exit_code())
    except SystemExit as exc:
        if interrupt.requested() and exc.code not in (0, None):  # Click turns KeyboardInterrupt into "Aborted!" (1)
            sys.exit(interrupt.exit_code())
        clicks_pipe = exc.code == 1 and sys.stdout is not sys.__stdout__  # Click's own exit on a closed pipe
        if (exc.code in (0, None) or clicks_pipe) and _closed_pipe():
            sys.exit(0)
        raise


if __name__ == "__main__":
    run()
