"""The live displays: the trials' and the re-ranking runs' bars, their counts, remaining time and plain lines."""

from __future__ import annotations

import io

from rich.console import Console

from tunecli.trial import TrialResult
from tunecli.ui.console import THEME
from tunecli.ui.progress import RerankProgress, SearchProgress


def _text(renderable) -> str:  # noqa: ANN001
    buf = io.StringIO()
    Console(file=buf, width=80, theme=THEME).print(renderable)
    return buf.getvalue()


def _rerank(top: int = 2, seeds: int = 3) -> tuple[RerankProgress, io.StringIO]:
    display = RerankProgress("val_accuracy", 20, top=top, seeds=seeds, live=False)
    out = io.StringIO()
    display.live.console = Console(file=out, width=80, theme=THEME)
    return display, out


def test_the_remaining_time_is_estimated_once_the_first_trial_ends_not_read_off_the_timeout() -> None:
    progress = SearchProgress(8, 0, "val_accuracy", 20, live=False, timeout=600.0)
    assert progress.remaining() is None
    assert "remaining: estimating" in _text(progress._render()) and "9m" not in _text(progress._render())
    progress.started -= 10.0
    progress.done = progress.done_here = 2
    assert "remaining ~30s" in _text(progress._render())


def test_re_ranking_shows_its_own_bar_and_counts_members_as_they_end() -> None:
    display, out = _rerank()
    with display:
        display.begin(4, 2)
        hooks = display.group(4)              # four runs train together as members of one program
        assert "0/4 runs" in _text(display._render()) and "estimating" in _text(display._render())
        for hook in hooks:
            hook(1, 0.9, {})
        for hook in hooks[:3]:                # run 4 ended after epoch 1
            hook(2, 0.9, {})
        hooks[0](3, 0.9, {})                  # epoch 3 began without run 4: it has ended
        screen = _text(display._render())
        assert "1/4 runs" in screen and "epoch 3/20" in screen and "remaining ~" in screen
        for number, run in ((7, 2), (7, 3), (2, 2), (2, 3)):   # the group returns: each run is stored
            display.ended(number, run, TrialResult("COMPLETE", 0.95, 2, 0.1))
        assert "4/4 runs" in _text(display._render())
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("re-ranking: 4 more runs of the top 2 configurations (fresh seeds, 3 runs each)")
    assert lines[1].startswith("re-ranking 1/4  #7   run 2/3  COMPLETE val_accuracy 0.9500")
    assert lines[4].startswith("re-ranking 4/4  #2   run 3/3")
    assert all(len(line) <= 80 for line in lines)


def test_re_ranking_with_nothing_to_run_shows_nothing() -> None:
    display, out = _rerank()
    with display:
        pass
    assert out.getvalue() == ""


def test_one_configuration_is_named_so() -> None:
    display, out = _rerank(top=5)
    with display:
        display.begin(2, 1)
    assert "2 more runs of the best configuration" in out.getvalue()
    assert "re-ranking the best configuration, 3 runs each" in _text(display._render())


def test_the_live_best_never_shows_a_trial_that_broke_a_constraint() -> None:
    import optuna

    from tunecli.studies import attrs

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(directions=["maximize", "minimize"])
    for value, broken in [(0.99, ["params <= 400"]), (0.91, []), (0.95, [])]:
        trial = study.ask()
        for key, stored in attrs.violated_record(broken).items():
            trial.set_user_attr(key, stored)
        study.tell(trial, [value, 100.0])
    progress = SearchProgress(8, 0, "val_accuracy", 20, live=False)
    progress.set_best(study)
    assert progress.best == 0.95  # 0.99 broke params <= 400
