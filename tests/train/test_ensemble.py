"""``tunecli train --ensemble K``: Caruana's selection on validation predictions, the one Keras model that averages
the kept models, and the command end to end on tiny searches."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from tunecli.runtime import init_backend

init_backend(None)

from tests.helpers import invoke_in  # noqa: E402
from tests.train.test_kept import IRIS as KEPT_IRIS  # noqa: E402
from tunecli.config.space import load_space  # noqa: E402
from tunecli.errors import TuneCliError  # noqa: E402
from tunecli.studies import attrs  # noqa: E402
from tunecli.studies.storage import load_study  # noqa: E402
from tunecli.train import ensemble as ensembles  # noqa: E402
from tunecli.train import score, train_best  # noqa: E402
from tunecli.train.ensemble import Member, keras_model, select  # noqa: E402
from tunecli.trainers.keras.model import build_mlp, keras  # noqa: E402

# ---------------------------------------------------------------- the selection, on hand-made predictions


def test_select_picks_with_replacement_and_weights_are_shares_of_the_rounds() -> None:
    """y = 0; a predicts +1, b predicts -2: the best mix is 2/3 a + 1/3 b, which takes a twice."""
    y = np.zeros(4)
    a, b = np.ones((4, 1)), np.full((4, 1), -2.0)
    weights = select([a, b], y, "val_rmse", rounds=3)
    assert weights.tolist() == pytest.approx([2 / 3, 1 / 3])
    assert select([a, b], y, "val_mae", rounds=30).tolist() == pytest.approx([2 / 3, 1 / 3])


def test_select_weights_sum_to_one_and_repeat_exactly() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 50)
    preds = [rng.dirichlet(np.ones(3), size=50) for _ in range(6)]
    weights = select(preds, y, "val_accuracy")
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all() and len(weights) == 6
    assert np.allclose(weights * ensembles.ROUNDS, np.round(weights * ensembles.ROUNDS))  # picks / rounds
    assert np.array_equal(select(preds, y, "val_accuracy"), weights)


def test_ties_go_to_the_better_ranked_candidate() -> None:
    y = np.array([0.0, 1.0, 2.0])
    same = y.reshape(-1, 1) + 0.5
    assert select([same, same.copy(), same.copy()], y, "val_rmse", rounds=7).tolist() == [1.0, 0.0, 0.0]


def test_accuracy_ties_are_broken_by_the_log_loss() -> None:
    """Both candidates classify every row right; the second is surer of it, so it takes every pick."""
    y = np.array([0, 1])
    unsure = np.array([[0.6, 0.4], [0.4, 0.6]])
    sure = np.array([[0.9, 0.1], [0.1, 0.9]])
    assert select([unsure, sure], y, "val_accuracy", rounds=5).tolist() == [0.0, 1.0]


def test_a_candidate_with_non_finite_predictions_is_never_picked() -> None:
    y = np.zeros(3)
    assert select([np.full((3, 1), np.nan), np.ones((3, 1))], y, "val_rmse", rounds=4).tolist() == [0.0, 1.0]


def test_select_needs_a_candidate_and_a_round() -> None:
    with pytest.raises(ValueError, match="at least one prediction"):
        select([], np.zeros(2), "val_rmse")
    with pytest.raises(ValueError, match="rounds=0"):
        select([np.zeros((2, 1))], np.zeros(2), "val_rmse", rounds=0)


@pytest.mark.parametrize("size", [-1, True, 2.5, "3", None])
def test_the_pool_size_must_be_a_whole_number(size: object) -> None:
    with pytest.raises(TuneCliError, match="must be a whole number of kept models, at least 1") as info:
        ensembles.check_size(size)
    assert info.value.field == "--ensemble"
    assert ensembles.check_size(0) == 0 and ensembles.check_size(4) == 4


def test_the_winner_benchmark_records_the_ensemble_as_its_own_row() -> None:
    from benchmarks.winner_bench import ENSEMBLE, summarize, tunecli_rows
    from tunecli.train import TrainOutcome

    together = TrainOutcome("accuracy", 0.97, None, 0, 1.0, None, model="ensemble", val_score=0.99,
                            members=[{"trial": 4, "weight": 0.6}, {"trial": 9, "weight": 0.4}])
    kept = TrainOutcome("accuracy", 0.95, 0.98, 7, 1.0, None, model="kept", trial=4)
    trained = TrainOutcome("accuracy", 0.96, 0.98, 20, 1.0, None, kept=kept, ensemble=together)
    rows = tunecli_rows(trained, 0.98)
    assert [(r["tool"], r["val"], r["test"]) for r in rows] == [
        ("tunecli", 0.98, 0.96), ("tunecli-kept", 0.98, 0.95), ("tunecli-ensemble", 0.99, 0.97)]
    assert rows[2]["members"] == together.members and ENSEMBLE >= 2
    for row in rows:
        row.update(data="digits", budget=20.0, optimism=row["val"] - row["test"], trials=8, wall=14.0)
    assert "| digits | 20 | tunecli-ensemble | 1 | 0.9700 |" in summarize(rows)
    assert rows[0]["model"] == "refit" and "note" not in rows[0]
    handed = TrainOutcome("accuracy", 0.95, 0.98, 7, 1.0, None, model="kept", trial=4, kept_note="the refit collapsed")
    (row,) = tunecli_rows(handed, 0.98)  # the refit collapsed: the row says the kept model was handed over, and why
    assert (row["tool"], row["model"], row["test"], row["note"]) == ("tunecli", "kept", 0.95, "the refit collapsed")


# ---------------------------------------------------------------- the Keras model


def _member(trial: int, task: str = "classification", passes: int = 0, **params: object) -> Member:
    model = build_mlp({"n_hidden": 1, "n_neurons": 8, **params}, 4, task, 3)
    return Member(trial, model, passes, np.zeros(1))


def test_the_keras_model_is_the_weighted_mean_of_its_members(tmp_path: Path) -> None:
    members = [_member(3), _member(5, n_hidden=2), _member(8)]
    model = keras_model(members, [0.7, 0.3, 0.0], 4, "classification")
    x = np.random.default_rng(1).normal(size=(6, 4)).astype("float32")
    expected = 0.7 * members[0].model.predict(x, verbose=0) + 0.3 * members[1].model.predict(x, verbose=0)
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got.sum(axis=1) == pytest.approx(np.ones(6), abs=1e-5)
    assert not any(layer.name.startswith("trial_8") for layer in model.layers)  # a member of weight 0 is left out
    model.save(tmp_path / "e.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "e.keras").predict(x, verbose=0), got, atol=1e-6)


def test_an_mc_dropout_member_is_the_mean_of_its_passes() -> None:
    from tunecli.trainers.keras.model import MASK_SEED, predict_mc

    member = _member(2, "regression", passes=4, dropout=0.3, mc_dropout=True)
    model = keras_model([member], [1.0], 4, "regression")
    assert all(layer.name.startswith("trial_2") for layer in model.layers[1:])  # the member's layers, copied
    assert not any(type(layer).__module__.startswith("tunecli") for layer in model.layers)  # Keras' own dropout
    x = np.random.default_rng(2).normal(size=(50, 4)).astype("float32")
    passes = predict_mc(member.model, x, 4, seed=MASK_SEED)  # the fixed masks the member is scored with
    np.testing.assert_allclose(model.predict(x, verbose=0), passes.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(passes[0], passes[1])


# ---------------------------------------------------------------- end to end on a tiny search

#: test_kept's iris search, keeping its 3 best trials
IRIS = {**KEPT_IRIS, "study": "iris-ens", "search": {"trials": 5, "seed": 3, "rerank": {"top": 3, "seeds": 1}}}


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a finished iris search that kept 3 trials (tunecli.journal) and its iris-ens-best.yaml."""
    folder = tmp_path_factory.mktemp("searched")
    (folder / "space.yaml").write_text(yaml.safe_dump(IRIS))
    result = invoke_in(folder, "search", "space.yaml", "--json")
    assert result.exit_code == 0, result.output
    return folder


