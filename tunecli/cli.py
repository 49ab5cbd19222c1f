"""The ``tunecli`` command: parse options, call one core function, render, exit.

Heavy modules (Optuna, Keras, TensorFlow) are imported inside the commands, so that
``tunecli --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from tunecli.config import registry
from tunecli.config.catalogue import LR_RULES
from tunecli.ui import commandline as cl
from tunecli.ui.commandline import DATA, OUTPUT, SEARCH, STORAGE, TRAINING, N, option

app = typer.Typer(
    name="tunecli",
    help="Tune Keras MLPs from one YAML search-space file: search, LR range test, report.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help, options grouped by panel (``tunecli.ui.commandline``): it reads at 80 columns
    cls=cl.Group,
)


@app.command(epilog=registry.describe(), cls=cl.Command)
@cl.handle_errors
def search(
    space_file: cl.SpaceArg,
    data: cl.DataOpt = None,
    target: cl.TargetOpt = None,
    drop: cl.DropOpt = None,
    task: Annotated[Optional[cl.Task], option(DATA, "auto | classification | regression.", metavar="TASK")] = None,
    engine: Annotated[Optional[cl.Engine], option(SEARCH, f"{' | '.join(registry.ENGINES)}.", metavar="NAME")] = None,
    algorithm: Annotated[Optional[str], option(SEARCH, f"{registry.algorithms_help()}.", metavar="NAME")] = None,
    pruner: Annotated[Optional[cl.Pruner], option(SEARCH, f"{' | '.join(registry.PRUNERS)}.", metavar="NAME")] = None,
    trials: Annotated[Optional[int], option(SEARCH, "Total number of trials the study should reach.", **N)] = None,
    more: Annotated[Optional[int], option(SEARCH, "Run N more trials than the study holds (instead of --trials, "
                                          "the total).", min=1, max=100_000, **N)] = None,
    timeout: Annotated[Optional[str], option(SEARCH, "Stop starting trials after this long (90s, 10m, 1h).",
                                             metavar="DURATION")] = None,
    seed: Annotated[Optional[int], option(SEARCH, "Seed of the sampler and of each trial.", **N)] = None,
    workers: Annotated[Optional[int], option(SEARCH, "Worker processes sharing the study "
                                             f"(engine {' or '.join(registry.with_workers())}).", **N)] = None,
    rerank_top: Annotated[Optional[int], option(SEARCH, "Run the best N configurations again (search.rerank.top; "
                                                "0: off).", min=0, **N)] = None,
    rerank_seeds: Annotated[Optional[int], option(SEARCH, "Runs per re-ranked configuration in all "
                                                  "(search.rerank.seeds).", min=1, **N)] = None,
    max_epochs: Annotated[Optional[int], option(TRAINING, "Epoch cap per trial.", **N)] = None,
    backend: cl.BackendOpt = None,
    trainer: Annotated[Optional[cl.Trainer], option(TRAINING, "auto (the fast JAX trainer where it covers the "
                                                 "configuration) | keras (always Keras' fit).", metavar="NAME")] = None,
    study: Annotated[Optional[str], option(STORAGE, "Study name (default: the file's `study`).", metavar="NAME")] = None,
    storage: cl.StorageOpt = None,
    best_out: Annotated[Optional[Path], option(OUTPUT, "Best configuration's file (default: STUDY-best.yaml).",
                                               metavar="FILE")] = None,
    as_json: Annotated[bool, option(OUTPUT, "Print a JSON summary instead of tables.", "--json")] = False,
    debug: cl.DebugOpt = False,
) -> None:
    """Run (or resume) a search; show the best configurations and save the best one as YAML."""
    overrides = {"data.source": data, "data.target": target, "data.drop+": drop, "data.task": cl.value(task),
                 "search.engine": cl.value(engine), "search.algorithm": algorithm, "search.pruner": cl.value(pruner),
                 "search.trials": trials, "search.timeout": timeout, "training.max_epochs": max_epochs,
                 "search.seed": seed, "study": study, "training.backend": cl.value(backend), "search.workers": workers,
                 "training.trainer": cl.value(trainer), "search.rerank.top": rerank_top,
                 "search.rerank.seeds": rerank_seeds}
    _search(space_file, overrides, storage=storage, best_out=best_out, more=more, as_json=as_json)


def _search(space_file: Path, overrides: dict[str, Any], *, storage: str | None, best_out: Path | None,
            more: int | None, as_json: bool) -> None:
    """Load the space with the command line's settings, run the search with the terminal's displays, show it."""
    from tunecli.config.space import load_space
    from tunecli.errors import TuneCliError

    if more is not None and overrides["search.trials"] is not None:
        raise TuneCliError("give one: --more N (trials beyond the study's) or --trials N (the total)", source="--more")
    space = load_space(space_file, overrides, options=cl.option_names(overrides))
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


@app.command("lr-find", cls=cl.Command)
@cl.handle_errors
def lr_find(
    space_file: cl.SpaceArg,
    data: cl.DataOpt = None,
    target: cl.TargetOpt = None,
    drop: cl.DropOpt = None,
    params: Annotated[Optional[list[str]], option(TRAINING, "key=value for the model (repeatable).", "--params",
                                                  metavar="KEY=VALUE")] = None,
    from_study: Annotated[Optional[str], option(TRAINING, "Use the best trial of this study.", metavar="NAME")] = None,
    min_lr: Annotated[float, option(TRAINING, "Start of the ramp.", metavar="LR")] = 1e-7,
    max_lr: Annotated[float, option(TRAINING, "End of the ramp.", metavar="LR")] = 10.0,
    steps: Annotated[int, option(TRAINING, "Steps of the ramp (over as many epochs as it takes).", min=5, max=10_000,
                                 **N)] = 300,
    rule: Annotated[cl.Rule, option(TRAINING, f"How to pick the LR from the curve: {' | '.join(LR_RULES)}.",
                                 metavar="RULE")] = cl.Rule("valley"),
    backend: cl.BackendOpt = None,
    storage: cl.StorageOpt = None,
    plot: Annotated[Optional[Path], option(OUTPUT, "Also save the curve as a PNG.", metavar="FILE")] = None,
    write_space: Annotated[Optional[Path], option(OUTPUT, "Write a copy of the space with the LR range found.",
                                                  metavar="FILE")] = None,
    as_json: Annotated[bool, option(OUTPUT, "Print the curve and suggestions as JSON.", "--json")] = False,
    debug: cl.DebugOpt = False,
) -> None:
    """LR range test: ramp the learning rate over a few hundred steps; suggest an LR and bounds."""
    from tunecli.config.space import load_space

    rule_name = rule.value
    overrides = {"data.source": data, "data.target": target, "data.drop+": drop, "training.backend": cl.value(backend)}
    space = load_space(space_file, overrides, options=cl.option_names(overrides))
    from tunecli.lrfinder.command import find_lr, parse_params

    outcome = find_lr(space, params=parse_params(params or []), from_study=from_study, storage_url=storage,
                      min_lr=min_lr, max_lr=max_lr, steps=steps, rule=rule_name)
    _show_lr(outcome, as_json, plot)
    if write_space:
        _write_lr_space(write_space, space_file, space.raw, outcome.result, rule_name)


def _show_lr(outcome: Any, as_json: bool, plot: Path | None) -> None:
    """Show the range test (table and plot, or JSON); save its plot."""
    from tunecli.ui import render

    if as_json:
        print(json.dumps({**outcome.result.to_dict(), "config": outcome.config}, indent=2, default=str))
    else:
        render.lr_find_outcome(outcome)
    if plot:
        from tunecli.studies.plots import lr_curve_png

        render.note(f"wrote {lr_curve_png(outcome.result, plot)}")


def _write_lr_space(path: Path, space_file: Path, raw: dict[str, Any], result: Any, rule_name: str) -> None:
    """Write a copy of the space file whose learning rate is the range the test found."""
    from tunecli.lrfinder.command import space_with_lr_range
    from tunecli.studies.results import write_yaml
    from tunecli.ui import render

    low, high = result.bounds()
    header = f"{space_file} with learning_rate from the LR range test ({rule_name}: {result.lr:.3g})."
    written = write_yaml(path, space_with_lr_range(raw, (low, high)), header=header)
    render.note(f"wrote {written} (learning_rate: log-uniform {low:.3g} to {high:.3g})")


@app.command(cls=cl.Command)
@cl.handle_errors
def report(
    study: Annotated[Optional[str], typer.Argument(metavar="STUDY", show_default=False, help="Study name (default: "
                                                   "the only one in the store), or a .keras file.")] = None,
    storage: cl.StorageOpt = None,
    top: Annotated[int, option(OUTPUT, "How many of the best trials to show.", min=1, **N)] = 10,
    fmt: Annotated[cl.Format, option(OUTPUT, "table | json | csv | yaml.", "--format", metavar="FORMAT")] = cl.Format("table"),
    export: Annotated[Optional[Path], option(OUTPUT, "Write the best (or --pick's) configuration there.", metavar="FILE")] = None,
    pick: cl.PickOpt = None,
    plots: Annotated[Optional[Path], option(OUTPUT, "Write PNG plots into this folder.", metavar="FOLDER")] = None,
    debug: cl.DebugOpt = False,
) -> None:
    """Show a study: summary, best trials, importances, diagnostics; export and plot it.

    Given a .keras file that tunecli wrote instead of a study: what the model is (as predict MODEL --info)."""
    if study and study.lower().endswith(".keras"):
        _report_model(Path(study), fmt.value, {"--export": export, "--pick": pick, "--plots": plots})
        return
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
    if picked and picked.get("violated"):
        from tunecli.studies.pareto import broke_note

        render.note(broke_note(picked["number"], picked["violated"]))
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


def _report_model(path: Path, fmt: str, options: dict[str, Any]) -> None:
    """``report MODEL.keras``: what the model is, as ``predict MODEL --info``; a study's options are refused."""
    from tunecli.errors import TuneCliError

    given = [name for name, value in options.items() if value]
    if given or fmt not in ("table", "json"):
        what = ", ".join(given) if given else f"--format {fmt}"
        raise TuneCliError(f"{what} applies to a study; for a model file, report shows what the model is "
                           "(--format table or json)", source=str(path), field=given[0] if given else "--format")
    if not path.is_file():
        raise TuneCliError("no such model file (report takes a study name, or a .keras file tunecli wrote)",
                           source=str(path), field="STUDY")
    from tunecli.predict.info import model_info
    from tunecli.ui import predict as view

    view.model_info(model_info(path), as_json=fmt == "json")


