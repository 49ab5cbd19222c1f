"""What each command prints: the outcome of search, report, train and lr-find (hand-made outcomes, no training)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from tunecli.config.objective import Objective
from tunecli.lrfinder.command import LRFindOutcome
from tunecli.lrfinder.rules import LRFindResult
from tunecli.search.run import SearchOutcome
from tunecli.studies.report import StudyReport
from tunecli.studies.summary import StudySummary
from tunecli.train import TrainOutcome
from tunecli.ui import render
from tunecli.ui.console import THEME


@pytest.fixture
def out(monkeypatch) -> dict[str, io.StringIO]:
    """stdout and stderr of the render module as text (no colours, wide enough for every table)."""
    streams = {"out": io.StringIO(), "err": io.StringIO()}
    for name, attr in (("out", "console"), ("err", "err_console")):
        monkeypatch.setattr(render, attr, Console(file=streams[name], width=200, theme=THEME, highlight=False))
    return streams


def _row(number: int, value: float | None, state: str = "COMPLETE", **params) -> dict:
    loss = [1.0, 0.8, 0.6, 0.5, 0.45]
    return {"number": number, "state": state, "value": value, "params": {"dropout": 0.1, **params}, "epochs": 5,
            "seconds": 1.25, "reason": None, "curve": {"loss": loss, "val_loss": loss}, "discarded": None,
            "best_epoch": 5, "lr_used": None}


def _search(rows: list[dict], **kw) -> SearchOutcome:
    return SearchOutcome("tiny", "s.journal", Objective("val_accuracy", "maximize"), rows, 3.21, len(rows),
                         "iris: 4 features, 3 classes", max_epochs=5, **kw)


def test_search_outcome_shows_the_top_trials_and_the_best(out) -> None:
    rows = [_row(0, 0.8, n_hidden=1), _row(1, 0.9, n_hidden=2), _row(2, 0.4, "PRUNED", n_hidden=3),
            {**_row(3, None, "FAIL", n_hidden=9), "discarded": "surplus"}]
    render.search_outcome(_search(rows, best_path=Path("tiny-best.yaml")))
    text = out["out"].getvalue()
    assert "iris: 4 features, 3 classes" in text
    assert "Study tiny: top 3 of 3 trials" in text and "n_hidden" in text
    assert "dropout" not in text.split("same in every trial")[0] and "same in every trial: dropout=0.1" in text
    assert text.index("0.9000") < text.index("0.8000") < text.index("0.4000")
    assert "Best val_accuracy: 0.9000 (trial #1); 4 trials ran in 3.2s; stored in s.journal" in text
    assert "Best configuration written to tiny-best.yaml" in text
    assert out["err"].getvalue() == ""


def test_search_outcome_without_a_completed_trial_warns(out) -> None:
    render.search_outcome(_search([_row(0, None, "FAIL", n_hidden=1)], interrupted=True))
    err = out["err"].getvalue()
    assert "No trial completed, so there is no best configuration yet." in err
    assert "Interrupted. Finished trials are stored in s.journal" in err
    assert "Best val_accuracy" not in out["out"].getvalue()


def test_study_report_panel_table_and_flag_legend(out) -> None:
    rows = [_row(0, 0.7, n_hidden=1), _row(1, 0.95, n_hidden=2), _row(2, 0.5, "PRUNED", n_hidden=3),
            {**_row(3, None, "FAIL", n_hidden=2), "reason": "loss became nan at epoch 2"}]
    report = StudyReport("fake", "s.journal", "maximize", "val_accuracy",
                         {"engine": "optuna", "algorithm": "tpe", "pruner": "median", "max_epochs": 5}, rows,
                         importances={"n_hidden": 0.8, "dropout": 0.2})
    render.study_report(report, top=2)
    text = out["out"].getvalue()
    assert "study fake" in text and "val_accuracy (maximize)" in text and "best 0.9500 (trial #1)" in text
    assert "optuna / tpe" in text and "pruner median" in text
    assert "2 complete, 1 fail, 1 pruned" in text
    assert "fixed      dropout=0.1" in text
    assert "top 2 trials" in text and "0.7000" in text and "0.5000" not in text
    assert "What mattered" in text and "█" * 32 in text
    assert "CAP still improving at the epoch cap" in text  # best epoch 5 of max_epochs 5


def test_study_report_with_too_few_trials_for_importances(out) -> None:
    report = StudyReport("fake", "s.journal", "minimize", "val_loss", {}, [_row(0, 0.3, n_hidden=1)],
                         importance_note="importances need at least 4 completed trials (1 so far)")
    render.study_report(report, top=10)
    text = out["out"].getvalue()
    assert "val_loss (minimize)" in text and "importances need at least 4 completed trials (1 so far)" in text
    assert "What mattered" not in text


def test_study_list(out) -> None:
    render.study_list([StudySummary("alpha", "optuna", 3, 1, 0, 0, 0.91234, "maximize", "2026-01-02 03:04"),
                       StudySummary("beta", "keras-tuner", 0, 0, 2, 0, None, "minimize", None)])
    text = out["out"].getvalue()
    assert "Studies in this store" in text and "alpha" in text and "beta" in text and "keras-tuner" in text
    assert "0.9123" in text and "2026-01-02 03:04" in text and text.count("—") == 2


def test_train_outcome(out) -> None:
    render.train_outcome(TrainOutcome("accuracy", 0.93333, 0.9, 12, 4.56, Path("m.keras"), 0.95, 0.0123, 20))
    text = out["out"].getvalue()
    assert "test accuracy: 0.9333   (search's validation accuracy: 0.9000; 12 epochs, 4.6s)" in text
    assert "MC dropout (20 passes): test accuracy of the mean prediction 0.9500; spread of single passes ±0.0123" in text
    assert "model saved to m.keras" in text


def test_train_outcome_without_search_score_mc_or_file(out) -> None:
    render.train_outcome(TrainOutcome("rmse", 1.5, None, 3, 0.2, None))
    text = out["out"].getvalue()
    assert "test rmse: 1.5000   (search's validation rmse: —; 3 epochs, 0.2s)" in text
    assert "MC dropout" not in text and "model saved" not in text


def _lr_result(**kw) -> LRFindResult:
    lrs = [1e-4 * 10 ** (i / 10) for i in range(31)]
    losses = [2.0 - 0.05 * i if i < 25 else 0.8 + 0.3 * (i - 25) for i in range(31)]
    return LRFindResult(lrs, losses, losses, {"valley": 0.01, "steep": 0.003}, "valley", seconds=1.5, steps=31, **kw)


def test_lr_find_outcome(out) -> None:
    result = _lr_result(stopped_early=True, notes=["one epoch holds 31 batches of 32: the test took 31 steps"])
    outcome = LRFindOutcome(result, {"n_hidden": 2, "dropout": 0.25, "learning_rate": 0.5}, "the space's defaults",
                            "digits: 64 features, 10 classes")
    render.lr_find_outcome(outcome)
    text = out["out"].getvalue()
    assert "digits: 64 features, 10 classes" in text
    assert "model: the space's defaults: n_hidden=2, dropout=0.25" in text and "learning_rate" not in text
    assert "s ┆ steep 0.003, V ┃ valley 0.01 (chosen)" in text and "learning rate" in text and "1e-" in text  # the plot
    assert "→ valley" in text and "steep" in text and "Suggested learning rates" in text
    low, high = result.bounds()
    assert f"Suggested learning rate (valley): 0.01   search bounds: {low:.3g} to {high:.3g} (log-uniform)" in text
    assert "31 steps on the Keras trainer in 1.5s; stopped early: the loss exploded" in text
    assert "one epoch holds 31 batches of 32" in text


def test_note_goes_to_stderr(out) -> None:
    render.note("wrote plots/a.png")
    assert out["err"].getvalue() == "wrote plots/a.png\n" and out["out"].getvalue() == ""


@pytest.fixture
def narrow(monkeypatch) -> Console:
    """The render module's stdout as an 80-column terminal (the default of most terminals and of SSH)."""
    console = Console(width=80, record=True, theme=THEME, highlight=False)
    monkeypatch.setattr(render, "console", console)
    return console


