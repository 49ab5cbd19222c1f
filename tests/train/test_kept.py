"""``tunecli train --from-search``: the model a search trial trained and kept, scored once on the test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tunecli.runtime import init_backend

init_backend(None)
pytestmark = pytest.mark.slow  # every test runs a search (or reads the one its fixture ran)


from tests.helpers import invoke_in  # noqa: E402
from tunecli.config.space import load_space, validate_space  # noqa: E402
from tunecli.data import load_data  # noqa: E402
from tunecli.search import run_search  # noqa: E402
from tunecli.search.weights import ranking  # noqa: E402
from tunecli.studies import attrs  # noqa: E402
from tunecli.studies.attrs import kept_numbers  # noqa: E402
from tunecli.studies.storage import load_study  # noqa: E402
from tunecli.train import score, train_best  # noqa: E402
from tunecli.trainers.keras.model import keras  # noqa: E402

IRIS = {
    "study": "iris-kept",
    "data": {"source": "iris"},
    "search": {"trials": 4, "seed": 3, "rerank": {"top": 2, "seeds": 1}},
    "training": {"max_epochs": 8, "early_stopping": {"patience": 3}},
    "space": {"n_hidden": {"int": [1, 2]}, "n_neurons": {"choice": [8, 16]}, "learning_rate": {"float": [0.01, 0.05]},
              "activation": "prelu", "batch_norm": {"choice": ["before", "after"]}},
}



@pytest.fixture(scope="module")
def searched(tmp_path_factory) -> Path:
    """A folder holding a finished iris search (tunecli.journal) and its iris-kept-best.yaml."""
    folder = tmp_path_factory.mktemp("searched")
    (folder / "space.yaml").write_text(yaml.safe_dump(IRIS))
    result = invoke_in(folder, "search", "space.yaml", "--json")
    assert result.exit_code == 0, result.output
    return folder


def _study(folder: Path) -> object:
    return load_study("iris-kept", str(folder / "tunecli.journal"))


def _best(folder: Path, name: str = "b.yaml", **changes: object) -> str:
    raw = yaml.safe_load((folder / "iris-kept-best.yaml").read_text())
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if value is None:
            raw[section].pop(field) if field else raw.pop(section)
        elif field:
            raw[section][field] = value
        else:
            raw[section] = value
    (folder / name).write_text(yaml.safe_dump(raw))
    return name


def test_from_search_hands_over_the_model_that_scored(searched: Path) -> None:
    result = invoke_in(searched, "train", "iris-kept-best.yaml", "--from-search", "--output", "kept", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    best = yaml.safe_load((searched / "iris-kept-best.yaml").read_text())
    study = _study(searched)
    trial = study.trials[best["origin"]["trial"]]
    assert summary["model"] == "kept" and summary["trial"] == trial.number
    assert summary["epochs"] == trial.user_attrs[attrs.BEST_EPOCH] and summary["kept"] is None
    assert summary["val_score"] == pytest.approx(trial.value, rel=1e-6)  # the trial's score, reproduced
    assert summary["search_score"] == pytest.approx(trial.value, rel=1e-6)
    # the saved file is that model: built by build_mlp, loaded without tunecli's help
    model = keras.models.load_model(searched / "kept.keras")
    assert summary["model_path"].endswith("kept.keras")
    data = load_data(validate_space(best).data)
    scaling = data.transform.scaling  # iris: no missing cell, no text: the raw rows are the scaled ones unscaled

    def predict_raw(x: np.ndarray) -> np.ndarray:  # the file takes the raw columns
        return model.predict({"x": (x.astype("float64") * scaling.std + scaling.mean).astype("float32")}, verbose=0)

    assert score("val_accuracy", data.y_val, predict_raw(data.x_val)) == pytest.approx(trial.value, rel=1e-6)
    assert score("accuracy", data.y_test, predict_raw(data.x_test)) == summary["test_score"]
    assert not (searched / "tunecli-runs").exists() and len(study.trials) == IRIS["search"]["trials"]  # nothing trained


def test_train_shows_the_refit_and_the_kept_model_and_saves_either(searched: Path) -> None:
    saved = set(searched.glob("*.keras"))
    result = invoke_in(searched, "train", "iris-kept-best.yaml", "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert "refit on train + validation: test accuracy: " in result.stdout
    assert "kept from the search (trial #" in result.stdout and "trained on train only" in result.stdout
    assert "--kept-output" in result.stdout and set(searched.glob("*.keras")) == saved  # nothing saved unasked
    both = invoke_in(searched, "train", "iris-kept-best.yaml", "--epochs", "2", "--output", "r.keras",
                   "--kept-output", "k.keras", "--json")
    assert both.exit_code == 0, both.output
    summary = json.loads(both.stdout)
    assert summary["model"] == "refit" and summary["epochs"] == 2 and summary["model_path"].endswith("r.keras")
    assert summary["kept"]["model"] == "kept" and summary["kept"]["model_path"].endswith("k.keras")
    assert (searched / "r.keras").is_file() and (searched / "k.keras").is_file()


def test_a_trial_whose_weights_were_not_kept_exits_2_and_says_how_to_refit(searched: Path) -> None:
    study = _study(searched)
    dropped = next(t.number for t in study.trials if t.number not in ranking(study)[:2])
    assert dropped not in kept_numbers(study.user_attrs)
    name = _best(searched, origin__trial=dropped)
    result = invoke_in(searched, "train", name, "--from-search")
    assert result.exit_code == 2
    assert f"the weights of trial #{dropped} of study 'iris-kept' were not kept" in result.stderr
    assert f"run `tunecli train {name}` without --from-search" in result.stderr
    plain = invoke_in(searched, "train", name, "--epochs", "1")  # without --from-search: the refit, and why no kept model
    assert plain.exit_code == 0, plain.output
    assert "refit on train + validation" in plain.stdout and "kept model of the search: none" in plain.stdout
    asked = invoke_in(searched, "train", name, "--epochs", "1", "--kept-output", "k2.keras")
    assert asked.exit_code == 2 and "were not kept" in asked.stderr and not (searched / "k2.keras").exists()


@pytest.mark.parametrize(("changes", "args", "message"), [
    ({"origin": None}, [], "names no search trial"),
    ({"origin__study": "no-such-study"}, [], "no study named 'no-such-study'"),
    ({"space__n_neurons": 99}, [], "is not the configuration trial #"),
    ({"data": {"source": "wine"}}, [], "do not fit the model built for this data"),
    ({}, ["--storage", "elsewhere.journal"], "no study store here"),
    ({}, ["--epochs", "3"], "--from-search refits nothing"),
    ({}, ["--output", "a.keras", "--kept-output", "b.keras"], "give only --output"),
], ids=["no-origin", "no-study", "edited-config", "other-data", "no-store", "epochs", "two-outputs"])
def test_bad_cases_exit_2_with_a_message(searched: Path, changes: dict, args: list[str], message: str) -> None:
    name = _best(searched, "bad.yaml", **changes)
    result = invoke_in(searched, "train", name, "--from-search", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not any((searched / f).exists() for f in ("a.keras", "b.keras", "elsewhere.journal"))


def test_a_study_made_before_weights_were_kept_says_so(searched: Path) -> None:
    study = _study(searched)
    saved = {attrs.weights_key(n): study.user_attrs[attrs.weights_key(n)] for n in kept_numbers(study.user_attrs)}
    try:
        for key in saved:
            study.set_user_attr(key, None)
        result = invoke_in(searched, "train", "iris-kept-best.yaml", "--from-search")
        assert result.exit_code == 2 and "this study keeps none" in result.stderr
    finally:
        for key, value in saved.items():
            study.set_user_attr(key, value)


REGRESSION = {
    "study": "kept-reg",
    "data": {"source": "diabetes"},
    "search": {"trials": 1, "seed": 5, "rerank": {"top": 1, "seeds": 1}},
    "training": {"max_epochs": 6, "early_stopping": {"patience": 2}},
    "space": {"n_hidden": 2, "n_neurons": 13, "learning_rate": 0.02, "activation": "prelu", "dropout": 0.1},
}


@pytest.mark.parametrize("trainer", ["auto", "keras"], ids=["fast-trainer", "keras-trainer"])
@pytest.mark.parametrize("batch_norm", ["before", "after"])
def test_the_kept_model_reproduces_the_trials_validation_score(trainer: str, batch_norm: str, tmp_path,
                                                               monkeypatch) -> None:
    """Batch norm (before or after the activation), PReLU, dropout: the kept model's RMSE on the validation
    split is the trial's stored score (to 1e-6 relative), for either trainer, through train's own loader."""
    monkeypatch.chdir(tmp_path)
    raw = {**REGRESSION, "training": {**REGRESSION["training"], "trainer": trainer},
           "space": {**REGRESSION["space"], "batch_norm": batch_norm}}
    run_search(validate_space(raw), best_out="best.yaml")
    study = load_study("kept-reg", None)
    (trial,) = study.trials
    assert trial.user_attrs[attrs.TRAINER] == ("jax" if trainer == "auto" else "keras")
    assert kept_numbers(study.user_attrs) == [trial.number]
    outcome = train_best(load_space("best.yaml"), output=None, from_search=True)
    assert outcome.model == "kept" and outcome.trial == trial.number and outcome.epochs == trial.user_attrs[attrs.BEST_EPOCH]
    assert outcome.val_score == pytest.approx(trial.value, rel=1e-6, abs=0)
    assert outcome.search_score == pytest.approx(trial.value, rel=1e-6, abs=0) and np.isfinite(outcome.test_score)


def test_a_diverging_refit_hands_over_the_kept_model(searched: Path, monkeypatch) -> None:
    from tunecli.errors import RunError
    from tunecli.train import refit

    def diverge(*args: object, **kwargs: object) -> None:
        raise RunError("the loss diverged (NaN/inf) while refitting; lower the learning rate", field="space")

    monkeypatch.setattr(refit, "fit", diverge)
    result = invoke_in(searched, "train", _best(searched, "div.yaml"), "--output", "div.keras")
    assert result.exit_code == 0, result.output
    assert "the refit failed" in result.output and "handed over instead" in result.output
    assert (searched / "div.keras").exists()
    monkeypatch.undo()
    outcome = train_best(load_space(searched / "div.yaml"), output=None, storage_url=str(searched / "tunecli.journal"))
    assert outcome.model == "refit"  # without the failure the refit is what train hands over


def test_a_collapsed_refit_hands_over_the_kept_model(searched: Path, monkeypatch) -> None:
    """A refit that ends without a NaN but predicts one class for every row (chance accuracy on the rows it
    trained on) is not handed over: the kept model is, and train says why."""
    from tunecli.train import refit

    real_fit = refit.fit

    def collapse(*args: object, **kwargs: object) -> object:
        model = real_fit(*args, **kwargs)
        kernel, bias = model.layers[-1].get_weights()
        model.layers[-1].set_weights([np.zeros_like(kernel), np.eye(len(bias))[0] * 10])
        return model

    monkeypatch.setattr(refit, "fit", collapse)
    outcome = train_best(load_space(searched / _best(searched, "col.yaml")), output=searched / "col.keras",
                         storage_url=str(searched / "tunecli.journal"))
    assert outcome.model == "kept" and "far worse than the kept model" in (outcome.kept_note or "")
    assert outcome.test_score > 0.5 and (searched / "col.keras").exists()


@pytest.mark.parametrize(("metric", "refit_fit", "kept_val", "bad"), [
    ("val_accuracy", 0.0975, 0.95, True), ("val_accuracy", 0.93, 0.95, False), ("val_accuracy", 0.99, 0.95, False),
    ("val_rmse", 1.6, 0.55, True), ("val_rmse", 0.6, 0.55, False), ("val_mae", float("nan"), 0.4, True),
    ("val_accuracy", 0.1, None, False),
])
def test_collapse_is_told_from_scores_without_test_rows(metric: str, refit_fit: float, kept_val: float | None,
                                                        bad: bool) -> None:
    from tunecli.train.outcome import collapsed

    assert (collapsed(metric, refit_fit, kept_val) is not None) is bad


def test_a_collapsed_refit_without_a_kept_model_runs_again_with_the_next_seed(searched: Path, monkeypatch) -> None:
    """No kept model to hand over instead: the refit is measured against the search's score of the trial, and one
    that collapsed runs once more with the next seed; train says so."""
    from tunecli.train import command, refit

    real_fit, seeds = refit.fit, []

    def first_collapses(job: object, epochs: int, seed: int | None) -> object:
        seeds.append(seed)
        model = real_fit(job, epochs, seed)
        if len(seeds) == 1:
            kernel, bias = model.layers[-1].get_weights()
            model.layers[-1].set_weights([np.zeros_like(kernel), np.eye(len(bias))[0] * 10])
        return model

    monkeypatch.setattr(refit, "fit", first_collapses)
    monkeypatch.setattr(command, "_kept_beside", lambda *args, **kwargs: (None, None, "its weights were not kept"))
    outcome = train_best(load_space(searched / _best(searched, "again.yaml")), output=None, seed=7,
                         storage_url=str(searched / "tunecli.journal"))
    assert seeds == [7, 8] and outcome.model == "refit" and outcome.test_score > 0.5
    assert "far worse than the search's trial" in outcome.refit_note and "refit again with seed 8" in outcome.refit_note
