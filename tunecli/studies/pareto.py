"""The Pareto front of a study, its knee, and choosing a trial by rule (``--pick``). Standard library only.

A row (``studies.results.trial_rows``) holds its trial's own score (``search_value``: the search's run) and the
costs it measured (``costs``: ``params``, ``latency``, ``size``). A study's objectives are its metric then its costs
(``attrs.objectives``), the metric maximized or minimized, every cost minimized.

- The front: the complete, feasible trials no other such trial dominates (as good in every objective, better in
  one), on the trials' own values (what Optuna's ``best_trials`` and ``plot_pareto_front`` use), best first by the
  first objective.
- The knee (``KNEE``): each objective scaled to [0, 1] over the front (0: the front's best, 1: its worst), the point
  farthest from the line through the two extremes — the same as the smallest sum of scaled objectives, which is
  also the rule with three objectives or more; a tie goes to the better first objective.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from tunecli.config.objective import COSTS, METRICS, parse_bound
from tunecli.errors import TuneCliError, show

#: The knee as a table's caption says it.
KNEE = ("◆ knee: farthest from the line through the front's two extremes, objectives scaled to [0, 1] over "
        "the front (3 or more: the smallest sum of scaled objectives).")

PICK_HELP = "a trial number, knee, best, or a rule such as 'params<=20000' or 'latency<=2ms,params<=50000'"


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """True when ``a`` is as good as ``b`` in every objective and better in one."""
    signs = [1.0 if d == "minimize" else -1.0 for d in directions]
    pairs = [(s * x, s * y) for s, x, y in zip(signs, a, b)]
    return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)


def non_dominated(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[bool]:
    """For each point, whether no other point dominates it."""
    return [not any(dominates(q, p, directions) for q in points if q is not p) for p in points]


def values_of(row: dict[str, Any], names: Sequence[str]) -> list[float] | None:
    """A row's own value of each objective (None when one is missing or not finite)."""
    costs = row.get("costs") or {}
    values = [row.get("search_value", row.get("value"))] + [costs.get(name) for name in names[1:]]
    if any(v is None or not math.isfinite(v) for v in values):
        return None
    return [float(v) for v in values]