def _quickstart(**kw) -> list[dict]:
    from tests.ui.test_fit_width import _quickstart_rows

    return [{**row, "reason": None, "curve": {}, "discarded": None, "lr_used": None, **kw} for row in _quickstart_rows()]


def _shown(header: list[str], name: str) -> bool:
    from tunecli.ui.tables import SHORT

    return name in header or SHORT.get(name) in header


def test_search_table_at_80_columns_shows_the_five_most_important_parameters_and_the_fixed_ones(narrow) -> None:
    from tests.ui.test_fit_width import IMPORTANCE

    render.search_outcome(_search(_quickstart(), importances=IMPORTANCE))
    lines = narrow.export_text().splitlines()
    header = next(line for line in lines if "val_accuracy" in line).split()
    assert all(_shown(header, name) for name in sorted(IMPORTANCE, key=IMPORTANCE.get, reverse=True)[:5]), header
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "same in every trial: batch_size=32" in text  # fixed for the whole search: said, not dropped silently
    assert "every column: --json" in text and "terminal too narrow" not in text


def test_report_at_80_columns_shows_the_five_most_important_parameters(narrow) -> None:
    from tests.ui.test_fit_width import IMPORTANCE

    report = StudyReport("digits-quickstart", "s.journal", "maximize", "val_accuracy",
                         {"engine": "optuna", "algorithm": "tpe", "pruner": "median", "max_epochs": 20, "val_rows": 360},
                         _quickstart(), importances=IMPORTANCE)
    render.study_report(report, top=10)
    lines = narrow.export_text().splitlines()
    header = next(line for line in lines if "val_accuracy" in line and "rank" not in line and "objective" not in line)
    assert all(_shown(header.split(), name) for name in sorted(IMPORTANCE, key=IMPORTANCE.get, reverse=True)[:5])
    assert max(len(line) for line in lines) <= 80
    text = " ".join(lines)  # flags left out of the table: their lines below name the trials, ≈ with its interval
    assert "not shown at 80 columns: seconds, rank, epochs, flags;" in text
    assert "0.9852 ± 0.0099, so above 0.9753 (trials #19, #18)" in text
