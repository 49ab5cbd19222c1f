from __future__ import annotations

import math

import optuna
import pytest

from tunecli.search.rerank import rerank
from tunecli.studies import attrs
from tunecli.studies.results import mean, repeats_of
from tunecli.trial import TrialResult


def _study(values: list[float], direction: str = "maximize") -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction=direction)
    dist = optuna.distributions.FloatDistribution(0.0, 1.0)
    for i, value in enumerate(values):
        study.add_trial(optuna.trial.create_trial(params={"x": i / 10}, distributions={"x": dist}, value=value,
                                                  user_attrs={attrs.CONFIG: {"n_hidden": i + 1}}))
    return study


def _runner(scores: dict[int, list[float]], calls: list):  # noqa: ANN202
    """A fake trainer: the n-th extra run of configuration n_hidden=h scores scores[h][n]."""
    def run(config: dict, seed: int | None) -> TrialResult:
        h = config["n_hidden"]
        calls.append((h, seed))
        value = scores[h][sum(1 for c in calls if c[0] == h) - 1]
        return TrialResult("COMPLETE", value, 3, 0.1)
    return each(run)


def each(run):  # noqa: ANN001, ANN201
    """A runner of groups from a runner of one configuration."""
    return lambda configs, seeds: [run(c, s) for c, s in zip(configs, seeds)]


def test_top_configurations_get_their_runs_and_are_ranked_by_the_mean() -> None:
    study = _study([0.90, 0.99, 0.95, 0.80])          # trial 1 is the lucky one
    calls: list = []
    ran = rerank(study, top=2, seeds=3, base_seed=0,
                 run=_runner({2: [0.91, 0.92], 3: [0.95, 0.96], 1: [0.90, 0.91]}, calls))
    runs = {t.number: repeats_of(study.user_attrs, t) for t in study.trials}
    assert runs[1] == [0.99, 0.91, 0.92]       # the original run first
    assert runs[2] == [0.95, 0.95, 0.96]
    assert runs[0] == [0.90] and runs[3] == [0.80]   # trial 1's mean (0.94) stays above trial 0's 0.90
    assert ran == 4 and len({seed for _, seed in calls}) == 4
    assert max(runs, key=lambda n: mean(runs[n])) == 2             # best by the mean, not the lucky 0.99
    assert mean(runs[1]) == pytest.approx((0.99 + 0.91 + 0.92) / 3)


def test_a_fallen_mean_lets_the_next_configuration_in() -> None:
    study = _study([0.90, 0.99, 0.95, 0.80])
    calls: list = []
    rerank(study, top=2, seeds=2, base_seed=None, run=_runner({2: [0.80], 3: [0.94], 1: [0.88]}, calls))
    means = {t.number: mean(repeats_of(study.user_attrs, t)) for t in study.trials}
    assert {h for h, _ in calls} == {1, 2, 3}                          # trial 0 (n_hidden 1) entered the top 2
    assert means[0] == pytest.approx(0.89) and all(seed is None for _, seed in calls)


def test_resuming_never_runs_a_stored_run_again_and_failures_count_as_runs() -> None:
    study = _study([0.5, 0.4], direction="minimize")
    calls: list = []

    def failing(config: dict, seed: int | None) -> TrialResult:
        calls.append(config["n_hidden"])
        return TrialResult("FAIL", None, 1, 0.1, reason="loss became nan")

    rerank(study, top=1, seeds=2, base_seed=1, run=each(failing))
    assert calls == [2] and repeats_of(study.user_attrs, study.trials[1]) == [0.4, None]
    assert rerank(study, top=1, seeds=2, base_seed=1, run=each(failing)) == 0 and calls == [2]
    assert math.isclose(mean(repeats_of(study.user_attrs, study.trials[1])), 0.4)


def test_off_when_top_is_zero_or_one_seed() -> None:
    study = _study([0.9])
    assert rerank(study, top=0, seeds=3, base_seed=0, run=each(lambda c, s: pytest.fail("ran"))) == 0
    assert rerank(study, top=5, seeds=1, base_seed=0, run=each(lambda c, s: pytest.fail("ran"))) == 0


