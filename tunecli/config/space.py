"""The search-space file: Pydantic models of the YAML and ``load_space``.

Every error names the file, the dotted field and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from tunecli.config import params, registry
from tunecli.config.catalogue import ACTIVATIONS, POSITIVE_INTS, REUSE_PARAMS, parse_duration, parse_sep
from tunecli.config.objective import Bound, as_list, bounds_of, check_objective, check_search
from tunecli.config.params import PARAM_KEYS, FixedParam, LrFinderParam, ParamSpec, check_param_values, did_you_mean, parse_param
from tunecli.config.yaml_file import apply_overrides, blame_option, read_yaml
from tunecli.errors import SpaceError, one_line, shorten, show

MAX_ERRORS = 3
MAX_SEED = 2**32 - 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DataSpec(_Strict):
    source: str = "digits"
    target: str | None = None
    task: Literal["auto", "classification", "regression"] = "auto"
    validation: float = Field(0.2, gt=0, lt=1)
    test: float = Field(0.2, ge=0, lt=1)
    seed: int = Field(42, ge=0, le=MAX_SEED)
    target_scale: float = Field(1.0, gt=0)
    drop: list[str] = []   # columns to leave out (the command line's --drop adds to them)
    keep: list[str] = []   # columns to keep even where they look like an identifier or free text
    classes: list[int | float | str] | None = Field(None, min_length=2, max_length=10_000)  # keep only these targets
    train_rows: int | None = Field(None, ge=1, le=10**9)  # at most this many training rows (the rest: unlabeled)
    #: k-fold cross-validation over the training and validation rows (small tables): a trial's score is the mean
    #: over its k folds, which train together as members of one program on the fast trainer; None: one split
    cv: int | None = Field(None, ge=2, le=20)
    sep: str | None = None  # a CSV file's separator (or its word: comma, semicolon, tab, pipe); None: detected

    @field_validator("sep")
    @classmethod
    def _separator(cls, value: str | None) -> str | None:
        return None if value is None else parse_sep(value)

    @model_validator(mode="after")
    def _fractions(self) -> DataSpec:
        if self.validation + self.test >= 0.9:
            raise ValueError(f"validation + test must leave rows to train on, got {self.validation} + {self.test}")
        return self


class Transfer(_Strict):
    """``transfer: {from: PATH}``: trials start from the hidden layers of a saved Keras model."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)
    source: str = Field(alias="from", min_length=1, max_length=4096)


class Pretrain(_Strict):
    """``pretrain:``: trials start from the encoder of an autoencoder trained first (on unlabeled rows)."""

    kind: Literal["autoencoder"] = "autoencoder"
    layers: list[int] = Field([128, 64], min_length=1, max_length=POSITIVE_INTS["n_hidden"])  # encoder widths
    activation: str = "relu"
    epochs: int = Field(20, ge=1, le=100_000)
    unlabeled: str | None = Field(None, min_length=1, max_length=4096)  # None: the training rows | "rest" | a path

    @field_validator("layers")
    @classmethod
    def _widths(cls, value: list[int]) -> list[int]:
        bound = POSITIVE_INTS["n_neurons"]
        for width in value:
            if not 1 <= width <= bound:
                raise ValueError(f"encoder widths are whole numbers from 1 to {bound}")
        return value

    @field_validator("activation")
    @classmethod
    def _activation(cls, value: str) -> str:
        if value not in ACTIVATIONS:
            raise ValueError(f"unknown activation {show(value)}{did_you_mean(value, ACTIVATIONS)}; "
                             f"allowed: {', '.join(ACTIVATIONS)}")
        return value


class Rerank(_Strict):
    """Re-rank the top of the table: the best ``top`` configurations run ``seeds`` times in all."""

    top: int = Field(5, ge=0, le=1000)     # 0: off
    seeds: int = Field(3, ge=1, le=100)    # runs per configuration, the search's own run included


#: ``search.members`` at most (trials of one structure trained by one program).
MAX_MEMBERS = 64


