"""Short diagnostics of one trial from its learning curve (no Keras).

Flags:
    NaN   the loss diverged (NaN / inf)
    OVF   over-fitting: validation loss rose well above its minimum while the training loss kept falling
    CAP   still improving at the epoch cap: raise max_epochs
    FLAT  plateaued early: the best epoch came in the first 20 % of the epochs run
"""

from __future__ import annotations

from typing import Any

LEGEND = {
    "NaN": "loss diverged (NaN/inf): lower the learning rate, add clipping or batch norm",
    "OVF": "over-fitting: validation loss rose >10 % above its best while training loss fell; add regularization",
    "CAP": "still improving at the epoch cap: raise max_epochs",
    "FLAT": "plateaued early: best epoch in the first 20 % of epochs; try another learning rate or schedule",
    "≈": "tied with the best: inside its 95 % interval (the best's score ± 1.96 standard errors)",
}


def diagnose(row: dict[str, Any], max_epochs: int | None) -> list[str]:
    """Flags for one trial row (see ``results.trial_rows``)."""
    flags = []
    reason = row.get("reason") or ""
    if "loss became" in reason or "nan" in reason.lower():
        return ["NaN"]
    curve = row.get("curve") or {}
    loss, val_loss = curve.get("loss", []), curve.get("val_loss", [])
    if len(val_loss) >= 4 and len(loss) == len(val_loss):
        best = min(val_loss)
        if val_loss[-1] > best * 1.1 and val_loss[-1] > loss[-1] and loss[-1] < loss[val_loss.index(best)]:
            flags.append("OVF")
    epochs = row.get("epochs") or 0
    if val_loss and max_epochs and epochs >= max_epochs and row.get("state") == "COMPLETE":
        if val_loss.index(min(val_loss)) >= len(val_loss) - 2:
            flags.append("CAP")
    if len(val_loss) >= 5 and val_loss.index(min(val_loss)) < max(1, len(val_loss) // 5):
        flags.append("FLAT")
    return flags
