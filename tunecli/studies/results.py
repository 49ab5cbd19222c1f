"""Trials of a study as plain rows, ranking, and the best configuration as a space file.

Shared by ``search`` (final table) and ``report``; imports Optuna only, never Keras. A row is the report's own
format (its keys are those of ``PUBLIC_KEYS`` and a few more); ``trial_rows`` reads the stored attributes into
it through ``studies.attrs``.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tunecli.errors import TuneCliError, os_reason
from tunecli.studies import attrs
from tunecli.studies.diagnostics import diagnose

if TYPE_CHECKING:
    import optuna

STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "FAIL": 2, "RUNNING": 3, "WAITING": 4}


def first_value(trial: optuna.trial.FrozenTrial) -> float | None:
    """A trial's score: its first objective's value (``trial.value`` refuses a trial of several objectives)."""
    return trial.values[0] if trial.values else None


def repeats_of(study_attrs: dict[str, Any], trial: optuna.trial.FrozenTrial) -> list[float | None]:
    """A trial's runs, its own first (just its own before it is re-ranked)."""
    return list(attrs.read(study_attrs, attrs.repeats_key(trial.number)) or [first_value(trial)])


def trained_config(config: dict[str, Any], lr_used: float | None) -> dict[str, Any]:
    """The configuration a trial trained, every value fixed: an LR found by the range test replaces the
    ``lr_finder`` learning rate (and its multiplier)."""
    out = {k: v for k, v in config.items() if k != "lr_multiplier"}
    if lr_used:
        out["learning_rate"] = float(lr_used)
    return out


def mean(runs: list[float | None]) -> float:
    """The mean of the finite runs (NaN when there is none)."""
    finite = [v for v in runs if v is not None and math.isfinite(v)]
    return statistics.fmean(finite) if finite else math.nan


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """Every trial as a dict: number, state, value, params, epochs, seconds, reason, curve.

    A re-ranked trial's ``value`` is the mean of its runs, listed in ``repeats`` (its own run first).
    """
    study_attrs = study.user_attrs
    return [_row(t, study_attrs) for t in study.get_trials(deepcopy=False)]


def _row(t: optuna.trial.FrozenTrial, study_attrs: dict[str, Any]) -> dict[str, Any]:
    """One trial's row, read from its stored attributes (and the study's, for its re-ranked runs)."""
    stored, complete = t.user_attrs, t.state.name == "COMPLETE"
    value = first_value(t) if complete else attrs.read(stored, attrs.BEST_VALUE)
    search_value = value
    repeats = attrs.read(study_attrs, attrs.repeats_key(t.number)) if complete else None
    if repeats:
        value = mean(repeats)
    discarded = attrs.read(stored, attrs.DISCARDED)
    return {
        "repeats": repeats,
        "number": t.number, "state": t.state.name, "value": value,
        "params": attrs.read(stored, attrs.CONFIG, dict(t.params)), "epochs": _epochs(t, stored),
        "seconds": attrs.read(stored, attrs.SECONDS, t.duration.total_seconds() if t.duration else 0.0),
        "reason": attrs.read(stored, attrs.FAIL_REASON) or discarded, "curve": attrs.read(stored, attrs.CURVE, {}),
        "best_epoch": attrs.read(stored, attrs.BEST_EPOCH), "fit_seconds": attrs.read(stored, attrs.FIT_SECONDS),
        "lr_used": attrs.read(stored, attrs.LR_USED), "lr_curve": attrs.read(stored, attrs.LR_CURVE),
        "discarded": discarded, "trainer": attrs.read(stored, attrs.TRAINER),
        "search_value": search_value, "costs": {name: attrs.cost(stored, name) for name in attrs.COST_KEYS},
        "latency_iqr": attrs.read(stored, attrs.LATENCY_IQR_MS), "violated": attrs.read(stored, attrs.VIOLATED),
    }


def _epochs(t: optuna.trial.FrozenTrial, stored: dict[str, Any]) -> int | None:
    """The epochs a trial ran; a running one's so far (the epochs it reported)."""
    epochs = attrs.read(stored, attrs.EPOCHS)
    if epochs is None and t.state.name == "RUNNING" and t.intermediate_values:
        return int(max(t.intermediate_values))
    return epochs


def objectives_of(stored: dict[str, Any], direction: str) -> tuple[list[str], list[str]]:
    """A study's objectives (the metric first) and their directions, from its attributes and its first direction."""
    names = attrs.objectives(stored)
    return names, [direction] + ["minimize"] * (len(names) - 1)


