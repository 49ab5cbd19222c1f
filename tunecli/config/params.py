"""One tunable parameter of the search space: int / float ranges, choices, fixed values.

The YAML forms::

    n_hidden:      {int: [1, 4]}
    n_neurons:     {int: [16, 256], log: true}
    learning_rate: {float: [1.0e-4, 1.0e-1], log: true}
    activation:    {choice: [relu, elu]}
    momentum:      {float: [0.8, 0.99], when: {optimizer: [momentum, nesterov]}}
    dropout:       0.2                      # a bare value is fixed
    learning_rate: {lr_finder: {rule: valley}}
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, Protocol, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tunecli.config import catalogue
from tunecli.errors import show

KINDS = ("int", "float", "choice", "value", "lr_finder")

Scalar = Union[bool, int, float, str, None]

#: The keys each kind of parameter takes in the YAML (for "unknown key; allowed here: ...").
PARAM_KEYS: dict[str, tuple[str, ...]] = {
    "IntParam": ("int", "log", "step", "when"),
    "FloatParam": ("float", "log", "step", "when"),
    "ChoiceParam": ("choice", "when"),
    "FixedParam": ("value", "when"),
    "LrFinderParam": ("rule", "steps", "min_lr", "max_lr", "multiplier", "when"),
}


class _Param(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    when: dict[str, list[Scalar]] | None = None

    @field_validator("when", mode="before")
    @classmethod
    def _listify_when(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            if value is None:
                return value
            raise ValueError(f"`when` maps parameter names to their values, e.g. {{optimizer: [momentum]}}; got {show(value)}")
        out = {}
        for key, values in value.items():
            values = values if isinstance(values, list) else [values]
            for item in values:
                if not isinstance(item, (bool, int, float, str)) and item is not None:
                    raise ValueError(f"`when` values are plain values (text, numbers, true/false), got {show(item)} "
                                     f"for {show(key)}")
            out[key] = values
        return out

    @property
    def fixed(self) -> bool:
        return False


class IntParam(_Param):
    kind: str = "int"
    low: int
    high: int
    log: bool = False
    step: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _check(self) -> IntParam:
        _check_range(self.low, self.high, self.log)
        if self.log and self.step != 1:
            raise ValueError("`step` cannot be used with `log: true`")
        return self

    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))


class FloatParam(_Param):
    kind: str = "float"
    low: float
    high: float
    log: bool = False
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> FloatParam:
        _check_range(self.low, self.high, self.log)
        if self.log and self.step is not None:
            raise ValueError("`step` cannot be used with `log: true`")
        return self

    def values(self) -> list[float]:
        if self.step is None:
            raise ValueError("a float range needs `step` to be enumerated (grid search)")
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]


class ChoiceParam(_Param):
    kind: str = "choice"
    choices: list[Any] = Field(min_length=1)

    def values(self) -> list[Any]:
        return list(self.choices)


class FixedParam(_Param):
    kind: str = "value"
    value: Any

    @property
    def fixed(self) -> bool:
        return True

    def values(self) -> list[Any]:
        return [self.value]


class LrFinderParam(_Param):
    """``learning_rate: {lr_finder: {rule: valley, steps: 100, multiplier: {float: [0.3, 3], log: true}}}``."""

    kind: str = "lr_finder"
    rule: str = "valley"
    steps: int = Field(300, ge=5, le=10_000)
    min_lr: float = Field(1e-7, gt=0)
    max_lr: float = Field(10.0, gt=0)
    multiplier: IntParam | FloatParam | ChoiceParam | FixedParam = FixedParam(value=1.0)

    @field_validator("rule")
    @classmethod
    def _rule(cls, value: str) -> str:
        if value not in catalogue.LR_RULES:
            raise ValueError(f"unknown rule {show(value)}{did_you_mean(value, catalogue.LR_RULES)}; "
                             f"allowed: {', '.join(catalogue.LR_RULES)}")
        return value

    @field_validator("multiplier", mode="before")
    @classmethod
    def _multiplier(cls, value: Any) -> Any:
        try:
            return parse_param(value)
        except ValidationError as exc:  # one line, not pydantic's multi-line report
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(part)[:40] for part in err["loc"])
            raise ValueError(f"multiplier{'.' + where if where else ''}: {err['msg'].removeprefix('Value error, ')}") from None

    @model_validator(mode="after")
    def _bounds(self) -> LrFinderParam:
        if self.min_lr >= self.max_lr:
            raise ValueError(f"`min_lr < max_lr` must hold, but got min_lr={self.min_lr:g}, max_lr={self.max_lr:g}")
        return self

    @property
    def fixed(self) -> bool:
        return True

    def values(self) -> list[Any]:
        raise ValueError("an lr_finder learning rate cannot be enumerated (grid search)")


ParamSpec = Union[IntParam, FloatParam, ChoiceParam, FixedParam, LrFinderParam]


def one_value(spec: ParamSpec) -> bool:
    """Whether ``spec`` takes a single value (a bare value, one choice, a range of one point, an ``lr_finder``
    rule whose multiplier is fixed)."""
    if isinstance(spec, LrFinderParam):
        return one_value(spec.multiplier)
    if isinstance(spec, ChoiceParam):
        return len(spec.choices) == 1
    if isinstance(spec, (IntParam, FloatParam)):
        return spec.low == spec.high
    return True


def _check_range(low: float, high: float, log: bool) -> None:
    if low > high:
        raise ValueError(f"`low <= high` must hold, but got low={low}, high={high}")
    if log and low <= 0:
        raise ValueError(f"a log range needs `low > 0`, but got low={low}")


def parse_param(raw: Any) -> ParamSpec:
    """Turn one YAML value into a parameter spec (raises ValueError / pydantic errors)."""
    if not isinstance(raw, dict):
        return FixedParam(value=raw)
    kinds = [k for k in KINDS if k in raw]
    if len(kinds) != 1:
        found = show(", ".join(map(str, raw)), 80) if raw else "nothing"
        raise ValueError(f"expected exactly one of {', '.join(KINDS)} (a bare value is fixed); found: {found}")
    kind = kinds[0]
    rest = {k: v for k, v in raw.items() if k != kind}
    body = raw[kind]
    if kind in ("int", "float"):
        if not (isinstance(body, list) and len(body) == 2):
            raise ValueError(f"`{kind}` takes a list [low, high], got {show(body)}")
        cls = IntParam if kind == "int" else FloatParam
        return cls(low=body[0], high=body[1], **rest)
    if kind == "choice":
        if not isinstance(body, list):
            raise ValueError(f"`choice` takes a list of values, got {show(body)}")
        return ChoiceParam(choices=body, **rest)
    if kind == "value":
        return FixedParam(value=body, **rest)
    if body is not None and not isinstance(body, dict):
        raise ValueError(f"`lr_finder` takes a mapping such as {{rule: valley}}, got {show(body)}")
    return LrFinderParam(**(body or {}), **rest)


def check_param_values(name: str, spec: ParamSpec) -> None:
    """Check the values a parameter can take against the catalogue (names, bounds)."""
    if name not in catalogue.DEFAULTS:
        raise ValueError(f"unknown parameter {show(name, 24)}{did_you_mean(name, catalogue.DEFAULTS)}; "
                         f"allowed: {whole_names(sorted(catalogue.DEFAULTS), ALL_PARAMETERS)}")
    if isinstance(spec, LrFinderParam):
        if name != "learning_rate":
            raise ValueError("`lr_finder` can only set `learning_rate`")
        return
    candidates = [spec.low, spec.high] if isinstance(spec, (IntParam, FloatParam)) else spec.values()
    for value in candidates:
        _check_value(name, value)


#: Where a user sees every parameter (a message that lists them stops short of the end).
ALL_PARAMETERS = "every one in README.md, section Parameters"


def whole_names(names: list[str], where: str, limit: int = 200) -> str:
    """``names`` joined with commas, cut at a whole name within ``limit`` characters: ``a, b, +12 more (where)``."""
    shown: list[str] = []
    for name in names:
        if len(", ".join([*shown, name])) > limit:
            return f"{', '.join(shown)}, +{len(names) - len(shown)} more ({where})"
        shown.append(name)
    return ", ".join(shown)


def did_you_mean(word: Any, options: Any) -> str:
    """`` (did you mean 'x'?)`` for a close spelling, else an empty string."""
    import difflib

    if len(str(word)) > 100:  # nothing that long is a misspelling of a name (and difflib would be slow)
        return ""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_value(name: str, value: Any) -> None:
    if name in catalogue.ALLOWED:
        allowed = catalogue.ALLOWED[name]
        if name == "batch_norm" and isinstance(value, bool):
            return
        if value not in allowed:
            raise ValueError(f"unknown {name} {show(value)}{did_you_mean(value, allowed)}; allowed: {', '.join(allowed)}")
    elif name in catalogue.POSITIVE_INTS or name in catalogue.COUNTS:
        _check_whole_numbers(name, value)
    elif name in catalogue.POSITIVE_NUMBERS:
        if not _is_number(value) or value <= 0:
            raise ValueError(f"{name} must be a number > 0, got {show(value)}")
    elif name in catalogue.FRACTIONS:
        if not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"{name} must be a number in [0, 1), got {show(value)}")
    elif name == "learning_rate":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 100:
            raise ValueError(f"learning_rate must be a number in (0, 100], got {show(value)}")
    elif name == "cycle_momentum":
        _check_cycle_momentum(value)
    else:
        _check_type(name, value, catalogue.DEFAULTS[name])


def _check_whole_numbers(name: str, value: Any) -> None:
    """Whole numbers within bounds: ``n_neurons`` may be a list of them, ``reuse_layers`` null (all the base's)."""
    if name == "reuse_layers" and value is None:
        return
    items = value if (name == "n_neurons" and isinstance(value, list)) else [value]
    low, high = (1, catalogue.POSITIVE_INTS[name]) if name in catalogue.POSITIVE_INTS else (0, catalogue.COUNTS[name])
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
            raise ValueError(f"{name} must be a whole number from {low} to {high}, got {show(item)}")


def _check_cycle_momentum(value: Any) -> None:
    """``[low, high]`` with 0 <= low <= high < 1, or false / null (off)."""
    if value is None or value is False:
        return
    if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
        raise ValueError(f"cycle_momentum must be a list [low, high] such as [0.85, 0.95], or false; got {show(value)}")
    low, high = value
    if not 0 <= low <= high < 1:
        raise ValueError(f"cycle_momentum [low, high] needs 0 <= low <= high < 1, got {show(value)}")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _check_type(name: str, value: Any, default: Any) -> None:
    """A parameter without a list of names or bounds still takes the kind of value its default is."""
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, list):
        ok, kind = isinstance(value, list) and all(_is_number(v) for v in value), "a list of numbers"
    elif default is None:
        ok, kind = value is None or _is_number(value), "a number or null"
    else:
        ok, kind = _is_number(value), "a number"
    if not ok:
        raise ValueError(f"{name} must be {kind}, got {show(value)}")