def _train(folder: Path, **options: object) -> object:
    return train_best(load_space(folder / "iris-ens-best.yaml"), storage_url=str(folder / "tunecli.journal"),
                      **{"output": None, "epochs": 1, **options})


@pytest.mark.slow
def test_the_saved_ensemble_loaded_by_keras_alone_gives_its_predictions(searched: Path) -> None:
    outcome = _train(searched, ensemble=3, output=searched / "ens.keras")
    together = outcome.ensemble
    study = load_study("iris-ens", str(searched / "tunecli.journal"))
    kept = attrs.kept_numbers(study.user_attrs)
    assert outcome.model == "refit" and outcome.model_path is None  # --output saves the ensemble
    assert together.model == "ensemble" and together.model_path == searched / "ens.keras" and together.note is None
    assert {m["trial"] for m in together.members} <= set(kept) and len(kept) == 3
    assert sum(m["weight"] for m in together.members) == pytest.approx(1.0)
    assert outcome.kept is not None and 0.0 <= together.test_score <= 1.0 and 0.0 <= together.val_score <= 1.0
    from tunecli.data import load_data

    data = load_data(load_space(searched / "iris-ens-best.yaml").data)
    scaling = data.transform.scaling  # the test rows as the source holds them (the file standardizes them)
    np.save(searched / "x_test.npy", data.x_test * scaling.std + scaling.mean)
    code = ("import sys, numpy as np, keras; m = keras.models.load_model(sys.argv[1]); "
            "np.save(sys.argv[3], m.predict({'x': np.load(sys.argv[2])}, verbose=0)); "
            "assert 'tunecli' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code, str(searched / "ens.keras"), str(searched / "x_test.npy"),
                           str(searched / "pred.npy")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    pred = np.load(searched / "pred.npy")
    assert score("accuracy", data.y_test, pred) == together.test_score
    assert json.loads(json.dumps(outcome.summary()))["ensemble"]["members"] == together.members


@pytest.mark.slow
def test_no_test_row_goes_into_the_choice(searched: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same members and weights whatever the test split holds."""
    from tunecli.train import command

    first = _train(searched, ensemble=3).ensemble
    real_job = command._job

    def scrambled(*args: object, **kwargs: object) -> object:
        job = real_job(*args, **kwargs)
        data = job.dataset  # the loader's cached one: changed in a copy only
        job.dataset = dataclasses.replace(data, y_test=data.y_test[::-1].copy(), x_test=np.random.default_rng(0).normal(
            size=data.x_test.shape).astype(data.x_test.dtype))
        return job

    monkeypatch.setattr(command, "_job", scrambled)
    second = _train(searched, ensemble=3).ensemble
    assert second.members == first.members and second.val_score == first.val_score


@pytest.mark.slow
def test_train_shows_the_ensemble_beside_the_refit_and_says_when_fewer_were_kept(searched: Path) -> None:
    result = invoke_in(searched, "train", "iris-ens-best.yaml", "--epochs", "1", "--ensemble", "5")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "refit on train + validation: test accuracy: " in out and "kept from the search (trial #" in out
    assert "asked for 5 kept models; study 'iris-ens' keeps 3" in out
    assert "ensemble of kept models (trial weight: #" in out and "chosen on validation): test accuracy: " in out
    assert "--output FILE (the ensemble)" in out


@pytest.mark.slow
@pytest.mark.parametrize(("args", "message"), [
    (["--ensemble", "0"], "Invalid value for '--ensemble': Input should be greater than or equal to 1"),
    (["--ensemble", "-2"], "Invalid value for '--ensemble': Input should be greater than or equal to 1"),
    (["--ensemble", "three"], "Invalid value for '--ensemble'"),
    (["--ensemble", "2", "--from-search"], "--from-search hands over one kept model and --ensemble an average"),
], ids=["zero", "negative", "not-an-int", "from-search"])
def test_bad_options_exit_2_with_a_message(searched: Path, args: list[str], message: str) -> None:
    result = invoke_in(searched, "train", "iris-ens-best.yaml", *args, "--output", "bad.keras")
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (searched / "bad.keras").exists()


@pytest.mark.slow
def test_a_study_that_kept_no_weights_exits_2_before_any_refit(searched: Path) -> None:
    study = load_study("iris-ens", str(searched / "tunecli.journal"))
    saved = {attrs.weights_key(n): study.user_attrs[attrs.weights_key(n)] for n in attrs.kept_numbers(study.user_attrs)}
    try:
        for key in saved:
            study.set_user_attr(key, None)
        result = invoke_in(searched, "train", "iris-ens-best.yaml", "--ensemble", "3", "--output", "none.keras")
        assert result.exit_code == 2, result.output
        assert "keeps no trained weights" in result.stderr and "leave out --ensemble" in result.stderr
        assert "refit on train" not in result.stdout and not (searched / "none.keras").exists()
    finally:
        for key, value in saved.items():
            study.set_user_attr(key, value)


@pytest.mark.slow
def test_a_configuration_without_a_study_exits_2(searched: Path) -> None:
    raw = yaml.safe_load((searched / "iris-ens-best.yaml").read_text())
    raw.pop("origin")
    (searched / "no-origin.yaml").write_text(yaml.safe_dump(raw))
    result = invoke_in(searched, "train", "no-origin.yaml", "--ensemble", "3")
    assert result.exit_code == 2 and "names no study (origin: study)" in result.stderr


REGRESSION = {
    "study": "reg-ens",
    "data": {"source": "diabetes"},
    "search": {"trials": 3, "seed": 5, "rerank": {"top": 3, "seeds": 1}},
    "training": {"max_epochs": 6, "early_stopping": {"patience": 2}, "mc_passes": 3},
    "space": {"n_hidden": {"int": [1, 2]}, "n_neurons": 12, "learning_rate": 0.02, "activation": "prelu",
              "dropout": 0.1, "mc_dropout": True},
}


@pytest.mark.slow
def test_a_regression_ensemble_of_mc_dropout_members(tmp_path: Path) -> None:
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(REGRESSION))
    assert invoke_in(tmp_path, "search", "space.yaml", "--json").exit_code == 0
    together = train_best(load_space(tmp_path / "reg-ens-best.yaml"), output=tmp_path / "ens.keras", epochs=1,
                          storage_url=str(tmp_path / "tunecli.journal"), ensemble=3).ensemble
    assert together.metric == "rmse" and np.isfinite(together.test_score) and np.isfinite(together.val_score)
    assert sum(m["weight"] for m in together.members) == pytest.approx(1.0)
    from tunecli.serving import metadata

    record = metadata.read(tmp_path / "ens.keras")
    assert record["model"] == "ensemble" and record["members"] == together.members
    assert record["outputs"] == "values" and record["scores"]["test"] == pytest.approx(together.test_score)
    with zipfile.ZipFile(tmp_path / "ens.keras") as archive:  # each member: the mean of 3 passes, Keras' own ops
        config = archive.read("config.json").decode()
    assert "tunecli>" not in config and "expand_dims" in config

