"""Searches of several objectives and constraints, without training: the engine tells Optuna every objective, marks
the trials that break a bound, never prunes; the study, its ranking, rows, report and plots read them back."""

from __future__ import annotations

import optuna
import pytest

from tunecli.config.objective import resolve_objective
from tunecli.config.space import validate_space
from tunecli.studies import attrs
from tunecli.trial import TrialResult

RAW = {"study": "mo", "objective": ["val_accuracy", "params"], "constraints": {"params": "<= 3000"},
       "search": {"trials": 6, "seed": 0}, "space": {"n_hidden": {"int": [1, 3]}, "learning_rate": 0.01}}


def _result(i: int) -> TrialResult:
    extras = attrs.footprint_record(params=1000 * (i + 1), latency_ms=0.01 * (i + 1), latency_iqr_ms=0.001,
                                    size_bytes=4000 * (i + 1))
    return TrialResult("COMPLETE", 0.5 + 0.08 * i, 2, 0.1, {"val_accuracy": [0.4, 0.5 + 0.08 * i]}, best_epoch=2,
                       extras=extras)


def _search(raw: dict, storage: object = None) -> optuna.Study:
    """Run the Optuna engine over ``raw`` with a trainer that trains nothing (trial i: accuracy up, params up)."""
    from tunecli.search.engines import SearchContext
    from tunecli.search.engines._optuna import OptunaEngine
    from tunecli.search.progress import QuietProgress
    from tunecli.search.samplers import make_pruner, make_sampler

    space = validate_space(raw)
    objective = resolve_objective(space.objective, "classification")
    study = optuna.create_study(directions=objective.directions, sampler=make_sampler(space), pruner=make_pruner(space),
                                storage=storage, study_name=space.study)
    count = iter(range(100))

    def run_group(configs: list[dict], on_epochs: list, seeds: list) -> list[TrialResult]:
        assert all(hook(1, 0.5, {}) is False for hook in on_epochs)   # no pruning with several objectives
        return [_result(next(count)) for _ in configs]

    ctx = SearchContext(space, None, objective, study, QuietProgress(space.search.trials, 0, "val_accuracy", 2))
    ctx.run_group = run_group
    OptunaEngine().run(ctx)
    return study


def test_every_objective_is_told_and_broken_bounds_are_marked() -> None:
    study = _search(RAW)
    trials = sorted(study.trials, key=lambda t: t.user_attrs[attrs.PARAM_COUNT])
    assert len(trials) == 6 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    for i, t in enumerate(trials):
        assert t.values == [pytest.approx(0.5 + 0.08 * i), 1000 * (i + 1)]
        assert attrs.read(t.user_attrs, attrs.VIOLATED) == ([] if i < 3 else ["params"])
        assert not t.intermediate_values   # nothing was reported: no pruning
        assert t.constraints == {"params": 1000 * (i + 1) - 3000}   # Optuna's samplers see them too


def test_the_ranking_keeps_feasible_optimal_trials_first() -> None:
    from tunecli.search.weights import ranking

    study = _search(RAW)
    by_params = {t.user_attrs[attrs.PARAM_COUNT]: t.number for t in study.trials}
    assert ranking(study)[:3] == [by_params[3000], by_params[2000], by_params[1000]]
    assert set(ranking(study)[3:]) == {by_params[4000], by_params[5000], by_params[6000]}


def test_the_study_records_its_objectives_and_rows_read_them() -> None:
    from tunecli.studies.results import best_row, trial_rows

    study = _search(RAW)
    rows = trial_rows(study)
    assert {r["costs"]["params"] for r in rows} == {1000, 2000, 3000, 4000, 5000, 6000}
    assert best_row(rows, "maximize")["costs"]["params"] == 3000   # 4000+ broke params <= 3000


def test_a_created_study_has_one_direction_per_objective(tmp_path) -> None:
    from tunecli.search.study import create_or_resume

    space = validate_space({**RAW, "search": {"algorithm": "nsga2", "trials": 6}})
    study = create_or_resume(space, resolve_objective(space.objective, "classification"), str(tmp_path / "s.journal"))
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert isinstance(study.sampler, optuna.samplers.NSGAIISampler)
    assert attrs.objectives(study.user_attrs) == ["val_accuracy", "params"]
    assert attrs.read(study.user_attrs, attrs.CONSTRAINTS) == {"params": "<= 3000"}


