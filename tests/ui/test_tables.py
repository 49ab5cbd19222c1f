"""The tables tunecli prints, rendered to plain text."""

from __future__ import annotations

import io

from rich.console import Console

from tunecli.lrfinder.rules import LRFindResult
from tunecli.studies.summary import StudySummary
from tunecli.ui.console import THEME
from tunecli.ui.tables import importances_table, lr_rules_table, studies_table, trials_table


def _text(table) -> str:
    buf = io.StringIO()
    Console(file=buf, width=200, theme=THEME).print(table)
    return buf.getvalue()


def _lines(text: str) -> list[list[str]]:
    """Non-empty lines as words, without the rule under the header."""
    return [line.split() for line in text.splitlines() if line.strip() and not set(line.strip()) <= {"─"}]


def test_trials_table_rows_in_the_given_order_with_formatted_cells() -> None:
    rows = [{"number": 4, "state": "COMPLETE", "value": 0.912345, "params": {"lr": 0.00123456, "act": "elu"},
             "epochs": 7, "seconds": 2.04, "flags": "CAP"},
            {"number": 1, "state": "PRUNED", "value": None, "params": {"act": "relu"}, "epochs": 2, "seconds": 0.5}]
    text = _text(trials_table(rows, ["lr", "act"], "val_accuracy", title="top 2", flags=True))
    lines = _lines(text)
    assert lines[0] == ["top", "2"]
    assert lines[1] == ["rank", "#", "val_accuracy", "lr", "act", "epochs", "seconds", "state", "flags"]
    assert lines[2] == ["1", "4", "0.9123", "0.001235", "elu", "7", "2.0", "COMPLETE", "CAP"]
    assert lines[3] == ["2", "1", "—", "relu", "2", "0.5", "PRUNED"]  # a missing parameter is an empty cell


def test_trials_table_shows_each_networks_params_and_latency_first_out_when_narrow() -> None:
    rows = [{"number": 4, "state": "COMPLETE", "value": 0.91, "params": {"lr": 0.001, "act": "elu"}, "epochs": 7,
             "seconds": 2.0, "costs": {"params": 6293, "latency": 0.0754}},
            {"number": 1, "state": "FAIL", "value": None, "params": {"lr": 0.1, "act": "relu"}, "epochs": 1,
             "seconds": 0.5, "costs": {}}]
    lines = _lines(_text(trials_table(rows, ["lr", "act"], "val_accuracy", width=200)))
    assert lines[0] == ["rank", "#", "val_accuracy", "lr", "act", "epochs", "seconds", "params", "latency", "state"]
    assert lines[1][7:9] == ["6,293", "0.0754ms"] and lines[2][7:9] == ["—", "—"]   # a failed trial measured none
    narrow = _text(trials_table(rows, ["lr", "act"], "val_accuracy", width=60))
    assert "latency" not in _lines(narrow)[0] and "act" in _lines(narrow)[0]
    assert "not shown at 60 columns: latency" in narrow
    no_costs = [{**r, "costs": {}} for r in rows]
    assert "params" not in _text(trials_table(no_costs, ["lr"], "val_accuracy", width=200))


def test_trials_table_without_flags_has_no_flags_column() -> None:
    row = {"number": 0, "state": "FAIL", "value": None, "params": {}, "epochs": 0, "seconds": 0.0}
    text = _text(trials_table([row], [], "val_loss"))
    assert "flags" not in text and "FAIL" in text and "val_loss" in text


def test_studies_table() -> None:
    text = _text(studies_table([StudySummary("a", "optuna", 3, 1, 2, 0, 0.123456, "minimize", "2026-01-01 10:00"),
                                StudySummary("b", "optuna", 0, 0, 0, 1, None, "maximize", None)]))
    lines = _lines(text)
    assert ["a", "optuna", "3", "1", "2", "0.1235", "2026-01-01", "10:00"] in lines
    assert ["b", "optuna", "0", "0", "0", "—", "—"] in lines


def test_importances_table_bars_follow_the_values() -> None:
    text = _text(importances_table({"n_hidden": 0.75, "dropout": 0.001}, "from the 100 latest"))
    assert "What mattered (fANOVA importance); from the 100 latest" in text
    assert ["n_hidden", "0.750", "█" * 30] in _lines(text)
    assert ["dropout", "0.001", "█"] in _lines(text)  # at least one block


def test_lr_rules_table_marks_the_chosen_rule_in_the_plots_order() -> None:
    """Lowest learning rate first, as the plot reads left to right (not the catalogue's order)."""
    result = LRFindResult([1e-3, 1e-2], [1.0, 0.5], [1.0, 0.5], {"valley": 0.0123, "minimum": 0.001}, "minimum")
    lines = _lines(_text(lr_rules_table(result)))
    assert lines[2][:3] == ["→", "minimum", "0.001"] and "divided by 10" in " ".join(lines[2])
    assert lines[3][:2] == ["valley", "0.0123"]