# ------------------------------------------------------------------ walking a space (both engines, lr-find)

def condition_holds(spec: ParamSpec, params: dict[str, Any]) -> bool:
    """True when every ``when`` parent has one of the listed values (absent parents fail)."""
    return all(parent in params and params[parent] in values for parent, values in (spec.when or {}).items())


class Walkable(Protocol):
    """What ``walk`` needs of a space (``tunecli.config.space.SearchSpace`` has it)."""

    space: dict[str, Any]

    def order(self) -> list[str]: ...


def walk(space: Walkable, choose: Callable[[str, ParamSpec], Any]) -> dict[str, Any]:
    """The one walk over a space: each parameter whose condition holds, parents first.

    Fixed values pass through; an ``lr_finder`` learning rate is kept as its spec (the trial runs
    the range test) and its multiplier, when tuned, is chosen as ``lr_multiplier``; every other
    parameter's value is ``choose(name, spec)`` (an Optuna suggestion, a Keras Tuner ``hp`` value,
    a default).
    """
    params: dict[str, Any] = {}
    for name in space.order():
        spec = space.space[name]
        if not condition_holds(spec, params):
            continue
        if isinstance(spec, FixedParam):
            params[name] = spec.value
        elif isinstance(spec, LrFinderParam):
            params[name] = spec
            if not isinstance(spec.multiplier, FixedParam):
                params["lr_multiplier"] = choose("lr_multiplier", spec.multiplier)
        else:
            params[name] = choose(name, spec)
    return params


def encode(value: Any) -> Any:
    """A choice as the engines store it: lists and mappings as JSON text, scalars (``None`` too) as they are."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def decode(value: Any, choices: list[Any]) -> Any:
    """The choice that ``value`` stands for (its JSON text or itself); ``value`` when none matches."""
    for choice in choices:
        if value == choice and type(value) is type(choice) or (isinstance(value, str) and value == json.dumps(choice)):
            return choice
    return value