def ranked(rows: list[dict[str, Any]], direction: str) -> list[dict[str, Any]]:
    """Complete trials best first (those that broke a constraint after those that kept them all), then pruned (by
    their best value), then the rest."""
    sign = -1 if direction == "maximize" else 1

    def key(row: dict[str, Any]) -> tuple[int, bool, float, int]:
        value = row["value"]
        return (STATE_ORDER.get(row["state"], 9), bool(row.get("violated")),
                sign * value if value is not None else float("inf"), row["number"])

    return sorted(rows, key=key)


def varying_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Parameter names that take more than one value (or are missing somewhere) across the rows."""
    names: list[str] = []
    for row in rows:
        names.extend(k for k in row["params"] if k not in names)
    out = []
    for name in names:
        values = {repr(r["params"].get(name, "<absent>")) for r in rows}
        if len(values) > 1:
            out.append(name)
    return out


def best_row(rows: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """The best completed trial that broke no constraint, or None."""
    top = ranked(rows, direction)
    return top[0] if top and top[0]["state"] == "COMPLETE" and not top[0].get("violated") else None


#: The keys of a trial in every JSON output (``search --json``, ``report --format json``).
PUBLIC_KEYS = ("number", "state", "value", "repeats", "params", "epochs", "seconds", "reason", "lr_used", "trainer",
               "costs", "latency_iqr", "violated", "curve")


def public_trial(row: dict[str, Any], max_epochs: int | None) -> dict[str, Any]:
    """One trial in the one JSON shape: ``PUBLIC_KEYS`` and its diagnostic ``flags``."""
    return {**{k: row.get(k) for k in PUBLIC_KEYS}, "flags": diagnose(row, max_epochs)}


def fixed_space(raw: dict[str, Any], row: dict[str, Any], study: str, objective: str) -> dict[str, Any]:
    """A copy of the space file whose every parameter is fixed to the trial ``row``'s values.

    ``training.refit_epochs`` takes the trial's best epoch and ``origin`` says where it came from,
    so that ``tunecli train`` refits for the right number of epochs and shows the search's score.
    """
    out = copy.deepcopy(raw)
    out["study"] = f"{study}-best"
    out["space"] = {k: _plain(v) for k, v in trained_config(row["params"], row.get("lr_used")).items()}
    best_epoch = row.get("best_epoch") or row.get("epochs")
    if best_epoch:
        out.setdefault("training", {})["refit_epochs"] = int(best_epoch)
    drops = _lr_drops(row, objective, best_epoch)
    if drops:
        out.setdefault("training", {})["refit_lr_drops"] = drops
    out["origin"] = {"study": study, "trial": row["number"], "objective": objective, "value": row["value"]}
    costs = {k: v for k, v in (row.get("costs") or {}).items() if v is not None}
    if costs:  # what the trial's network cost in the search (``tunecli train`` measures its model beside them)
        out["origin"]["costs"] = costs
    if row.get("violated"):  # picked by number although it broke the study's constraints: the file says so
        out["origin"]["violated"] = list(row["violated"])
    return out


def _lr_drops(row: dict[str, Any], objective: str, epochs: int | None) -> list[int]:
    """``performance`` schedule: the epochs at whose end the search's reduce-on-plateau cut the LR (so that
    ``tunecli train`` replays them), up to the refit's last epoch."""
    params = row["params"]
    curve = (row.get("curve") or {}).get(objective) or []
    if params.get("schedule") != "performance" or not curve:
        return []
    from tunecli.config.catalogue import with_defaults
    from tunecli.config.objective import Objective
    from tunecli.trainers.fast.stopping import plateau_drops

    p = with_defaults(params)
    direction = "maximize" if objective.endswith("accuracy") else "minimize"
    drops = plateau_drops(curve, Objective(objective, direction), p["plateau_factor"], p["plateau_patience"])
    return [e for e in drops if epochs is None or e < epochs]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value


def write_yaml(path: str | Path, data: dict[str, Any], header: str | None = None) -> Path:
    """Write YAML (with an optional comment header); errors become a clear message.

    The text goes to a temporary file first, renamed over ``path`` once whole: a full disk never
    leaves a half-written file in place of the previous one.
    """
    path = Path(path)
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    if header:
        text = "".join(f"# {line}\n" for line in header.splitlines()) + text
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise TuneCliError(f"cannot write the file: {os_reason(exc)}", source=str(path)) from None
    return path

