"""PNG plots of a study (matplotlib, headless).

Importances and parallel coordinates are Optuna's own (``optuna.visualization.matplotlib``), the latter
recoloured with a scale that stays readable on white; the optimization history is drawn here, because it
shows the re-ranked means that the report ranks by (Optuna's shows single runs), and so are the learning
curves and the LR finder's curve, which nothing draws.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.errors import TuneCliError
from tunecli.studies import attrs
from tunecli.studies.results import ranked

if TYPE_CHECKING:
    import optuna

    from tunecli.studies.report import StudyReport

TOP = 8
SIZE = (8.0, 4.5)
#: Where the parallel coordinates' colour scale runs in viridis: both ends readable on a white background.
SCALE = (0.0, 0.8)

Drawer = Callable[["StudyReport"], Any]  # returns a matplotlib Figure, or None when there is nothing to draw


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
    for name, fig in figures(report, study):
        path = folder / f"{report.study}_{name}.png"
        try:
            fig.tight_layout()
            fig.savefig(path, dpi=100)
        finally:
            plt.close(fig)
        written.append(path)
    return written


def figures(report: StudyReport, study: optuna.Study) -> Iterator[tuple[str, Any]]:
    """Each plot the study has data for, as ``(name, matplotlib Figure)``, one at a time; the caller closes them.

    Every figure is drawn in matplotlib's default style (white background), whatever style Optuna's plots set.
    """
    plt = _pyplot()
    drawers: list[tuple[str, Drawer]] = [("optimization_history", _history), *_optuna_plots(study, report),
                                         ("learning_curves", _curves), ("lr_finder", _lr_finder)]
    for name, draw in drawers:
        with plt.style.context("default"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's matplotlib plots are marked experimental
            fig = draw(report)
        if fig is not None:
            yield name, fig


def _optuna_plots(study: optuna.Study, report: StudyReport) -> list[tuple[str, Drawer]]:
    """Optuna's own matplotlib plots: importances (the report's sample), parallel coordinates, the Pareto front
    (two or three objectives; the other plots show the first)."""
    import optuna.visualization.matplotlib as vis
    from optuna.importance import FanovaImportanceEvaluator

    from tunecli.studies.report import first_objective, importance_sample

    target = first_objective(study)  # several objectives: these plots show the first

    def importances(report: StudyReport) -> Any:
        ax = vis.plot_param_importances(importance_sample(study)[0], evaluator=FanovaImportanceEvaluator(seed=0),
                                        target=target, target_name=report.objective)
        ax.figure.set_size_inches(*SIZE)
        return ax.figure

    def parallel(report: StudyReport) -> Any:
        ax = vis.plot_parallel_coordinate(study, target=target, target_name=report.objective)
        readable_on_white(ax)
        ax.figure.set_size_inches(12, 5)
        return ax.figure

    def front(report: StudyReport) -> Any:
        ax = vis.plot_pareto_front(study, target_names=attrs.objectives(report.attrs))
        ax.figure.set_size_inches(*SIZE)
        return ax.figure

    plots: list[tuple[str, Drawer]] = []
    if report.importances:
        plots.append(("param_importances", importances))
    if len(_complete(report)) >= 2 and report.varying():
        plots.append(("parallel_coordinates", parallel))
    if _complete(report) and len(study.directions) in (2, 3):  # Optuna draws a front of 2 or 3 objectives
        plots.append(("pareto_front", front))
    return plots


def readable_on_white(ax: Any) -> None:
    """Recolour Optuna's parallel coordinates (Blues: the worst trial near white) with viridis from dark purple
    to green, the best trial still at the dark end, on a white background; the colour bar follows."""
    import matplotlib
    import numpy as np
    from matplotlib.collections import LineCollection
    from matplotlib.colors import ListedColormap

    for lines in (c for c in ax.collections if isinstance(c, LineCollection)):
        steps = np.linspace(SCALE[1], SCALE[0], 256)  # Blues runs from light to dark: so does this
        if lines.get_cmap().name.endswith("_r"):
            steps = steps[::-1]
        lines.set_cmap(ListedColormap(matplotlib.colormaps["viridis"](steps), name="tunecli_viridis"))
        if lines.colorbar is not None:
            lines.colorbar.update_normal(lines)
    ax.set_facecolor("white")
    ax.figure.set_facecolor("white")


def _complete(report: StudyReport) -> list[dict[str, Any]]:
    """The completed trials with a finite score, by number."""
    rows = [r for r in report.rows if r["state"] == "COMPLETE" and _finite(r["value"])]
    return sorted(rows, key=lambda r: r["number"])


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _history(report: StudyReport) -> Any:
    """Each trial's own run, the re-ranked means (± standard error), the best so far as the report ranks, and
    the report's best marked with its value."""
    done = _complete(report)
    if not done:
        return None
    fig, ax = _pyplot().subplots(figsize=SIZE)
    own = [(r["number"], (r.get("repeats") or [r["value"]])[0]) for r in done]
    own = [(n, v) for n, v in own if _finite(v)]
    ax.scatter([n for n, _ in own], [v for _, v in own], color="tab:blue", s=18, label="one run")
    reranked = [r for r in done if len(r.get("repeats") or []) >= 2]
    if reranked:
        ax.errorbar([r["number"] for r in reranked], [r["value"] for r in reranked], fmt="D", color="tab:orange",
                    yerr=[report.standard_error(r) or 0.0 for r in reranked], capsize=3, markersize=5,
                    label="re-ranked: mean of its runs (± standard error)")
    pick = max if report.direction == "maximize" else min
    so_far = [pick(r["value"] for r in done[: i + 1]) for i in range(len(done))]
    ax.step([r["number"] for r in done], so_far, where="post", color="tab:red", label="best so far (as the report ranks)")
    best = report.best
    if best is not None and _finite(best["value"]):
        ax.scatter([best["number"]], [best["value"]], marker="*", s=220, color="tab:red", edgecolor="black", zorder=5,
                   label=f"best: #{best['number']} {best['value']:.4g} ({_runs(best)})")
    ax.set(xlabel="trial", ylabel=report.objective, title=f"{report.study}: optimization history")
    ax.legend(fontsize="small")
    return fig