class SearchSettings(_Strict):
    """``search:``; the engines, algorithms and pruners allowed are those of ``config.registry``."""

    engine: str = "optuna"
    algorithm: str | None = None  # None: the engine's default
    pruner: str = "median"
    trials: int = Field(20, ge=1, le=100_000)
    timeout: float | None = Field(None, gt=0)
    seed: int | None = Field(42, ge=0, le=MAX_SEED)
    workers: int = Field(1, ge=1, le=64)
    rerank: Rerank = Rerank()
    #: Trials of one structure trained together by one compiled program (the fast trainer): ``auto`` lets the
    #: cost model choose (more where compiling and per-step costs dominate, 1 where the compute does); 1: never.
    members: Literal["auto"] | int = "auto"

    @field_validator("members", mode="before")
    @classmethod
    def _members(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_MEMBERS):
            return value
        raise ValueError(f"'auto' or a number of trials from 1 to {MAX_MEMBERS}, got {show(value)}")

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("engine", mode="before")
    @classmethod
    def _engine(cls, value: Any) -> Any:
        return _one_of("engine", value, list(registry.ENGINES))

    @field_validator("pruner", mode="before")
    @classmethod
    def _pruner(cls, value: Any) -> Any:
        return _one_of("pruner", value, list(registry.PRUNERS))

    @field_validator("algorithm")
    @classmethod
    def _algorithm(cls, value: str | None, info: ValidationInfo) -> str | None:
        engine = info.data.get("engine", "optuna")
        allowed = registry.algorithms(engine)
        if value is not None and value not in allowed:
            raise ValueError(f"unknown algorithm {show(value)} for engine {engine}; allowed: {', '.join(allowed)}")
        return value

    @model_validator(mode="after")
    def _workers(self) -> SearchSettings:
        engine = registry.ENGINES[self.engine]
        if self.algorithm is None:
            self.algorithm = engine.default_algorithm
        if self.workers > 1 and not engine.workers:
            raise ValueError(f"workers > 1 needs engine {' or '.join(registry.with_workers())} (got {self.engine}); "
                             f"{engine.label or engine.name} runs one process")
        return self


