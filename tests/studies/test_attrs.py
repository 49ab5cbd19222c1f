"""The study's stored schema (``studies.attrs``): every key in one place, and a study stored by an older tunecli
(``assets/stored_v0.journal``, a 2-trial digits search with an LR finder, kept weights and re-ranked runs, written
by tunecli 0.1.0 before the schema had a number) still reads, value for value.

The keys spelled out here (``raw["lr_used"]``, ``"weights.3"``) are the format on disk, checked apart from the
constants that name them: renaming a constant must not pass unnoticed."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import optuna
import pytest

from tunecli.config.objective import resolve_objective
from tunecli.config.space import validate_space
from tunecli.search.study import create_or_resume
from tunecli.studies import attrs
from tunecli.studies.report import build_report
from tunecli.studies.results import trial_rows
from tunecli.studies.storage import load_study

ASSETS = Path(__file__).parent / "assets"
#: What the older tunecli stored, as it stored it (read from the journal's text, not through tunecli).
LR_FOUND = 0.000615848211066026
REPEATS = [0.125, 0.08888888888888889]


@pytest.fixture
def stored_v0(tmp_path: Path) -> optuna.Study:
    """The old study, opened from a copy (opening a journal may write beside it)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = tmp_path / "stored_v0.journal"
    shutil.copy(ASSETS / "stored_v0.journal", path)
    return load_study("stored-v0", str(path))


def test_a_study_from_before_the_schema_had_a_number_reads_as_version_0(stored_v0: optuna.Study) -> None:
    study_attrs = stored_v0.user_attrs
    assert attrs.VERSION not in study_attrs and attrs.version(study_attrs) == 0
    assert attrs.read(study_attrs, attrs.OBJECTIVE) == "val_accuracy" and attrs.read(study_attrs, attrs.MAX_EPOCHS) == 2
    assert attrs.read(study_attrs, attrs.VAL_ROWS) == 360 and attrs.read(study_attrs, attrs.FIXED) == {
        "n_hidden": 1, "batch_size": 256}
    assert attrs.read(study_attrs, attrs.SPACE_FILE)["study"] == "stored-v0"


def test_its_trials_read_into_rows_with_the_values_stored(stored_v0: optuna.Study) -> None:
    rows = {row["number"]: row for row in trial_rows(stored_v0)}
    for trial in stored_v0.trials:
        raw, row = trial.user_attrs, rows[trial.number]
        assert row["lr_used"] == raw["lr_used"] == pytest.approx(LR_FOUND)
        assert row["curve"] == raw["curve"] and set(row["curve"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert row["params"] == raw["config"] == {"n_hidden": 1, "batch_size": 256, "n_neurons": 6}
        assert (row["epochs"], row["best_epoch"], row["seconds"]) == (raw["epochs"], raw["best_epoch"], raw["seconds"])
        assert row["lr_curve"] == raw["lr_curve"] and row["trainer"] == raw["trainer"] == "jax"
        assert attrs.read(raw, attrs.LR_FROM_CACHE) is (trial.number == 1)  # one structure: its test ran once
    assert rows[0]["repeats"] == REPEATS and math.isclose(rows[0]["value"], sum(REPEATS) / 2)
    assert rows[1]["repeats"] is None and rows[1]["value"] == stored_v0.trials[1].value


def test_its_kept_weights_range_test_and_report_read(stored_v0: optuna.Study) -> None:
    from tunecli.trainers.keras.weights import from_text

    study_attrs = stored_v0.user_attrs
    assert attrs.kept_numbers(study_attrs) == [0] and attrs.kept(study_attrs, 1) is None
    entry = attrs.kept(study_attrs, 0)
    assert (entry.epoch, entry.value, entry.trainer) == (2, 0.125, "jax")
    assert [a.shape for a in from_text(entry.weights)] == [(64, 6), (6,), (6, 10), (10,)]
    tests = attrs.members(study_attrs, attrs.LR_TEST)
    assert len(tests) == 1 and next(iter(tests.values()))["lr"] == LR_FOUND
    data = build_report(stored_v0, None, importances=False).to_dict()
    assert data["best"]["number"] == 0 and data["best"]["repeats"] == REPEATS
    assert data["best"]["lr_used"] == LR_FOUND and data["summary"]["validation_rows"] == 360
    assert json.loads(json.dumps(data["best"]["curve"])) == stored_v0.trials[0].user_attrs["curve"]


def test_a_new_study_records_the_schema_version(tmp_path: Path) -> None:
    space = validate_space({"study": "versioned", "data": {"source": "iris"}, "space": {"n_hidden": 1}})
    study = create_or_resume(space, resolve_objective("auto", "classification"), str(tmp_path / "s.journal"))
    assert attrs.version(study.user_attrs) == attrs.SCHEMA_VERSION == study.user_attrs[attrs.VERSION]
    assert attrs.read(study.user_attrs, attrs.ENGINE) == "optuna"


def test_records_round_trip_and_the_reader_refuses_what_tunecli_never_wrote() -> None:
    stored = {attrs.weights_key(3): attrs.kept_record("QUJD", epoch=4, value=0.5, trainer="keras"),
              attrs.weights_key(4): None, attrs.weights_key(5): {"epoch": 1},
              attrs.pretrain_key("k"): attrs.encoder_record("QUJD", activation="elu", losses=[2, 1], rows=7),
              attrs.repeats_key(3): [0.5, None], attrs.MAX_EPOCHS: "twenty", attrs.CURVE: [1, 2]}
    assert attrs.kept(stored, 3) == attrs.Kept("QUJD", 4, 0.5, "keras") and attrs.kept_numbers(stored) == [3]
    assert attrs.kept(stored, 5) is None and attrs.kept(stored, 4) is None
    assert attrs.members(stored, attrs.PRETRAIN) == {"k": attrs.Encoder("QUJD", "elu", [2.0, 1.0], 7)}
    assert attrs.read(stored, attrs.repeats_key(3)) == [0.5, None]
    assert attrs.read(stored, attrs.MAX_EPOCHS, 20) == 20 and attrs.read(stored, attrs.CURVE, {}) == {}
    record = attrs.trial_record(config={"n_hidden": 1}, epochs=2, seconds=1.23456, history={"loss": [0.1234567]},
                                best_epoch=2, best_value=0.5)
    assert record == {attrs.CONFIG: {"n_hidden": 1}, attrs.EPOCHS: 2, attrs.SECONDS: 1.235,
                      attrs.CURVE: {"loss": [0.123457]}, attrs.BEST_EPOCH: 2, attrs.BEST_VALUE: 0.5}
    assert attrs.weights_key(3) == "weights.3" and attrs.lr_test_key("ab") == "lr_test.ab"
