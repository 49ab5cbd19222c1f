"""Trial flags from learning curves (``studies.diagnostics``): EARLY and the search's note on patience."""

from __future__ import annotations

from tunecli.studies.diagnostics import diagnose, early_note, stopped_while_improving


def _stopped(curve: list[float], best_epoch: int, state: str = "COMPLETE") -> dict:
    return {"state": state, "epochs": len(curve), "best_epoch": best_epoch,
            "curve": {"loss": [1.0] * len(curve), "val_loss": curve}}


def test_a_trial_stopped_while_its_noisy_curve_still_fell_is_flagged_early() -> None:
    # still falling on average, but noisy: the best (epoch 8) is not beaten in the 5 epochs after it
    noisy = [1.0, 0.9, 0.8, 0.75, 0.72, 0.80, 0.79, 0.70, 0.74, 0.72, 0.71, 0.73, 0.705]
    row = _stopped(noisy, 8)
    assert min(noisy) == noisy[7] and stopped_while_improving(row, 100) and "EARLY" in diagnose(row, 100)
    rising = [1.0 - 0.05 * e for e in range(10)] + [0.56, 0.6, 0.65, 0.7, 0.75]   # over-fitting: not early
    assert not stopped_while_improving(_stopped(rising, 10), 100)
    assert not stopped_while_improving(row, len(noisy))                             # it ran to the cap
    assert not stopped_while_improving(_stopped(noisy, 8, "PRUNED"), 100)
    assert not stopped_while_improving(_stopped(noisy, 13), 100)                    # its best was its last epoch
    # a heuristic: a curve still settling at the end of its descent is flagged too (its mean still falls)
    settling = [1.0, .7, .55, .48, .45, .44, .43, .425, .43, .428, .431, .427]
    assert stopped_while_improving(_stopped(settling, 8), 100)
    flat = [1.0, .7, .55, .48, .45, .44, .43, .425, .44, .45, .44, .46]   # no lower on average: not flagged
    assert not stopped_while_improving(_stopped(flat, 8), 100)
    three = [dict(row, number=i) for i in range(3)]
    note = early_note([*three, _stopped(rising, 10)], 100, 5)
    assert note is not None and note.startswith("3 of 4 complete trials") and "patience (5)" in note
    assert early_note([*three[:2], _stopped(rising, 10)], 100, 5) is None         # fewer than 3
    assert early_note([*three, *[_stopped(rising, 10)] * 4], 100, 5) is None      # not most of them
