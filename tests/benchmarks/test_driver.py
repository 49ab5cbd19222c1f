"""The benchmark drivers' shared pieces: their options, the median (IQR) cells, the failed runs."""

from __future__ import annotations

import argparse

from benchmarks.driver import failed_runs, job_arguments, median_iqr


def test_median_and_interquartile_range_as_cells() -> None:
    assert median_iqr([1.0, 2.0, 3.0, 4.0], ".2f") == ("2.50", "1.75–3.25")
    assert median_iqr([0.5, -0.25, 0.0], "+.2f") == ("+0.00", "-0.12–+0.25")


def test_failed_runs_name_each_job_and_nothing_when_all_ran() -> None:
    rows = [{"data": "digits", "seed": 1, "tool": "optuna", "error": "ValueError: x"}, {"data": "digits", "seed": 2}]
    assert failed_runs(rows) == ["", "1 failed runs:", "- digits 1 optuna: ValueError: x"]
    assert failed_runs(rows[1:]) == []


def test_every_driver_takes_the_same_job_options() -> None:
    parser = argparse.ArgumentParser()
    job_arguments(parser, data={"digits": 1, "mnist": 2}, tools=["a", "b"], out="out.jsonl")
    args = parser.parse_args(["--data", "mnist", "--tools", "b", "--parallel", "2", "--cores", "1"])
    assert (args.data, args.tools, args.parallel, args.cores, args.seeds, args.out) == (["mnist"], ["b"], 2, 1, 10,
                                                                                         "out.jsonl")
    assert parser.parse_args(["--job", "digits", "3"]).job == ["digits", "3"]