@app.command(cls=cl.Command)
@cl.handle_errors
def train(
    best_file: Annotated[Path, typer.Argument(metavar="BEST_FILE", help="A space file with every value fixed "
                                              "(report --export); with --pick, the search's space file.")],
    from_search: Annotated[bool, option(TRAINING, "No refit: score the model the search kept (the trial in the "
                                        "file's origin) on the test split.", "--from-search")] = False,
    epochs: Annotated[Optional[int], option(TRAINING, "Epochs (default: the best trial's best epoch).", min=1, **N)] = None,
    pick: Annotated[Optional[str], option(TRAINING, "Train this trial of the file's study instead (the file may then "
                                          "be the search's own space file): a number, best, knee or a rule such as "
                                          "'params<=20000'.", "--pick", metavar="TRIAL")] = None,
    mc_dropout: Annotated[int, option(TRAINING, "Also report MC dropout over N stochastic passes.", min=0, **N)] = 0,
    ensemble: Annotated[Optional[int], option(TRAINING, "Also average the models the search kept for its K best "
                                              "trials, weighted by greedy selection on the validation split.",
                                              min=1, metavar="K")] = None,
    backend: cl.BackendOpt = None,
    storage: cl.StorageOpt = None,
    output: Annotated[Optional[Path], option(OUTPUT, "Save the refit model here (.keras: the data's columns in, the "
                                             "preprocessing inside); with --from-search, the kept model; with "
                                             "--ensemble, the ensemble.", metavar="FILE")] = None,
    kept_output: Annotated[Optional[Path], option(OUTPUT, "Save the model the search trained and kept for this "
                                                  "trial here (.keras).", metavar="FILE")] = None,
    export_saved_model: Annotated[Optional[Path], option(OUTPUT, "Also write the model handed over as a TensorFlow "
                                                         "SavedModel in this folder (same raw columns in; TF Serving).",
                                                         metavar="DIR")] = None,
    force: Annotated[bool, option(OUTPUT, "Overwrite model files already there.", "--force")] = False,
    as_json: Annotated[bool, option(OUTPUT, "Print a JSON summary.", "--json")] = False,
    debug: cl.DebugOpt = False,
) -> None:
    """Refit the best configuration on train + validation and show it beside the model the search kept;
    score each once on the unseen test split."""
    from tunecli.config.space import load_space
    from tunecli.train import train_best

    space = load_space(best_file, {"training.backend": cl.value(backend)}, options={"training.backend": "--backend"})
    if pick:
        from tunecli.train import picked_space

        space = picked_space(space, pick, storage_url=storage)
    violated = (space.origin or {}).get("violated")
    if isinstance(violated, list) and violated:  # an exported trial that broke the study's constraints
        from tunecli.studies.pareto import broke_note
        from tunecli.ui import render

        render.note(broke_note((space.origin or {}).get("trial"), [str(v) for v in violated]))
    outcome = train_best(space, output=output, mc_dropout=mc_dropout, epochs=epochs, from_search=from_search,
                         kept_output=kept_output, storage_url=storage, ensemble=ensemble or 0,
                         export=export_saved_model, force=force)
    from tunecli.ui import render

    if as_json:
        print(json.dumps(outcome.summary(), indent=2))
    else:
        render.train_outcome(outcome)


