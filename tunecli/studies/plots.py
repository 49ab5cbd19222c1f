"""PNG plots of a study (matplotlib, headless).

History, importances and parallel coordinates are Optuna's own (``optuna.visualization.matplotlib``);
the learning curves and the LR finder's curve are drawn here, where nothing draws them.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.errors import TuneCliError
from tunecli.studies.results import ranked

if TYPE_CHECKING:
    import optuna

    from tunecli.studies.report import StudyReport

TOP = 8


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(report: StudyReport, folder: str | Path, study: optuna.Study) -> list[Path]:
    """Write every plot that the study has data for; return the files written."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".tunecli-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise TuneCliError(f"cannot write plots here: {exc.strerror}", source=str(folder), field="--plots") from None
    plt = _pyplot()
    written = []
    for name, draw in _optuna_plots(study, report):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's matplotlib plots are marked experimental
            fig = draw().figure
        size = (12, 5) if name == "parallel_coordinates" else (8, 4.5)
        written.append(_save(plt, fig, folder / f"{report.study}_{name}.png", size))
    for name, draw in (("learning_curves", _curves), ("lr_finder", _lr_finder)):
        fig = plt.figure(figsize=(8, 4.5))
        if draw(fig, report):
            written.append(_save(plt, fig, folder / f"{report.study}_{name}.png"))
        else:
            plt.close(fig)
    return written


def _save(plt: Any, fig: Any, path: Path, size: tuple[float, float] = (8, 4.5)) -> Path:
    fig.set_size_inches(*size)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _optuna_plots(study: optuna.Study, report: StudyReport) -> list[tuple[str, Any]]:
    """Optuna's own matplotlib plots: history, importances (the report's sample), parallel coordinates."""
    import optuna.visualization.matplotlib as vis
    from optuna.importance import FanovaImportanceEvaluator

    from tunecli.studies.report import importance_sample

    plots: list[tuple[str, Any]] = []
    done = [r for r in report.rows if r["state"] == "COMPLETE" and r["value"] is not None]
    if done:
        plots.append(("optimization_history", lambda: vis.plot_optimization_history(study, target_name=report.objective)))
    if report.importances:
        sample = importance_sample(study)[0]
        plots.append(("param_importances", lambda: vis.plot_param_importances(
            sample, evaluator=FanovaImportanceEvaluator(seed=0), target_name=report.objective)))
    if len(done) >= 2 and report.varying():
        plots.append(("parallel_coordinates", lambda: vis.plot_parallel_coordinate(study, target_name=report.objective)))
    return plots


def _curves(fig: Any, report: StudyReport) -> bool:
    top = [r for r in ranked(report.rows, report.direction) if r["curve"].get(report.objective)][:TOP]
    if not top:
        return False
    ax = fig.add_subplot()
    for row in top:
        curve = row["curve"][report.objective]
        ax.plot(range(1, len(curve) + 1), curve, label=f"#{row['number']}")
    ax.set(xlabel="epoch", ylabel=report.objective, title=f"{report.study}: learning curves of the top trials")
    ax.legend(fontsize="small", ncol=2)
    return True


def _lr_finder(fig: Any, report: StudyReport) -> bool:
    rows = [r for r in ranked(report.rows, report.direction) if r.get("lr_curve")]
    if not rows:
        return False
    ax = fig.add_subplot()
    curve = rows[0]["lr_curve"]
    ax.plot(curve["lr"], curve["loss"])
    ax.set_xscale("log")
    if rows[0].get("lr_used") and math.isfinite(rows[0]["lr_used"]):
        ax.axvline(rows[0]["lr_used"], color="C3", linestyle="--", label="LR used")
        ax.legend()
    ax.set(xlabel="learning rate", ylabel="loss (smoothed)", title=f"{report.study}: LR finder of trial #{rows[0]['number']}")
    return True


def lr_curve_png(result: Any, path: str | Path) -> Path:  # result: lrfinder.rules.LRFindResult
    """The LR range test curve (log x axis) with every suggestion marked."""
    path = Path(path)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(result.lrs, result.losses, label="loss (smoothed)")
    for i, (name, lr) in enumerate(result.suggestions.items()):
        style = "-" if name == result.rule else ":"
        ax.axvline(lr, color=f"C{i + 1}", linestyle=style, label=f"{name}: {lr:.2g}")
    ax.set_xscale("log")
    ax.set(xlabel="learning rate", ylabel="loss", title="LR range test")
    ax.legend(fontsize="small")
    fig.tight_layout()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise TuneCliError(f"cannot write the plot: {exc.strerror}", source=str(path), field="--plot") from None
    finally:
        plt.close(fig)
    return path
