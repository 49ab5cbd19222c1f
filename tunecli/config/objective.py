"""Which metric a search optimizes, and in which direction (no Keras import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Objective:
    metric: str        # e.g. val_accuracy
    direction: str     # maximize | minimize

    @property
    def mode(self) -> str:
        return "max" if self.direction == "maximize" else "min"

    def better(self, a: float, b: float) -> bool:
        return a > b if self.direction == "maximize" else a < b


def resolve_objective(name: str, task: str, source: str | None = None) -> Objective:
    """``auto`` -> val_accuracy (classification) or val_rmse (regression); accuracy maximizes, the rest minimize."""
    if name == "auto":
        name = "val_accuracy" if task == "classification" else "val_rmse"
    if name == "val_accuracy" and task != "classification":
        from tunecli.errors import SpaceError

        raise SpaceError("val_accuracy needs a classification task; use val_rmse, val_mae or val_loss",
                         source=source, field="objective")
    if name in ("val_rmse", "val_mae") and task != "regression":
        from tunecli.errors import SpaceError

        raise SpaceError(f"{name} needs a regression task; use val_accuracy or val_loss", source=source,
                         field="objective")
    return Objective(name, "maximize" if name.endswith("accuracy") else "minimize")