def test_report_shows_the_front_and_exports_the_pick(tmp_path) -> None:
    from rich.console import Console

    from tunecli.studies.report import build_report
    from tunecli.ui import pareto as view
    from tunecli.ui.console import THEME

    study = _search(RAW)
    study.set_user_attr(attrs.OBJECTIVES, ["val_accuracy", "params"])
    study.set_user_attr(attrs.OBJECTIVE, "val_accuracy")
    report = build_report(study, None, importances=False)
    knee = report.pick("knee")
    assert knee["costs"]["params"] <= 3000 and report.export_space(knee)["origin"]["trial"] == knee["number"]
    console = Console(width=80, record=True, theme=THEME)
    console.print(view.pareto_table(report.rows, ["val_accuracy", "params"], ["maximize", "minimize"]))
    text = console.export_text()
    assert "◆" in text and "3,000" in text and "4,000" not in text   # an infeasible trial is never on the front
    assert all(len(line) <= 80 for line in text.splitlines())
    listed = report.to_dict()   # report --format json (search --json lists them the same way)
    by_number = {r["number"]: r for r in report.rows}
    assert listed["objectives"] == ["val_accuracy", "params"] and listed["knee"] == knee["number"]
    assert sorted(by_number[n]["costs"]["params"] for n in listed["front"]) == [1000, 2000, 3000]


def test_a_single_objective_study_can_still_pick_by_cost() -> None:
    study = _search({**RAW, "objective": "val_accuracy", "constraints": {}})
    from tunecli.studies.report import build_report

    study.set_user_attr(attrs.OBJECTIVE, "val_accuracy")
    report = build_report(study, None, importances=False)
    assert report.pick("params<=2500")["costs"]["params"] == 2000
    assert report.best["costs"]["params"] == 6000 and report.best["costs"]["latency"] == pytest.approx(0.06)


def test_a_trial_that_broke_a_constraint_picked_by_number_says_so_in_its_file() -> None:
    from tunecli.studies.pareto import broke_note
    from tunecli.studies.report import build_report

    study = _search(RAW)
    study.set_user_attr(attrs.OBJECTIVES, ["val_accuracy", "params"])
    study.set_user_attr(attrs.OBJECTIVE, "val_accuracy")
    report = build_report(study, None, importances=False)
    broken = next(r for r in report.rows if r["costs"]["params"] == 5000)
    picked = report.pick(str(broken["number"]))
    origin = report.export_space(picked)["origin"]
    assert origin["violated"] == ["params"]
    assert broke_note(origin["trial"], origin["violated"]).startswith(f"trial #{broken['number']} broke the study's "
                                                                       "constraints (params)")
    assert "violated" not in report.export_space(report.pick("knee"))["origin"]   # a feasible pick: nothing to say


def test_report_and_train_say_so_when_the_picked_trial_broke_a_constraint(tmp_path) -> None:
    from typer.testing import CliRunner

    from tunecli.cli import app
    from tunecli.studies.storage import open_storage

    store = str(tmp_path / "s.journal")
    study = _search(RAW, open_storage(store))
    study.set_user_attr(attrs.OBJECTIVES, ["val_accuracy", "params"])
    study.set_user_attr(attrs.OBJECTIVE, "val_accuracy")
    study.set_user_attr(attrs.SPACE_FILE, RAW)
    broken = next(t.number for t in study.trials if t.user_attrs[attrs.PARAM_COUNT] == 5000)
    out = tmp_path / "picked.yaml"
    shown = CliRunner().invoke(app, ["report", "mo", "--storage", store, "--pick", str(broken), "--export", str(out)])
    assert shown.exit_code == 0, shown.output
    assert f"trial #{broken} broke the study's constraints (params)" in shown.output
    import yaml

    assert yaml.safe_load(out.read_text())["origin"]["violated"] == ["params"]
