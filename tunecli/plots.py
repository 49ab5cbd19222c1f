"""PNG plots of a study (matplotlib, headless): history, importances, parallel coordinates, curves."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunecli.errors import TuneCliError
from tunecli.results import ranked

if TYPE_CHECKING:
    from tunecli.report import StudyReport

TOP = 8


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(report: StudyReport, folder: str | Path) -> list[Path]:
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
    for name, draw in (("optimization_history", _history), ("param_importances", _importances),
                       ("parallel_coordinates", _parallel), ("learning_curves", _curves),
                       ("lr_finder", _lr_finder)):
        fig = plt.figure(figsize=(8, 4.5))
        if draw(fig, report):
            path = folder / f"{report.study}_{name}.png"
            fig.tight_layout()
            fig.savefig(path, dpi=100)
            written.append(path)
        plt.close(fig)
    return written


def _history(fig: Any, report: StudyReport) -> bool:
    done = sorted((r for r in report.rows if r["state"] == "COMPLETE" and r["value"] is not None),
                  key=lambda r: r["number"])
    if not done:
        return False
    ax = fig.add_subplot()
    xs, ys = [r["number"] for r in done], [r["value"] for r in done]
    best, running = [], None
    for y in ys:
        running = y if running is None else (max if report.direction == "maximize" else min)(running, y)
        best.append(running)
    ax.scatter(xs, ys, s=14, label="trial")
    ax.step(xs, best, where="post", color="C3", label="best so far")
    ax.set(xlabel="trial", ylabel=report.objective, title=f"{report.study}: optimization history")
    ax.legend()
    return True


def _importances(fig: Any, report: StudyReport) -> bool:
    if not report.importances:
        return False
    ax = fig.add_subplot()
    names = list(report.importances)[::-1]
    ax.barh(names, [report.importances[n] for n in names])
    ax.set(xlabel="fANOVA importance", title=f"{report.study}: parameter importances")
    return True


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    return float(value) if isinstance(value, (int, float)) else None


def _parallel(fig: Any, report: StudyReport) -> bool:
    top = [r for r in ranked(report.rows, report.direction) if r["state"] == "COMPLETE"][:TOP * 2]
    names = report.varying()
    if len(top) < 2 or not names:
        return False
    ax = fig.add_subplot()
    axes = names + [report.objective]
    columns = []
    for name in axes:
        raw = [r["value"] if name == report.objective else r["params"].get(name) for r in top]
        nums = [_numeric(v) for v in raw]
        if any(v is None for v in nums):
            cats = sorted({str(v) for v in raw})
            nums = [cats.index(str(v)) for v in raw]
        lo, hi = min(nums), max(nums)
        columns.append([(v - lo) / (hi - lo) if hi > lo else 0.5 for v in nums])
    values = [r["value"] for r in top]
    vmin, vmax = min(values), max(values)
    cmap = _pyplot().get_cmap("viridis")
    for i, row in enumerate(top):
        shade = (row["value"] - vmin) / (vmax - vmin) if vmax > vmin else 1.0
        if report.direction == "minimize":
            shade = 1 - shade
        ax.plot(range(len(axes)), [c[i] for c in columns], color=cmap(shade), alpha=0.8)
    ax.set_xticks(range(len(axes)), axes, rotation=30, ha="right")
    ax.set_yticks([])
    ax.set_title(f"{report.study}: top trials (bright = better)")
    return True


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


def lr_curve_png(result: Any, path: str | Path) -> Path:  # result: lr_finder.LRFindResult
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
