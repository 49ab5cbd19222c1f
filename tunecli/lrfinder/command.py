"""``find_lr``: the core of ``tunecli lr-find`` — pick the configuration, run the test, write a space."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from tunecli.config.catalogue import DEFAULTS
from tunecli.config.params import (
    ChoiceParam,
    FixedParam,
    FloatParam,
    IntParam,
    LrFinderParam,
    ParamSpec,
    check_param_values,
    walk,
)
from tunecli.errors import SpaceError
from tunecli.prepare import prepare
from tunecli.studies.results import best_row, trial_rows
from tunecli.studies.storage import load_study

if TYPE_CHECKING:
    from tunecli.config.space import SearchSpace
    from tunecli.lrfinder.rules import LRFindResult


@dataclass
class LRFindOutcome:
    result: LRFindResult
    config: dict[str, Any]
    config_source: str
    dataset: str


def default_config(space: SearchSpace) -> dict[str, Any]:
    """One configuration from the space: fixed values, first choices, catalogue defaults inside ranges."""
    def choose(name: str, spec: ParamSpec) -> Any:
        return spec.choices[0] if isinstance(spec, ChoiceParam) else _inside(spec, DEFAULTS.get(name))

    config = walk(space, choose)
    return {k: v for k, v in config.items() if k != "lr_multiplier" and not isinstance(v, LrFinderParam)}


def _inside(spec: IntParam | FloatParam, default: Any) -> Any:
    if isinstance(default, (int, float)) and not isinstance(default, bool) and spec.low <= default <= spec.high:
        return default
    mid = math.sqrt(spec.low * spec.high) if spec.log else (spec.low + spec.high) / 2
    return int(round(mid)) if isinstance(spec, IntParam) else mid


def parse_params(items: list[str], source: str = "--params") -> dict[str, Any]:
    """``["n_hidden=3", "activation=elu"]`` -> values, checked against the catalogue."""
    out = {}
    for item in items:
        if "=" not in item:
            raise SpaceError(f"expected key=value, got {item!r}", field=source)
        key, text = item.split("=", 1)
        try:
            value = yaml.safe_load(text)
            check_param_values(key.strip(), FixedParam(value=value))
        except (ValueError, yaml.YAMLError) as exc:
            raise SpaceError(str(exc), field=f"{source} {key.strip()}") from None
        out[key.strip()] = value
    return out


def best_config_of(study_name: str, storage_url: str | None) -> dict[str, Any]:
    """The best trial's configuration of a study, its learning rate left out (the range test picks one)."""
    study = load_study(study_name, storage_url)
    best = best_row(trial_rows(study), study.directions[0].name.lower())
    if best is None:
        raise SpaceError(f"study {study_name!r} has no completed trial yet", field="--from-study")
    return {k: v for k, v in best["params"].items() if k != "learning_rate"}


def find_lr(space: SearchSpace, *, params: dict[str, Any], from_study: str | None, storage_url: str | None,
            min_lr: float, max_lr: float, steps: int, rule: str, seed: int | None = 0) -> LRFindOutcome:
    """Run the LR range test for one configuration of the space."""
    if not 0 < min_lr < max_lr:
        raise SpaceError(f"need 0 < --min-lr < --max-lr, got {min_lr} and {max_lr}", field="--min-lr")
    config = default_config(space)
    source = "the space's fixed values, first choices and defaults"
    if from_study:
        config, source = best_config_of(from_study, storage_url), f"the best trial of study {from_study}"
    if params:
        config.update(params)
        source += " with --params " + ", ".join(f"{k}={v}" for k, v in params.items())
    dataset = prepare(space, attrs=_study_attrs(from_study, storage_url)).dataset
    from tunecli.lrfinder.range_test import run_range_test  # imports Keras: after the backend is picked

    result = run_range_test(config, dataset, min_lr=min_lr, max_lr=max_lr, steps=steps, rule=rule, seed=seed)
    return LRFindOutcome(result, config, source, dataset.describe())


def _study_attrs(name: str | None, storage_url: str | None) -> dict[str, Any] | None:
    """The attributes of study ``name`` (its stored encoder, with ``pretrain:``); None without one."""
    if not name:
        return None
    return load_study(name, storage_url).user_attrs


def space_with_lr_range(raw: dict[str, Any], bounds: tuple[float, float]) -> dict[str, Any]:
    """A copy of the space file whose learning_rate is a log-uniform range."""
    out = copy.deepcopy(raw)
    out["study"] = f"{raw.get('study', 'tunecli-study')}-lr"  # a new study: the space changed
    out.setdefault("space", {})
    low, high = (float(f"{b:.3g}") for b in bounds)
    out["space"]["learning_rate"] = {"float": [low, high], "log": True}
    return out
