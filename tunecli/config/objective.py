"""Which metric a search optimizes, in which direction, the costs it also minimizes and the bounds a trial must keep
(no Keras import).

``objective:`` names one validation metric, or a list: the metric first, then costs (``params``, ``latency``,
``size``), each minimized. ``constraints:`` bounds costs (or the metric): ``{params: "<= 50000", latency: "<= 2ms"}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

#: The validation metrics a search can optimize (``auto``: accuracy for classification, RMSE for regression).
METRICS = ("auto", "val_loss", "val_accuracy", "val_rmse", "val_mae")

#: What every trial measures of its trained network besides its score (each minimized), and its unit.
COSTS: dict[str, str] = {
    "params": "the network's weights (parameters), counted exactly",
    "latency": "milliseconds to predict 256 rows on one CPU thread (median of repeated timings)",
    "size": "bytes of the network's .keras file (estimated from its weights)",
}

#: Units a bound may carry, per cost, as a factor to the stored unit (params: a count, latency: ms, size: bytes).
UNITS: dict[str, dict[str, float]] = {
    "params": {"": 1, "k": 1e3, "m": 1e6},
    "latency": {"ms": 1, "us": 1e-3, "µs": 1e-3, "s": 1e3},
    "size": {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "kib": 1024, "mib": 1024**2},
}


@dataclass(frozen=True)
class Objective:
    metric: str        # e.g. val_accuracy
    direction: str     # maximize | minimize
    costs: tuple[str, ...] = ()  # further objectives, each minimized (``COSTS``)

    @property
    def mode(self) -> str:
        return "max" if self.direction == "maximize" else "min"

    @property
    def names(self) -> list[str]:
        """Every objective, the metric first."""
        return [self.metric, *self.costs]

    @property
    def directions(self) -> list[str]:
        """The direction of each objective (``names``' order)."""
        return [self.direction] + ["minimize"] * len(self.costs)

    @property
    def multi(self) -> bool:
        """Several objectives: a Pareto front instead of one best trial (and no pruning)."""
        return bool(self.costs)

    def better(self, a: float, b: float) -> bool:
        return a > b if self.direction == "maximize" else a < b


class Bound(NamedTuple):
    """One constraint: ``name`` ``op`` ``value`` (in the stored unit), e.g. ``latency <= 2.0`` (ms)."""

    name: str
    op: str        # "<=" | ">="
    value: float

    def violation(self, measured: float | None) -> float:
        """How far ``measured`` is outside the bound (> 0: broken; Optuna's ``constraints_func`` convention)."""
        if measured is None:
            return 0.0
        return measured - self.value if self.op == "<=" else self.value - measured

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.value:g}"


def as_list(objective: str | list[str]) -> list[str]:
    """The objectives as a list, the metric first."""
    return objective if isinstance(objective, list) else [objective]