def candidates(rows: list[dict[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """The complete, feasible rows with every objective measured."""
    return [r for r in rows if r["state"] == "COMPLETE" and not r.get("discarded") and not r.get("violated")
            and values_of(r, names) is not None]


def front(rows: list[dict[str, Any]], names: Sequence[str], directions: Sequence[str]) -> list[dict[str, Any]]:
    """The Pareto-optimal rows, best first by the first objective (then by trial number)."""
    pool = candidates(rows, names)
    points = [values_of(r, names) for r in pool]
    optimal = [r for r, keep in zip(pool, non_dominated(points, directions)) if keep]  # type: ignore[arg-type]
    sign = -1.0 if directions[0] == "maximize" else 1.0
    return sorted(optimal, key=lambda r: (sign * values_of(r, names)[0], r["number"]))  # type: ignore[index]


def scaled(rows: list[dict[str, Any]], names: Sequence[str], directions: Sequence[str]) -> list[list[float]]:
    """Each row's objectives scaled to [0, 1] over ``rows`` (0: their best value, 1: their worst)."""
    points = [values_of(r, names) or [] for r in rows]
    out: list[list[float]] = [[] for _ in rows]
    for j, direction in enumerate(directions):
        column = [p[j] for p in points]
        low, high = min(column), max(column)
        for i, v in enumerate(column):
            span = high - low
            share = 0.0 if span == 0 else (v - low) / span
            out[i].append(1.0 - share if direction == "maximize" and span else share)
    return out


def knee(optimal: list[dict[str, Any]], names: Sequence[str], directions: Sequence[str]) -> dict[str, Any] | None:
    """The knee of a front (``front``'s order breaks ties); None for an empty front (see the module's note)."""
    if not optimal:
        return None
    sums = [sum(p) for p in scaled(optimal, names, directions)]
    return optimal[min(range(len(optimal)), key=lambda i: (round(sums[i], 12), i))]


def front_summary(rows: list[dict[str, Any]], names: Sequence[str], directions: Sequence[str]) -> dict[str, Any]:
    """For ``--json``: a study of several objectives' front (trial numbers, best first by the first objective) and its
    knee; nothing for a study of one objective."""
    if len(names) < 2:
        return {}
    optimal = front(rows, names, directions)
    chosen = knee(optimal, names, directions)
    return {"objectives": list(names), "front": [r["number"] for r in optimal],
            "knee": None if chosen is None else chosen["number"]}


def pick(rows: list[dict[str, Any]], rule: str, names: Sequence[str], directions: Sequence[str], *,
         study: str = "") -> dict[str, Any]:
    """The trial ``rule`` chooses (``--pick``): a number (``12`` or ``#12``), ``best``, ``knee``, or bounds
    (``params<=20000``, several joined by commas: the best first objective among the trials that keep them all).

    Raises:
        TuneCliError: a rule that cannot be read, a knee of one objective, no trial that fits (exit code 2).
    """
    text = rule.strip()
    if re.fullmatch(r"#?\d+", text):
        return _numbered(rows, int(text.lstrip("#")))
    pool = candidates(rows, names)
    if text == "knee":
        if len(names) < 2:
            raise TuneCliError(f"knee needs a study of several objectives; study {study} optimizes {names[0]} only: "
                               "pick a trial number, best, or a rule such as 'params<=20000'", field="--pick")
        chosen = knee(front(rows, names, directions), names, directions)
    elif text == "best":
        chosen = _best(pool, directions[0])
    else:
        bounds = [_bound(part, names) for part in text.split(",")]
        kept = [r for r in pool if all(_keeps(r, b, names) for b in bounds)]
        chosen = _best(kept, directions[0])
        if chosen is None and pool:
            raise TuneCliError(f"no complete trial keeps {show(text, 60)}", field="--pick")
    if chosen is None:
        raise TuneCliError(f"study {study} has no complete, feasible trial to pick", field="--pick")
    return chosen


def broke_note(trial: Any, violated: Sequence[str]) -> str:
    """What to say of a trial picked by number although it broke the study's constraints (``violated``)."""
    return f"trial #{trial} broke the study's constraints ({', '.join(violated)}): never its best; picked as asked"


def _numbered(rows: list[dict[str, Any]], number: int) -> dict[str, Any]:
    for row in rows:
        if row["number"] == number:
            if row["state"] != "COMPLETE":
                raise TuneCliError(f"trial #{number} is {row['state'].lower()}, not complete", field="--pick")
            return row
    raise TuneCliError(f"no trial #{number}; the study's trials are #0 to #{len(rows) - 1}", field="--pick")


def _best(pool: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """The row of the best value (a re-ranked trial by its mean), the earlier trial on a tie."""
    sign = -1.0 if direction == "maximize" else 1.0
    scored = [r for r in pool if r.get("value") is not None and math.isfinite(r["value"])]
    return min(scored, key=lambda r: (sign * r["value"], r["number"]), default=None)


def _bound(part: str, names: Sequence[str]) -> Any:
    """One ``name<=value`` of a rule, as a ``config.objective.Bound``."""
    match = re.fullmatch(r"\s*([a-z_]+)\s*(<=|>=)\s*(.+?)\s*", part)
    if not match:
        raise TuneCliError(f"{PICK_HELP}; got {show(part)}", field="--pick")
    name = match.group(1)
    if name not in COSTS and name not in METRICS:
        raise TuneCliError(f"unknown objective {show(name)}; a rule bounds one of {', '.join([*COSTS, names[0]])}",
                           field="--pick")
    try:
        return parse_bound(name, f"{match.group(2)} {match.group(3)}", (names[0],))
    except ValueError as exc:
        raise TuneCliError(str(exc), field="--pick") from None


def _keeps(row: dict[str, Any], bound: Any, names: Sequence[str]) -> bool:
    """Whether a row's measurement keeps ``bound`` (a row that did not measure it does not)."""
    measured = row.get("value") if bound.name == names[0] else (row.get("costs") or {}).get(bound.name)
    return measured is not None and bound.violation(measured) <= 0
