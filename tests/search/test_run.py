"""``run_search``'s plan of trials: a fixed space runs once, ``--more``, a study that already holds the total."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.helpers import TINY_SPACE, TUNECLI
from tunecli.config.space import validate_space
from tunecli.search.run import plan_trials

FIXED = {**TINY_SPACE, "study": "fixed", "search": {"trials": 8, "seed": 1, "rerank": {"top": 5, "seeds": 3}},
         "space": {"n_hidden": 1, "n_neurons": 8, "learning_rate": 0.01}}


def test_a_fixed_space_runs_one_trial_and_its_re_ranking_runs_and_says_so() -> None:
    space, note = plan_trials(validate_space(FIXED), 0)
    assert space.search.trials == 1 and space.raw["search"]["trials"] == 1   # worker processes read the raw file
    assert note == "every parameter is fixed: one trial and its 2 re-ranking runs (search.rerank.seeds: 3), " \
                   "not 8 identical ones"
    space, note = plan_trials(validate_space(FIXED), 1)
    assert space.search.trials == 1 and "already holds its trial" in note and "--more N" in note
    off = validate_space({**FIXED, "search": {"trials": 1, "rerank": {"top": 0}}})
    assert plan_trials(off, 0)[1] == "every parameter is fixed: one trial"


def test_more_runs_that_many_beyond_what_the_study_holds() -> None:
    space, note = plan_trials(validate_space(TINY_SPACE), 8, more=4)
    assert space.search.trials == 12 and space.raw["search"]["trials"] == 12
    assert note == "4 more trials: study tiny holds 8, the search goes on to 12"
    assert plan_trials(validate_space(FIXED), 1, more=2)[0].search.trials == 3   # also on a fixed space


def test_a_study_that_holds_the_total_says_why_nothing_runs_and_how_to_add_more() -> None:
    space, note = plan_trials(validate_space({**TINY_SPACE, "search": {"trials": 4}}), 8)
    assert space.search.trials == 4
    assert note == ("study tiny already holds 8 trials and --trials / search.trials (4) is the total to reach: "
                    "no new trial (`--more N` runs N more)")
    assert plan_trials(validate_space(TINY_SPACE), 1) == (validate_space(TINY_SPACE), None)


@pytest.mark.slow  # real searches through the installed command
def test_a_fixed_space_trains_once_re_ranks_and_writes_no_best_of_best(tmp_path) -> None:
    (tmp_path / "fixed.yaml").write_text(yaml.safe_dump(FIXED))
    proc = subprocess.run([TUNECLI, "search", "fixed.yaml", "--json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["trials_run"] == 1 and summary["reranked_runs"] == 2 and summary["best_config_file"] is None
    assert len(summary["best"]["repeats"]) == 3
    assert "every parameter is fixed: one trial and its 2 re-ranking runs" in proc.stderr
    # the re-ranking runs are in the --json progress on stderr
    assert "re-ranking: 2 more runs of the best configuration" in proc.stderr
    assert "re-ranking 2/2  #0   run 3/3" in proc.stderr
    assert not list(tmp_path.glob("*-best*.yaml"))
    table = subprocess.run([TUNECLI, "search", "fixed.yaml"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    assert table.returncode == 0, table.stderr
    assert "already holds its trial: no new trial" in table.stderr
    shown = " ".join(table.stdout.split())   # lines wrap at the terminal's width
    assert "No new best file" in shown and "fixed.yaml is the configuration itself" in shown
    more = subprocess.run([TUNECLI, "search", "fixed.yaml", "--more", "1", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert more.returncode == 0, more.stderr
    assert json.loads(more.stdout)["trials_run"] == 1 and "1 more trial: study fixed holds 1" in more.stderr
