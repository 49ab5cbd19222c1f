"""The study's stored schema: every key tunecli keeps in a study's or a trial's user attributes, what its value
holds, how it is written and the one function that reads it back (``read``). Standard library only.

Optuna stores user attributes as JSON values under text keys, in every store alike (a journal file, SQLite,
PostgreSQL). Nothing else in tunecli spells a key: it names the constants below (``attrs.LR_USED``) and the
functions of the numbered families (``weights_key(3)`` is ``"weights.3"``).

Study attributes (``study.user_attrs``):

- written when the study is created (``study_record``): ``VERSION`` (the schema's, ``SCHEMA_VERSION``),
  ``FINGERPRINT`` (what must not change for the study to be resumed), ``OBJECTIVE`` (the metric), ``ENGINE``,
  ``ALGORITHM``, ``PRUNER``, ``MAX_EPOCHS``, ``SPACE_FILE`` (the space file as read, a mapping) and ``FIXED``
  (the fixed values, a mapping);
- with several objectives or constraints (``study_record``): ``OBJECTIVES`` (every objective's name, the metric
  first) and ``CONSTRAINTS`` (the bounds as the file gives them, a mapping);
- ``VAL_ROWS``: the validation rows the scores were measured on (their standard errors rest on it);
- ``KERAS_TUNER_PROJECT``: the folder of the study's Keras Tuner project, under ``tunecli-runs/``;
- ``weights.<trial number>``: a kept trial's weights (``kept_record``; read as ``Kept``; None once dropped,
  as Optuna cannot delete an attribute);
- ``repeats.<trial number>``: a re-ranked trial's runs, its own first (a list of scores, None for a failed run);
- ``lr_test.<structure key>``: one LR range test, reused by every trial of that structure (``lr_test_record``:
  the range test's JSON, ``LRFindResult.to_dict``, and the seconds it took; None once dropped);
- ``pretrain.<settings key>``: the encoder ``pretrain:`` trained (``encoder_record``; read as ``Encoder``).

Trial attributes (``trial.user_attrs``):

- what every finished trial stores (``trial_record``): ``CONFIG`` (the whole configuration, fixed values
  included), ``EPOCHS``, ``SECONDS``, ``CURVE`` (each metric's value per epoch), ``FIRST_EPOCH_SECONDS``,
  ``BEST_EPOCH``, ``BEST_VALUE``, ``FAIL_REASON``; and from the trainer (``fit_record``) ``FIT_SECONDS``,
  ``TRAINER`` and, for a trial trained with others of its structure in one compiled program, ``MEMBERS`` (how
  many);
- what the trained network costs (``footprint_record``, every finished trial): ``PARAM_COUNT``, ``LATENCY_MS`` and
  ``LATENCY_IQR_MS`` (a batch of 256 rows on one CPU thread: median and interquartile range), ``SIZE_BYTES`` (the
  ``.keras`` file, estimated); ``COST_KEYS`` names them by objective (``params``, ``latency``, ``size``);
- with ``constraints:`` (``violated_record``): ``VIOLATED``, the bounds the trial broke (empty: feasible);
- with an ``lr_finder`` learning rate (``lr_finder_record``): ``LR_USED``, ``LR_FOUND``, ``LR_RULE``,
  ``LR_FINDER_SECONDS``, ``LR_FINDER_STEPS``, ``LR_SUGGESTIONS``, ``LR_CURVE``, ``LR_FROM_CACHE``;
- cross-validated (``data.cv``, ``cv_record``): ``CV_FOLDS``, ``CV_VALUES`` (each fold's score), ``CV_SE`` (their
  standard error);
- with reused layers (``reused_record``): ``REUSED_LAYERS``, ``FROZEN_EPOCHS``, ``BASE``, ``TRANSFER_WIDTHS``,
  ``TRANSFER_ACTIVATION``;
- run by Keras Tuner: ``KT_TRIAL_ID``;
- sharing the study between workers (``search.coordination``): ``OWNER`` (``host:pid:pid-namespace``),
  ``HEARTBEAT`` (unix time), ``DISCARDED`` (why the trial does not count), ``RETRY_OF`` (the trial whose
  parameters it runs again).

Versions: ``SCHEMA_VERSION`` is stored under ``VERSION`` when a study is created. A study without it was
written before the schema had a number (tunecli 0.1.0): version 0, whose keys and values are those of version 1,
which only adds the number. ``read`` reads every version; a later one that changes a value's format converts
the older values there, so that no caller sees the difference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

SCHEMA_VERSION = 1

# Study attributes.
VERSION = "schema_version"
FINGERPRINT = "fingerprint"
OBJECTIVE = "objective"
ENGINE = "engine"
ALGORITHM = "algorithm"
PRUNER = "pruner"
MAX_EPOCHS = "max_epochs"
SPACE_FILE = "space_file"
FIXED = "fixed"
VAL_ROWS = "val_rows"
KERAS_TUNER_PROJECT = "keras_tuner_project"
OBJECTIVES = "objectives"
CONSTRAINTS = "constraints"
#: Families of study attributes, ``<family>.<member>``.
WEIGHTS = "weights"
REPEATS = "repeats"
LR_TEST = "lr_test"
PRETRAIN = "pretrain"

# Trial attributes.
CONFIG = "config"
EPOCHS = "epochs"
SECONDS = "seconds"
CURVE = "curve"
FIRST_EPOCH_SECONDS = "first_epoch_seconds"
BEST_EPOCH = "best_epoch"
BEST_VALUE = "best_value"
FAIL_REASON = "fail_reason"
FIT_SECONDS = "fit_seconds"
TRAINER = "trainer"
MEMBERS = "members"
CV_FOLDS = "cv_folds"
CV_VALUES = "cv_values"
CV_SE = "cv_se"
LR_USED = "lr_used"
LR_FOUND = "lr_found"
LR_RULE = "lr_rule"
LR_FINDER_SECONDS = "lr_finder_seconds"
LR_FINDER_STEPS = "lr_finder_steps"
LR_SUGGESTIONS = "lr_suggestions"
LR_CURVE = "lr_curve"
LR_FROM_CACHE = "lr_from_cache"
REUSED_LAYERS = "reused_layers"
FROZEN_EPOCHS = "frozen_epochs"
BASE = "base"
TRANSFER_WIDTHS = "transfer_widths"
TRANSFER_ACTIVATION = "transfer_activation"
PARAM_COUNT = "param_count"
LATENCY_MS = "latency_ms"
LATENCY_IQR_MS = "latency_iqr_ms"
SIZE_BYTES = "size_bytes"
VIOLATED = "violated"
#: The stored measurement of each cost objective (``config.objective.COSTS``).
COST_KEYS = {"params": PARAM_COUNT, "latency": LATENCY_MS, "size": SIZE_BYTES}
KT_TRIAL_ID = "kt_trial_id"
OWNER = "worker"
HEARTBEAT = "heartbeat"
DISCARDED = "discarded"
RETRY_OF = "retry_of"


class Kept(NamedTuple):
    """A kept trial's weights (``weights.<n>``): base64 ``.npz`` text (``trainers.keras.weights.to_text``), the
    epoch and score they are of, and the trainer that trained them."""

    weights: str
    epoch: int | None
    value: float | None
    trainer: str | None


class Encoder(NamedTuple):
    """The encoder ``pretrain:`` trained (``pretrain.<key>``): its kernels and biases as base64 ``.npz`` text, its
    activation, the reconstruction loss of each epoch and the rows it learned from."""

    weights: str
    activation: str
    losses: list[float]
    rows: int | None


def weights_key(number: int) -> str:
    """``weights.<number>``: trial ``number``'s kept weights."""
    return f"{WEIGHTS}.{number}"