@pytest.mark.slow
@pytest.mark.parametrize("engine,algorithm", [("optuna", "tpe"), ("keras-tuner", "random")])
def test_search_reranks_on_both_engines_and_a_resume_keeps_the_runs(engine: str, algorithm: str, tmp_path,
                                                                     monkeypatch) -> None:
    from typer.testing import CliRunner

    from tests.helpers import TINY_SPACE
    from tunecli.cli import app
    from tunecli.studies.results import trial_rows
    from tunecli.studies.storage import load_study

    monkeypatch.chdir(tmp_path)
    space = {**TINY_SPACE, "search": {"trials": 3, "seed": 1, "engine": engine, "algorithm": algorithm,
                                      "rerank": {"top": 2, "seeds": 2}}}
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(space))
    first = CliRunner().invoke(app, ["search", "s.yaml", "--json"])
    assert first.exit_code == 0, first.output
    rows = trial_rows(load_study("tiny", None))
    reranked = [r for r in rows if r["repeats"]]
    assert len(reranked) >= 2 and all(len(r["repeats"]) == 2 for r in reranked)
    assert all(r["value"] == pytest.approx(mean(r["repeats"])) for r in reranked)
    again = CliRunner().invoke(app, ["search", "s.yaml", "--json", "--rerank-top", "2"])
    assert again.exit_code == 0, again.output
    assert '"reranked_runs": 0' in again.output  # resumed: nothing ran again
    best = yaml.safe_load((tmp_path / "tiny-best.yaml").read_text())
    assert best["origin"]["trial"] in {r["number"] for r in reranked}


def test_no_run_starts_after_the_deadline_and_a_resume_does_the_rest() -> None:
    import time

    study = _study([0.90, 0.99, 0.95])
    calls: list = []
    ran = rerank(study, top=2, seeds=3, base_seed=0, run=_runner({2: [0.9, 0.9], 3: [0.9, 0.9]}, calls),
                 deadline=time.monotonic() - 1)
    assert ran == 0 and calls == []
    ran = rerank(study, top=2, seeds=3, base_seed=0, run=_runner({2: [0.9, 0.9], 3: [0.9, 0.9]}, calls))
    assert ran == 4


def test_the_timeout_keeps_time_for_re_ranking() -> None:
    from tunecli.config.space import validate_space
    from tunecli.search.engines import rerank_reserve

    def space(timeout: float | None, top: int = 5, seeds: int = 3):  # noqa: ANN202
        return validate_space({"data": {"source": "iris"}, "search": {"timeout": timeout,
                                                                     "rerank": {"top": top, "seeds": seeds}}})

    study = optuna.create_study()
    assert rerank_reserve(space(60), study) == 0.0            # nothing complete yet: nothing to go on
    dist = optuna.distributions.FloatDistribution(0.0, 1.0)
    for seconds in (1.0, 2.0, 9.0):
        study.add_trial(optuna.trial.create_trial(params={"x": 0.5}, distributions={"x": dist}, value=0.5,
                                                  user_attrs={attrs.SECONDS: seconds}))
    assert rerank_reserve(space(60), study) == pytest.approx(5 * 2 * 2.0)   # 10 runs at the median 2 s
    assert rerank_reserve(space(30), study) == pytest.approx(15.0)          # at most half the timeout
    assert rerank_reserve(space(None), study) == 0.0
    assert rerank_reserve(space(60, top=0), study) == 0.0
    assert rerank_reserve(space(60, seeds=1), study) == 0.0


def test_runs_of_a_plan_train_together_and_each_is_stored_on_its_trial() -> None:
    study = _study([0.90, 0.99, 0.95])
    groups: list[list[int]] = []

    def together(configs: list[dict], seeds: list) -> list[TrialResult]:
        groups.append([c["n_hidden"] for c in configs])
        return [TrialResult("COMPLETE", 0.5 + c["n_hidden"] / 10, 3, 0.1) for c in configs]

    ran = rerank(study, top=2, seeds=3, base_seed=0, run=together, plan=lambda configs: [list(range(len(configs)))])
    # the four runs of the top 2 in one group; their means fall below trial 0's 0.90, which is run next
    assert ran == 6 and groups == [[2, 2, 3, 3], [1, 1]]
    runs = {t.number: repeats_of(study.user_attrs, t) for t in study.trials}
    assert runs[1] == [0.99, 0.7, 0.7] and runs[2] == [0.95, 0.8, 0.8] and runs[0] == [0.90, 0.6, 0.6]


def test_the_report_hears_the_runs_to_do_and_each_run_as_it_is_stored() -> None:
    study = _study([0.90, 0.99, 0.95, 0.80])
    heard: list = []

    class Report:
        def begin(self, total: int, configurations: int) -> None:
            heard.append(("begin", total, configurations))

        def ended(self, number: int, run: int, result: TrialResult) -> None:
            heard.append(("ended", number, run, result.value))

    rerank(study, top=2, seeds=2, base_seed=0, run=_runner({2: [0.80], 3: [0.94], 1: [0.88]}, []), report=Report())
    # trial 1's mean falls (0.88): trial 0 enters the top 2, and the total grows by its run
    assert heard == [("begin", 2, 2), ("ended", 1, 2, 0.80), ("ended", 2, 2, 0.94), ("begin", 3, 1),
                     ("ended", 0, 2, 0.88)]