def _runs(row: dict[str, Any]) -> str:
    runs = len([v for v in row.get("repeats") or [] if v is not None])
    return f"re-ranked mean of {runs} runs" if runs >= 2 else "one run"


def _curves(report: StudyReport) -> Any:
    """The top trials' learning curves, each in a colour of its own (tab10; tab20 past ten trials)."""
    top = [r for r in ranked(report.rows, report.direction) if r["curve"].get(report.objective)][:TOP]
    if not top:
        return None
    import matplotlib

    palette = matplotlib.colormaps["tab10" if len(top) <= 10 else "tab20"]
    fig, ax = _pyplot().subplots(figsize=SIZE)
    for i, row in enumerate(top):
        curve = row["curve"][report.objective]
        score = f" {row['value']:.4g}" if _finite(row["value"]) else ""
        ax.plot(range(1, len(curve) + 1), curve, color=palette(i), label=f"#{row['number']}{score}")
    ax.set(xlabel="epoch", ylabel=report.objective, title=f"{report.study}: learning curves of the top trials")
    ax.legend(fontsize="small", ncol=2, title="trial, score")
    return fig


def _lr_finder(report: StudyReport) -> Any:
    rows = [r for r in ranked(report.rows, report.direction) if r.get("lr_curve")]
    if not rows:
        return None
    fig, ax = _pyplot().subplots(figsize=SIZE)
    curve = rows[0]["lr_curve"]
    ax.plot(curve["lr"], curve["loss"])
    ax.set_xscale("log")
    if rows[0].get("lr_used") and math.isfinite(rows[0]["lr_used"]):
        ax.axvline(rows[0]["lr_used"], color="C3", linestyle="--", label="LR used")
        ax.legend()
    ax.set(xlabel="learning rate", ylabel="loss (smoothed)", title=f"{report.study}: LR finder of trial #{rows[0]['number']}")
    return fig


def lr_curve_png(result: Any, path: str | Path) -> Path:  # result: lrfinder.rules.LRFindResult
    """The LR range test curve (log x axis) with every suggestion marked, listed by LR, the chosen one solid."""
    path = Path(path)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(result.lrs, result.losses, color="black", label="loss (smoothed)")
    for i, (name, lr) in enumerate(result.by_lr()):
        chosen = name == result.rule
        ax.axvline(lr, color=f"C{i}", linestyle="-" if chosen else ":", linewidth=2.5 if chosen else 1.5,
                   label=f"{name}: {lr:.2g}" + (" (chosen)" if chosen else ""))
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