def _one_of(kind: str, value: Any, allowed: list[str]) -> str:
    """``value`` if it names one of ``allowed``, else the error that lists them."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"unknown {kind} {show(value)}{did_you_mean(value, allowed)}; allowed: {', '.join(allowed)}")
    return value


class EarlyStopping(_Strict):
    enabled: bool = True
    patience: int = Field(4, ge=1, le=10_000)
    min_delta: float = Field(0.0, ge=0)
    restore_best_weights: bool = True


class Training(_Strict):
    max_epochs: int = Field(20, ge=1, le=100_000)
    early_stopping: EarlyStopping = EarlyStopping()
    backend: Literal["tensorflow", "jax", "torch"] | None = None
    trainer: Literal["auto", "keras"] = "auto"  # auto: the fast JAX trainer where it covers the configuration
    steps_per_execution: int | Literal["epoch"] = "epoch"
    refit_epochs: int | None = Field(None, ge=1, le=100_000)  # tunecli train: epochs on train + validation
    recycle_after: int = Field(25, ge=0, le=100_000)  # fresh worker process every N trials (0: never)
    mc_passes: int = Field(10, ge=1, le=1000)  # MC dropout: a score is the mean prediction of this many passes
    refit_lr_drops: list[int] = []  # tunecli train: epochs after which reduce-on-plateau cut the LR in the search


class SearchSpace(_Strict):
    """A validated search-space file."""

    study: str = Field("tunecli-study", min_length=1, max_length=200)
    data: DataSpec = DataSpec()
    objective: str | list[str] = "auto"  # a validation metric, or a list: the metric, then costs (params, latency, size)
    constraints: dict[str, Any] = {}     # bounds a trial must keep: {params: "<= 50000", latency: "<= 2ms"}
    search: SearchSettings = SearchSettings()
    training: Training = Training()
    space: dict[str, Any] = {}
    transfer: Transfer | None = None   # start from a saved model's hidden layers
    pretrain: Pretrain | None = None   # start from an autoencoder's encoder
    origin: dict[str, Any] | None = None  # where an exported configuration came from (study, trial, value)
    path: str | None = None
    raw: dict[str, Any] = {}

    @field_validator("study")
    @classmethod
    def _study(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", value):
            raise ValueError(f"study names use letters, digits, '-', '_' and '.', got {show(value)}")
        return value

    @field_validator("objective", mode="before")
    @classmethod
    def _objective(cls, value: Any) -> Any:
        return check_objective(value)

    @model_validator(mode="after")
    def _several_objectives(self) -> SearchSpace:
        if check_search(self.objectives(), bool(self.constraints), self.search):
            self.search.pruner = "none"   # Optuna cannot prune a study of several objectives
        self.bounds()   # a constraint it cannot read is named (``constraints.NAME: ...``)
        return self

    def objectives(self) -> list[str]:
        """The objectives as written: the metric (maybe ``auto``), then the costs."""
        return as_list(self.objective)

    def bounds(self) -> list[Bound]:
        """The constraints, each in the stored unit (``config.objective.Bound``)."""
        return bounds_of(self.objectives()[0], self.constraints)

    def fixed_values(self) -> dict[str, Any]:
        return {k: p.value for k, p in self.space.items() if isinstance(p, FixedParam) and p.when is None}

    def all_fixed(self) -> bool:
        """Every parameter takes one value (``params.one_value``): every trial would train the same configuration."""
        return all(params.one_value(p) for p in self.space.values())

    def order(self) -> list[str]:
        """Parameter names, each after those its ``when`` depends on."""
        done: list[str] = []
        pending = dict(self.space)
        while pending:
            ready = [n for n, p in pending.items() if all(d in done for d in (p.when or {}))]
            if not ready:  # a cycle: the caller reports it
                break
            done.extend(ready)
            for name in ready:
                pending.pop(name)
        return done

    def lr_finder(self) -> LrFinderParam | None:
        spec = self.space.get("learning_rate")
        return spec if isinstance(spec, LrFinderParam) else None


def load_space(path: str | Path, overrides: dict[str, Any] | None = None, *,
               options: Mapping[str, str] | None = None) -> SearchSpace:
    """Load, override and validate a search-space file.

    Args:
        path: the YAML file.
        overrides: dotted settings from the command line, e.g. ``{"search.trials": 3}``.
        options: the command-line option each override came from (``{"search.trials": "--trials"}``): a bad
            value given there is blamed on the option, not on the file.

    Returns:
        The validated ``SearchSpace``.

    Raises:
        SpaceError: with the file (or the option), the dotted field and what is allowed.
    """
    raw = apply_overrides(read_yaml(path), overrides or {})
    try:
        return validate_space(raw, source=str(path))
    except SpaceError as exc:
        raise blame_option(exc, overrides or {}, options or {}) from None


def validate_space(raw: dict[str, Any], *, source: str | None = None) -> SearchSpace:
    """Validate an already loaded mapping (see ``load_space``)."""
    body = {k: v for k, v in raw.items() if k not in ("space", "path", "raw")}
    if "path" in raw or "raw" in raw:
        raise SpaceError(f"unknown key; allowed: {', '.join(_allowed_keys('', 'SearchSpace'))}",
                         source=source, field="path" if "path" in raw else "raw")
    try:
        space = SearchSpace.model_validate({**body, "path": source, "raw": raw})
    except ValidationError as exc:
        raise SpaceError(_format_errors(exc), source=source) from None
    except RecursionError:
        raise SpaceError("the file is nested too deeply", source=source) from None
    space.space = _parse_space(raw.get("space", {}), source)
    _check_reuse(space, source)
    return space


def _check_reuse(space: SearchSpace, source: str | None) -> None:
    """``transfer`` and ``pretrain`` exclude each other; the reuse parameters need one of them."""
    if space.transfer is not None and space.pretrain is not None:
        raise SpaceError("cannot be used together with `transfer:`: trials start from a saved model or from an "
                         "autoencoder's encoder, not both; remove one of the two sections", source=source, field="pretrain")
    if space.transfer is None and space.pretrain is None:
        for name in REUSE_PARAMS:
            if name in space.space:
                raise SpaceError(f"{name} needs a `transfer:` (a saved model) or `pretrain:` (an autoencoder) section "
                                 "to reuse layers from; add one, or remove this parameter", source=source,
                                 field=f"space.{name}")


def _parse_space(raw: Any, source: str | None) -> dict[str, ParamSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpaceError(f"must be a mapping of parameter names to values or ranges, got {type(raw).__name__}",
                         source=source, field="space")
    specs: dict[str, ParamSpec] = {}
    for name, value in raw.items():
        field = f"space.{shorten(str(name), 30)}"
        try:
            spec = parse_param(value)
            check_param_values(str(name), spec)
        except ValidationError as exc:
            raise SpaceError(_format_errors(exc, prefix=field), source=source) from None
        except (ValueError, TypeError) as exc:
            raise SpaceError(one_line(str(exc)), source=source, field=field) from None
        specs[str(name)] = spec
    _check_conditions(specs, source)
    return specs


def _check_conditions(specs: dict[str, ParamSpec], source: str | None) -> None:
    for name, spec in specs.items():
        for parent, values in (spec.when or {}).items():
            field = f"space.{name}.when.{parent}"
            if parent not in specs:
                raise SpaceError(f"names unknown parameter {show(parent)}; parameters in this space: "
                                 f"{params.whole_names(list(specs), 'the file has them all')}", source=source, field=field)
            if parent == name:
                raise SpaceError("a parameter cannot depend on itself", source=source, field=field)
            possible = _possible_values(specs[parent])
            if possible is not None and not any(v in possible for v in values):
                raise SpaceError(f"{parent} never takes any of {show(values)}; it takes {show(possible, 120)}",
                                 source=source, field=field)
    ordered = SearchSpace(space=specs).order()
    if len(ordered) != len(specs):
        cycle = sorted(set(specs) - set(ordered))
        raise SpaceError(f"`when` conditions form a cycle among {', '.join(cycle)}", source=source, field="space")


def _possible_values(spec: ParamSpec) -> list[Any] | None:
    try:
        return spec.values() if not hasattr(spec, "low") else None
    except ValueError:
        return None


def _format_errors(exc: ValidationError, prefix: str = "") -> str:
    """Pydantic's errors as one line: the first few, each ``dotted.field: what is wrong (got value)``."""
    errors = exc.errors(include_url=False)
    parts = [_format_error(err, prefix, exc.title) for err in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        parts.append(f"and {len(errors) - MAX_ERRORS} more")
    return "; ".join(parts)


def _format_error(err: Any, prefix: str, title: str) -> str:
    loc = ".".join(shorten(str(part)) for part in err["loc"] if part not in ("function-after", "function-before"))
    loc = ".".join(p for p in (prefix, loc) if p)
    msg = one_line(err["msg"].removeprefix("Value error, "))
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        parent, _, key = loc.rpartition(".")
        allowed = _allowed_keys(parent.removeprefix(prefix).strip("."), title)
        msg = f"unknown key{did_you_mean(key, allowed)}; allowed here: {', '.join(allowed)}"
    elif err["type"] == "literal_error":
        msg = f"{msg}, got {show(value)}"
    elif "input" in err and not isinstance(value, dict) and show(value) not in msg:
        msg = f"{msg} (got {show(value)})"
    return f"{loc}: {msg}" if loc else msg


def _allowed_keys(parent: str, title: str) -> list[str]:
    """The keys allowed in the mapping at ``parent`` of the model named ``title``."""
    if title in PARAM_KEYS:
        return list(PARAM_KEYS[title]) if not parent else []
    models: dict[str, type[BaseModel]] = {
        "": SearchSpace, "data": DataSpec, "search": SearchSettings, "training": Training,
        "training.early_stopping": EarlyStopping, "search.rerank": Rerank, "transfer": Transfer, "pretrain": Pretrain,
    }
    model = models.get(parent)
    if model is None:
        return []
    return [info.alias or k for k, info in model.model_fields.items() if k not in ("path", "raw")]
