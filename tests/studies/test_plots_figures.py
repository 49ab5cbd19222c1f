"""What the study plots show, read from the matplotlib figures themselves (no pixels)."""

from __future__ import annotations

import matplotlib
import optuna
import pytest

from tunecli.studies import attrs
from tunecli.studies.plots import figures
from tunecli.studies.report import build_report

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _study(n: int = 10, direction: str = "maximize") -> optuna.Study:
    """``n`` trials; trial 3's own run is 0.9694 but its re-ranked mean 0.9722, the best the report shows."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name="demo", direction=direction, sampler=optuna.samplers.RandomSampler(seed=0))
    study.set_user_attr(attrs.OBJECTIVE, "val_accuracy")
    for i in range(n):
        trial = study.ask()
        n_hidden = trial.suggest_int("n_hidden", 1, 3)
        activation = trial.suggest_categorical("activation", ["relu", "elu"])
        value = 0.9694 if i == 3 else 0.90 + 0.005 * i
        trial.set_user_attr(attrs.CONFIG, {"n_hidden": n_hidden, "activation": activation})
        trial.set_user_attr(attrs.CURVE, {"val_accuracy": [value - 0.1, value - 0.05, value]})
        study.tell(trial, value)
    study.set_user_attr(attrs.repeats_key(3), [0.9694, 0.9750, 0.9722])
    study.set_user_attr(attrs.repeats_key(9), [0.945, 0.935, 0.940])
    return study


@pytest.fixture
def drawn():
    study = _study()
    report = build_report(study, None)
    out = dict(figures(report, study))
    yield report, out
    for fig in out.values():
        plt.close(fig)


def _luminance(rgba) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_history_shows_the_reranked_mean_the_report_calls_best(drawn) -> None:
    report, out = drawn
    assert report.best["number"] == 3 and report.best["value"] == pytest.approx(0.9722)
    ax = out["optimization_history"].axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert "best: #3 0.9722 (re-ranked mean of 3 runs)" in labels
    assert any(label.startswith("re-ranked: mean") for label in labels)
    star = next(c for c in ax.collections if c.get_label().startswith("best: "))
    assert star.get_offsets().tolist() == [[3.0, pytest.approx(0.9722)]]
    step = next(line for line in ax.lines if line.get_label().startswith("best so far"))
    assert step.get_ydata()[-1] == pytest.approx(0.9722)  # the plot's best and the report's best agree
    one_run = next(c for c in ax.collections if c.get_label() == "one run")
    assert [0.9694] == [y for x, y in one_run.get_offsets().tolist() if x == 3]  # trial 3's own run, shown as such


def test_learning_curves_give_each_trial_its_own_colour(drawn) -> None:
    _, out = drawn
    ax = out["learning_curves"].axes[0]
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in ax.lines]
    assert len(colours) == 8 and len(set(colours)) == 8
    assert [t.get_text() for t in ax.get_legend().get_texts()][0] == "#3 0.9722"


def test_learning_curves_stay_distinct_after_optunas_plots_set_their_style(drawn) -> None:
    """Optuna's history and importances switch matplotlib to ggplot (7 colours): drawing again keeps 8 colours."""
    report, _ = drawn
    study = _study()
    again = dict(figures(build_report(study, None), study))
    try:
        colours = {matplotlib.colors.to_hex(line.get_color()) for line in again["learning_curves"].axes[0].lines}
        assert len(colours) == 8
        assert again["learning_curves"].axes[0].get_facecolor()[:3] == (1.0, 1.0, 1.0)
    finally:
        for fig in again.values():
            plt.close(fig)


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_parallel_coordinates_are_readable_on_white_and_the_best_is_darkest(direction) -> None:
    study = _study(direction=direction)
    report = build_report(study, None)
    out = dict(figures(report, study))
    try:
        ax = out["parallel_coordinates"].axes[0]
        assert ax.get_facecolor()[:3] == (1.0, 1.0, 1.0)
        lines = next(c for c in ax.collections if isinstance(c, matplotlib.collections.LineCollection))
        colours = lines.to_rgba(lines.get_array())
        contrast = [(1.05) / (_luminance(c) + 0.05) for c in colours]
        assert min(contrast) >= 1.8  # Optuna's Blues put the worst trial at 1.04: white on white
        values = list(lines.get_array())
        best = values.index(max(values) if direction == "maximize" else min(values))
        assert _luminance(colours[best]) == pytest.approx(min(_luminance(c) for c in colours))
    finally:
        for fig in out.values():
            plt.close(fig)