def check_objective(value: Any) -> str | list[str]:
    """The ``objective:`` field as the file gives it: one metric, or a list of the metric then costs.

    Raises:
        ValueError: an unknown name, a cost given first or alone, a repeated name, an empty list.
    """
    names = value if isinstance(value, list) else [value]
    if not names:
        raise ValueError(f"a list needs a validation metric first, e.g. [val_accuracy, params]; allowed: {_allowed()}")
    for name in names:
        if not isinstance(name, str) or name not in (*METRICS, *COSTS):
            from tunecli.errors import show

            raise ValueError(f"unknown objective {show(name)}; allowed: {_allowed()}")
    if names[0] not in METRICS:
        raise ValueError(f"{names[0]} is a cost, not a score: list it after a validation metric, "
                         f"e.g. [val_accuracy, {names[0]}]")
    extra = [n for n in names[1:] if n in METRICS]
    if extra:
        raise ValueError(f"one validation metric per study ({names[0]}); {extra[0]} is another. "
                         f"After the metric come costs: {', '.join(COSTS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"each objective once, got {names}")
    return value if isinstance(value, str) or len(names) > 1 else names[0]


def check_search(names: list[str], constrained: bool, search: Any) -> bool:
    """Whether ``search`` (``SearchSettings``) can run these objectives and constraints; True when there are several
    objectives (pruning is then off).

    Raises:
        ValueError: another engine than Optuna, an algorithm of one objective, a pruner set for several objectives.
    """
    from tunecli.config import registry

    if not (names[1:] or constrained):
        return False
    what = "several objectives" if names[1:] else "constraints"
    if search.engine != "optuna":
        raise ValueError(f"search.engine: {what} need engine optuna (got {search.engine})")
    if not names[1:]:
        return False
    entry = registry.ALGORITHMS.get(("optuna", search.algorithm or ""))
    if entry is not None and not entry.multi_objective:
        allowed = [n for n in registry.algorithms("optuna") if registry.ALGORITHMS[("optuna", n)].multi_objective]
        raise ValueError(f"search.algorithm: {entry.name} optimizes one objective; with several use {', '.join(allowed)}")
    if "pruner" in search.model_fields_set and search.pruner != "none":
        raise ValueError(f"search.pruner: Optuna cannot prune a study of several objectives; remove search.pruner "
                         f"(or set none), got {search.pruner}")
    return True


def bounds_of(metric: str, constraints: dict[str, Any]) -> list[Bound]:
    """``constraints:`` as ``Bound``s, for a study whose metric is ``metric`` (as written: maybe ``auto``).

    Raises:
        ValueError: ``constraints.NAME: why``: a bound that cannot be read, or on something the study does not measure.
    """
    from tunecli.errors import shorten

    out = []
    for name, text in constraints.items():
        where = f"constraints.{shorten(str(name), 30)}"
        if metric == "auto" and name in METRICS:
            raise ValueError(f"{where}: name the metric in `objective:` (objective: {name}) to bound it")
        try:
            out.append(parse_bound(name, text, (metric,)))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return out


def _allowed() -> str:
    return f"{' | '.join(METRICS)}, or a list of one of them then costs ({', '.join(COSTS)})"


def parse_bound(name: str, text: Any, metrics: tuple[str, ...]) -> Bound:
    """``"<= 50000"``, ``"<= 2ms"``, ``">= 0.95"`` for ``name`` -> a ``Bound`` in the stored unit.

    Args:
        name: what is bounded: a cost, or one of ``metrics`` (those the study measures).
        text: the bound as the file gives it.
        metrics: the validation metrics the study measures (a bound on another one is refused).

    Raises:
        ValueError: an unknown or unmeasured name, or a bound that is not ``<=``/``>=`` a number with a unit.
    """
    from tunecli.errors import show

    if name not in COSTS and name not in metrics:
        measured = ", ".join([*COSTS, *(m for m in metrics if m != "auto")])
        why = "is not measured by this study" if name in METRICS else "is unknown"
        raise ValueError(f"{show(name)} {why}; a constraint bounds one of {measured}")
    units = UNITS.get(name, {"": 1})
    match = re.fullmatch(r"\s*(<=|>=)\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-zµ]*)\s*", str(text), re.IGNORECASE)
    unit = match.group(3).lower() if match else ""
    if not match or unit not in units or not isinstance(text, str):
        shown = ", ".join(u for u in units if u) or "none"
        raise ValueError(f"a bound is '<= NUMBER' or '>= NUMBER' (units: {shown}), e.g. {_example(name)}; "
                         f"got {show(text)}")
    return Bound(name, match.group(1), float(match.group(2)) * units[unit])


def _example(name: str) -> str:
    return {"params": "'<= 50000'", "latency": "'<= 2ms'", "size": "'<= 200kB'"}.get(name, "'>= 0.9'")


def resolve_objective(name: str | list[str], task: str, source: str | None = None) -> Objective:
    """``auto`` -> val_accuracy (classification) or val_rmse (regression); accuracy maximizes, the rest minimize.
    A list: its first name is the metric (resolved the same way), the rest are costs."""
    names = name if isinstance(name, list) else [name]
    metric = names[0]
    if metric == "auto":
        metric = "val_accuracy" if task == "classification" else "val_rmse"
    if metric == "val_accuracy" and task != "classification":
        from tunecli.errors import SpaceError

        raise SpaceError("val_accuracy needs a classification task; use val_rmse, val_mae or val_loss",
                         source=source, field="objective")
    if metric in ("val_rmse", "val_mae") and task != "regression":
        from tunecli.errors import SpaceError

        raise SpaceError(f"{metric} needs a regression task; use val_accuracy or val_loss", source=source,
                         field="objective")
    return Objective(metric, "maximize" if metric.endswith("accuracy") else "minimize", tuple(names[1:]))