def repeats_key(number: int) -> str:
    """``repeats.<number>``: trial ``number``'s runs when re-ranked."""
    return f"{REPEATS}.{number}"


def lr_test_key(key: str) -> str:
    """``lr_test.<key>``: the range test of the structure ``key`` names."""
    return f"{LR_TEST}.{key}"


def pretrain_key(key: str) -> str:
    """``pretrain.<key>``: the encoder of the settings and rows ``key`` names."""
    return f"{PRETRAIN}.{key}"


def members(stored: Mapping[str, Any], family: str) -> dict[str, Any]:
    """The members of a family (``WEIGHTS``, ``REPEATS``, ``LR_TEST``, ``PRETRAIN``) that hold a value, by the part
    of the key after the dot, each as ``read`` reads it."""
    out = {}
    for key in stored:
        head, dot, member = key.partition(".")
        if head == family and dot and (value := read(stored, key)):
            out[member] = value
    return out


def version(stored: Mapping[str, Any]) -> int:
    """The schema version of a study's attributes (0: written before the schema had a number)."""
    return read(stored, VERSION, 0)


def read(stored: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """The value stored under ``key``, as this version of tunecli uses it, from a study written by any version.

    Args:
        stored: a study's or a trial's user attributes.
        key: a constant of this module, or a family member (``weights_key(3)``).
        default: returned when the key is absent, None, or holds what tunecli never wrote there.
    """
    value = stored.get(key)
    if value is None:
        return default
    head, dot, _ = key.partition(".")
    decode = _READERS.get(head if dot else key)
    if decode is None:
        return value
    try:
        return decode(value)
    except (TypeError, ValueError, KeyError, AttributeError):
        return default


def study_record(*, fingerprint: str, objective: str, engine: str, algorithm: str, pruner: str, max_epochs: int,
                 space_file: Mapping[str, Any], fixed: Mapping[str, Any], objectives: list[str] | None = None,
                 constraints: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a study stores when it is created, the schema version first (``objectives`` and ``constraints`` only
    where there are several objectives or any constraint)."""
    out = {VERSION: SCHEMA_VERSION, FINGERPRINT: fingerprint, OBJECTIVE: objective, ENGINE: engine,
           ALGORITHM: algorithm, PRUNER: pruner, MAX_EPOCHS: max_epochs, SPACE_FILE: dict(space_file),
           FIXED: dict(fixed)}
    if objectives and len(objectives) > 1:
        out[OBJECTIVES] = list(objectives)
    if constraints:
        out[CONSTRAINTS] = dict(constraints)
    return out


def objectives(stored: Mapping[str, Any]) -> list[str]:
    """A study's objectives, the metric first (one for a study of one objective)."""
    return read(stored, OBJECTIVES) or [read(stored, OBJECTIVE, "value")]


def trial_record(*, config: Mapping[str, Any], epochs: int, seconds: float, history: Mapping[str, list[float]],
                 first_epoch_seconds: float | None = None, best_epoch: int | None = None,
                 best_value: float | None = None, fail_reason: str | None = None) -> dict[str, Any]:
    """What every finished trial stores besides its parameters: its configuration and learning curve (values to
    6 decimals, seconds to the millisecond); what is None is left out."""
    out: dict[str, Any] = {CONFIG: dict(config), EPOCHS: epochs, SECONDS: round(seconds, 3),
                           CURVE: {k: [round(v, 6) for v in values] for k, values in history.items()}}
    if first_epoch_seconds is not None:
        out[FIRST_EPOCH_SECONDS] = round(first_epoch_seconds, 3)
    if best_epoch is not None:
        out[BEST_EPOCH] = best_epoch
    if best_value is not None:
        out[BEST_VALUE] = best_value
    if fail_reason:
        out[FAIL_REASON] = fail_reason
    return out


def fit_record(*, fit_seconds: float, trainer: str, members: int | None = None) -> dict[str, Any]:
    """What the trainer tells about a trial: the seconds inside its epochs, which trainer, and how many trials
    trained together in its compiled program (left out for a trial trained alone)."""
    out: dict[str, Any] = {FIT_SECONDS: round(fit_seconds, 3), TRAINER: trainer}
    if members is not None:
        out[MEMBERS] = members
    return out


def footprint_record(*, params: int, latency_ms: float | None, latency_iqr_ms: float | None,
                     size_bytes: int) -> dict[str, Any]:
    """What a trained network costs (``trainers.footprint``); a latency not measured (no weights) is left out."""
    out: dict[str, Any] = {PARAM_COUNT: int(params), SIZE_BYTES: int(size_bytes)}
    if latency_ms is not None:
        out[LATENCY_MS] = latency_ms
        out[LATENCY_IQR_MS] = latency_iqr_ms
    return out


def violated_record(broken: list[str]) -> dict[str, Any]:
    """The constraints a trial broke, each as ``"latency <= 2"`` (in the stored unit); empty: feasible."""
    return {VIOLATED: list(broken)}


def cost(stored: Mapping[str, Any], name: str) -> float | None:
    """A trial's measured cost ``name`` (``params``, ``latency``, ``size``), or None."""
    return read(stored, COST_KEYS[name])


def cv_record(folds: int, values: list[float] | None = None, se: float | None = None) -> dict[str, Any]:
    """What a cross-validated trial stores: its number of folds and, once it is scored, each fold's score and
    their standard error (6 decimals)."""
    out: dict[str, Any] = {CV_FOLDS: folds}
    if values is not None:
        out[CV_VALUES] = [round(v, 6) for v in values]
        out[CV_SE] = None if se is None else round(se, 6)
    return out


def lr_test_record(test: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """A range test as ``lr_test.<key>`` keeps it: its JSON (``lr``, ``rule``, ``steps``, ``suggestions``,
    ``curve``: ``LRFindResult.to_dict``) and the seconds it took."""
    return {**test, "seconds": round(seconds, 3)}


def lr_finder_record(lr_used: float, test: Mapping[str, Any], *, rule: str, cached: bool) -> dict[str, Any]:
    """What a trial with an ``lr_finder`` learning rate stores: the rate it trained with and the range test it
    came from (``lr_test_record``; ``cached``: reused from an earlier trial, so it took no time here)."""
    return {LR_USED: lr_used, LR_FOUND: test["lr"], LR_RULE: rule,
            LR_FINDER_SECONDS: 0.0 if cached else test["seconds"], LR_FINDER_STEPS: test["steps"],
            LR_SUGGESTIONS: test["suggestions"], LR_CURVE: test["curve"], LR_FROM_CACHE: cached}


def reused_record(*, layers: int, frozen_epochs: int, base: str, widths: list[int], activation: str) -> dict[str, Any]:
    """What a trial that reused pretrained layers stores: how many, the epochs they stayed frozen, the base network's
    source, and the widths and activation the trial trained."""
    return {REUSED_LAYERS: layers, FROZEN_EPOCHS: frozen_epochs, BASE: base, TRANSFER_WIDTHS: list(widths),
            TRANSFER_ACTIVATION: activation}


def kept_record(weights: str, *, epoch: int | None, value: float | None, trainer: str | None) -> dict[str, Any]:
    """A kept trial's weights as ``weights.<n>`` holds them (``weights``: ``to_text`` of the arrays)."""
    return Kept(weights, epoch, value, trainer)._asdict()


def kept(stored: Mapping[str, Any], number: int) -> Kept | None:
    """The kept weights of trial ``number``, or None (never kept, dropped, or unreadable)."""
    return read(stored, weights_key(number))


def kept_numbers(stored: Mapping[str, Any]) -> list[int]:
    """The trials whose weights the study holds now, in order."""
    return sorted(int(number) for number in members(stored, WEIGHTS) if number.isdigit())


def encoder_record(weights: str, *, activation: str, losses: list[float], rows: int) -> dict[str, Any]:
    """The encoder ``pretrain:`` trained, as ``pretrain.<key>`` holds it (``weights``: ``to_text`` of its kernels
    and biases, layer by layer)."""
    return Encoder(weights, activation, [float(v) for v in losses], rows)._asdict()


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    return value


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _mapping(value: Any) -> dict:
    if not isinstance(value, dict):
        raise TypeError(value)
    return value


def _runs(value: Any) -> list:
    if not isinstance(value, list):
        raise TypeError(value)
    return value


def _kept(value: Any) -> Kept:
    if not isinstance(value.get("weights"), str):
        raise TypeError(value)
    return Kept(value["weights"], value.get("epoch"), value.get("value"), value.get("trainer"))


def _encoder(value: Any) -> Encoder:
    if not isinstance(value.get("weights"), str):
        raise TypeError(value)
    return Encoder(value["weights"], str(value["activation"]), list(value.get("losses") or []), value.get("rows"))


#: How each value is read back (keys left out are read as stored).
_READERS: dict[str, Callable[[Any], Any]] = {
    VERSION: _integer, MAX_EPOCHS: _integer, VAL_ROWS: _integer, SPACE_FILE: _mapping, FIXED: _mapping,
    WEIGHTS: _kept, REPEATS: _runs, LR_TEST: _mapping, PRETRAIN: _encoder,
    CONFIG: _mapping, EPOCHS: _integer, SECONDS: _number, CURVE: _mapping, FIRST_EPOCH_SECONDS: _number,
    BEST_EPOCH: _integer, BEST_VALUE: _number, FIT_SECONDS: _number, MEMBERS: _integer,
    LR_USED: _number, LR_FOUND: _number, LR_FINDER_SECONDS: _number, LR_FINDER_STEPS: _integer,
    LR_SUGGESTIONS: _mapping, LR_CURVE: _mapping, CV_FOLDS: _integer, CV_VALUES: _runs, CV_SE: _number,
    REUSED_LAYERS: _integer, FROZEN_EPOCHS: _integer, TRANSFER_WIDTHS: _runs, HEARTBEAT: _number, RETRY_OF: _integer,
    OBJECTIVES: _runs, CONSTRAINTS: _mapping, PARAM_COUNT: _integer, LATENCY_MS: _number, LATENCY_IQR_MS: _number,
    SIZE_BYTES: _integer, VIOLATED: _runs,
}
