"""``EndWatch``: the runs of a group that have ended, told by their epoch hooks while the group trains."""

from __future__ import annotations

from tunecli.search.progress import EndWatch, QuietRerank


def _watch(size: int) -> tuple[EndWatch, list[tuple[int, int]]]:
    changes: list[tuple[int, int]] = []
    return EndWatch(size, lambda ended, epoch: changes.append((ended, epoch))), changes


def test_members_in_lockstep_are_counted_once_they_skip_an_epoch() -> None:
    watch, changes = _watch(3)
    hooks = watch.hooks()
    for epoch in (1, 2):                      # all three train epochs 1 and 2
        assert not any(hook(epoch, 0.5, {}) for hook in hooks)   # the hooks never prune
    hooks[0](3, 0.5, {})                      # run 1 ended at epoch 2: not known yet (it may come later in epoch 3)
    hooks[2](3, 0.5, {})
    assert watch.ended == set()
    hooks[0](4, 0.5, {})                      # epoch 4 began and run 1 skipped epoch 3: it has ended
    assert watch.ended == {1} and changes[-1] == (1, 4)
    hooks[0](5, 0.5, {})                      # run 2 ended after epoch 3
    assert watch.ended == {1, 2}


def test_runs_one_after_the_other_are_counted_when_the_next_one_starts() -> None:
    watch, _ = _watch(3)
    hooks = watch.hooks()
    for epoch in range(1, 6):
        hooks[0](epoch, 0.5, {})
    assert watch.ended == set()
    hooks[1](1, 0.5, {})                      # the next run starts: the first has ended
    assert watch.ended == {0}
    assert watch.last[2] == 0                 # a run that has not started is never counted


def test_a_run_is_never_counted_while_it_still_trains() -> None:
    watch, _ = _watch(2)
    hooks = watch.hooks()
    for epoch in range(1, 30):
        hooks[0](epoch, 0.5, {})
        hooks[1](epoch, 0.5, {})
        assert watch.ended == set()


def test_the_quiet_display_takes_every_call() -> None:
    with QuietRerank("val_accuracy", 5, top=2, seeds=3, quiet=True, deadline=None) as quiet:
        quiet.begin(4, 2)
        assert quiet.group(2) == []