@app.command(cls=cl.Command)
@cl.handle_errors
def dashboard(
    store: Annotated[Optional[str], typer.Argument(metavar="STORE", show_default=False,
                                                   help="Study store: a .journal file or a storage URL "
                                                   "(default: tunecli.journal in this folder).")] = None,
    host: Annotated[str, option("Server", "Interface to listen on (0.0.0.0: every one).", metavar="HOST")] = "127.0.0.1",
    port: Annotated[int, option("Server", "Port (0: any free one).", min=0, max=65535, metavar="PORT")] = 8080,
    debug: cl.DebugOpt = False,
) -> None:
    """Show the studies live in the browser (optuna-dashboard); Ctrl-C stops it.

    Needs the optional extra: pip install "tunecli[dashboard]".
    """
    from tunecli.dashboard import serve
    from tunecli.ui import render

    serve(store, host=host, port=port, on_ready=lambda url: render.dashboard_ready(url, store))
    render.note("dashboard stopped")


@app.command(cls=cl.Command)
@cl.handle_errors
def predict(
    model: Annotated[Path, typer.Argument(metavar="MODEL", show_default=False, help="A model tunecli saved "
                                          "(train --output), or any Keras .keras file.")],
    data: Annotated[Optional[Path], typer.Argument(metavar="DATA", show_default=False, help="The rows to predict: "
                                                   ".csv, .parquet or .npz (array x).")] = None,
    sep: Annotated[Optional[str], option(DATA, "The CSV file's separator (default: detected).", metavar="SEP")] = None,
    test_split: Annotated[Optional[Path], option(DATA, "Instead of DATA: the test split of the data this space file "
                                                 "names (BEST.yaml): rows the search never saw.", metavar="FILE")] = None,
    output: Annotated[Optional[Path], option(OUTPUT, "Write the predictions here (.csv or .parquet; default: CSV on stdout).",
                                             metavar="FILE")] = None,
    proba: Annotated[bool, option(OUTPUT, "Add one probability column per class.", "--proba")] = False,
    info: Annotated[bool, option(OUTPUT, "Show what the model is (columns, classes, configuration, origin, scores) "
                                 "and exit.", "--info")] = False,
    as_json: Annotated[bool, option(OUTPUT, "Print JSON (the predictions too, without --output).", "--json")] = False,
    debug: cl.DebugOpt = False,
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
        if (exc.code in (0, None) or clicks_pipe) and cl.closed_pipe():
            sys.exit(0)
        raise


if __name__ == "__main__":
    run()
