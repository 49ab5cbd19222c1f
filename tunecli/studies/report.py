"""``build_report``: a study as data — summary, ranked trials, importances, diagnostics; export.

Never imports Keras or TensorFlow.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import yaml

from tunecli.errors import StorageError
from tunecli.studies import attrs
from tunecli.studies.pareto import front_summary, pick
from tunecli.studies.results import best_row, fixed_space, objectives_of, public_trial, ranked, trial_rows, varying_columns
from tunecli.studies.uncertainty import standard_error, tied
from tunecli.studies.urls import describe

IMPORTANCE_TRIALS = 100


@dataclass
class StudyReport:
    study: str
    storage: str
    direction: str
    objective: str
    attrs: dict[str, Any]  # the study's user attributes (``studies.attrs``)
    rows: list[dict[str, Any]]
    importances: dict[str, float] = field(default_factory=dict)
    importance_note: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            state = "DISCARDED" if row.get("discarded") else row["state"]
            out[state] = out.get(state, 0) + 1
        return out

    @property
    def max_epochs(self) -> int | None:
        """The search's epoch budget per trial, as stored with the study."""
        return attrs.read(self.attrs, attrs.MAX_EPOCHS)

    @property
    def best(self) -> dict[str, Any] | None:
        return best_row(self.rows, self.direction)

    def varying(self) -> list[str]:
        return varying_columns([r for r in self.rows if r["state"] in ("COMPLETE", "PRUNED")] or self.rows)

    def fixed(self) -> dict[str, Any]:
        varying = set(self.varying())
        best = self.best or (self.rows[0] if self.rows else None)
        return {k: v for k, v in (best["params"] if best else {}).items() if k not in varying}

    def epochs_summary(self) -> dict[str, Any]:
        max_epochs = self.max_epochs
        run = sum(r["epochs"] or 0 for r in self.rows)
        cap = len(self.rows) * max_epochs if max_epochs else None
        return {"epochs_run": run, "epochs_cap": cap, "saved_fraction": (1 - run / cap) if cap else None}

    def standard_error(self, row: dict[str, Any]) -> float | None:
        """The standard error of a trial's score: of the mean of its runs when re-ranked, else of one score on
        the validation rows (see ``studies.uncertainty``)."""
        runs = [v for v in row.get("repeats") or [] if v is not None]
        if len(runs) >= 2:
            return statistics.stdev(runs) / math.sqrt(len(runs))
        return standard_error(self.objective, row["value"], attrs.read(self.attrs, attrs.VAL_ROWS))

    def tied_with_best(self) -> list[int]:
        """Numbers of the completed trials within noise of the best one (the best included)."""
        best = self.best
        if best is None:
            return []
        se_best = self.standard_error(best)
        return [r["number"] for r in self.rows if r["state"] == "COMPLETE" and r["value"] is not None
                and tied(best["value"], r["value"], se_best)]

    def summary(self) -> dict[str, Any]:
        seconds = [r["seconds"] for r in self.rows if r["seconds"]]
        best = self.best
        return {
            "study": self.study, "storage": self.storage, "objective": self.objective, "direction": self.direction,
            "engine": attrs.read(self.attrs, attrs.ENGINE, "optuna"), "algorithm": attrs.read(self.attrs, attrs.ALGORITHM),
            "pruner": attrs.read(self.attrs, attrs.PRUNER), "counts": self.counts,
            "best_value": best["value"] if best else None, "best_trial": best["number"] if best else None,
            "best_standard_error": self.standard_error(best) if best else None,
            "best_runs": len(best.get("repeats") or [1]) if best else None,
            "validation_rows": attrs.read(self.attrs, attrs.VAL_ROWS), "tied_with_best": self.tied_with_best(),
            "total_seconds": round(sum(seconds), 2),
            "median_seconds": round(statistics.median(seconds), 2) if seconds else None,
            **self.epochs_summary(), "fixed": self.fixed(),
        }

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape: study, direction, best, trials (+ summary, importances)."""
        max_epochs = self.max_epochs
        trials = [public_trial(r, max_epochs) for r in ranked(self.rows, self.direction)]
        return {"study": self.study, "direction": self.direction, "objective": self.objective,
                "best": public_trial(self.best, max_epochs) if self.best else None, "trials": trials,
                "summary": self.summary(), "importances": self.importances,
                **front_summary(self.rows, *objectives_of(self.attrs, self.direction))}

    def pick(self, rule: str) -> dict[str, Any]:
        """The trial ``rule`` chooses (``--pick``: a number, best, knee or bounds; ``studies.pareto.pick``)."""
        names, directions = objectives_of(self.attrs, self.direction)
        return pick(self.rows, rule, names, directions, study=self.study)

    def export_space(self, row: dict[str, Any] | None = None) -> dict[str, Any]:
        """The best configuration (or ``row``'s, chosen by ``--pick``) as a space file with every value fixed."""
        row = row or self.best
        if row is None:
            raise StorageError("the study has no completed trial to export", source=self.storage, field=self.study)
        raw = attrs.read(self.attrs, attrs.SPACE_FILE, {})
        return fixed_space(raw, row, self.study, self.objective)


def build_report(study: Any, storage_url: str | None, *, importances: bool = True) -> StudyReport:
    rows = trial_rows(study)
    if not rows:
        raise StorageError(f"study {study.study_name!r} has no trials yet", source=describe(storage_url))
    stored = dict(study.user_attrs)
    direction = study.directions[0].name.lower()  # a study of several objectives: its first (the metric)
    report = StudyReport(study.study_name, describe(storage_url), direction,
                         attrs.read(stored, attrs.OBJECTIVE, "value"), stored, rows)
    if importances:
        report.importances, report.importance_note = param_importances(study)
    return report


def importance_sample(study: Any) -> tuple[Any, str | None]:
    """The study importances are computed on: the latest ``IMPORTANCE_TRIALS`` completed trials at most."""
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) <= IMPORTANCE_TRIALS:  # fANOVA's cost grows with the trials: use the latest ones
        return study, None
    sample = optuna.create_study(directions=study.directions)
    sample.add_trials(complete[-IMPORTANCE_TRIALS:])
    return sample, f"importances from the {IMPORTANCE_TRIALS} latest completed trials of {len(complete)}"


def param_importances(study: Any) -> tuple[dict[str, float], str | None]:
    """fANOVA importance of each parameter, most important first (and a note), or none (and why)."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 4:
        return {}, f"importances need at least 4 completed trials ({len(complete)} so far)"
    sample, note = importance_sample(study)
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    try:
        values = optuna.importance.get_param_importances(sample, evaluator=evaluator, target=first_objective(study))
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:
        return {}, f"importances not available: {exc}"
    return {k: round(float(v), 4) for k, v in values.items()}, note


def first_objective(study: Any) -> Any:
    """The target of Optuna's importances and plots in a study of several objectives: the first (None: one)."""
    return (lambda t: t.values[0]) if len(study.directions) > 1 else None


def dumps(report: StudyReport, fmt: str) -> str:
    """The report as json, yaml or csv text (every trial with its curve)."""
    data = report.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2, default=str)
    if fmt == "yaml":
        return yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False)
    params = sorted({k for r in report.rows for k in r["params"]})
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["number", "state", "value", "epochs", "seconds", "reason", "flags", *params, "curve"])
    for t in data["trials"]:
        writer.writerow([t["number"], t["state"], t["value"], t["epochs"], t["seconds"], t["reason"] or "",
                         " ".join(t["flags"]), *[_cell(t["params"].get(p)) for p in params], json.dumps(t["curve"])])
    return buf.getvalue()


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else ("" if value is None else value)
