"""The search keeps the trained weights of its best trials in the study (``search.weights``)."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from tunecli.search.weights import keep, keep_count, ranking
from tunecli.studies import attrs
from tunecli.studies.attrs import kept, kept_numbers
from tunecli.trainers.keras.weights import from_text, to_text


def _study(direction: str = "maximize") -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(direction=direction)


def _finish(study: optuna.Study, value: float) -> int:
    study.add_trial(optuna.trial.create_trial(value=value, params={}, distributions={}))
    return study.trials[-1].number


def _arrays(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)]


def test_only_the_top_k_keep_their_weights_and_better_trials_replace_them() -> None:
    study = _study()
    seen = {}
    for value, should_keep in [(0.5, True), (0.7, True), (0.6, True), (0.9, True), (0.4, False), (0.8, True)]:
        number = _finish(study, value)
        seen[number] = _arrays(number)
        assert keep(study, number, seen[number], top=2, epoch=3, value=value, trainer="jax") is should_keep
    stored = study.user_attrs
    assert kept_numbers(stored) == [3, 5] == sorted(ranking(study)[:2])  # 0.9 and 0.8
    for number in (0, 1, 2):  # kept once, dropped when two better ones arrived
        assert stored[attrs.weights_key(number)] is None and kept(stored, number) is None
    assert attrs.weights_key(4) not in stored  # never in the top: never stored
    entry = kept(stored, 3)
    assert entry.epoch == 3 and entry.value == 0.9 and entry.trainer == "jax"
    for got, want in zip(from_text(entry.weights), seen[3]):
        assert got.dtype == np.float32 and np.array_equal(got, want)


def test_at_least_one_is_kept_and_a_minimizing_study_keeps_the_lowest() -> None:
    assert keep_count(0) == 1 and keep_count(5) == 5
    study = _study("minimize")
    for value in (3.0, 1.0, 2.0):
        number = _finish(study, value)
        keep(study, number, _arrays(number), top=0)
    assert kept_numbers(study.user_attrs) == [1]


def test_the_ranking_is_re_rankings_mean_of_runs() -> None:
    study = _study()
    for value in (0.9, 0.8):
        number = _finish(study, value)
        keep(study, number, _arrays(number), top=1)
    assert kept_numbers(study.user_attrs) == [0]
    study.set_user_attr(attrs.repeats_key(0), [0.9, 0.5, 0.5])  # re-ranked: its mean falls below trial #1's score
    number = _finish(study, 0.1)
    keep(study, number, _arrays(number), top=1)
    assert ranking(study)[:2] == [1, 0]
    assert kept_numbers(study.user_attrs) == []  # #0 fell out; #1's weights were dropped long ago: none left


def test_a_failed_or_weightless_trial_stores_nothing() -> None:
    study = _study()
    number = _finish(study, 0.5)
    assert keep(study, number, None, top=2) is False
    assert kept_numbers(study.user_attrs) == []


def test_weights_text_round_trips_exactly_and_refuses_garbage() -> None:
    arrays = [np.arange(12, dtype=np.float32).reshape(3, 4) / 7, np.float32([1e-30, -0.0, 3.4e38])]
    text = to_text(arrays)
    assert isinstance(text, str) and text.isascii()
    back = from_text(text)
    assert [a.shape for a in back] == [(3, 4), (3,)]
    assert all(np.array_equal(a, b) and a.tobytes() == b.tobytes() for a, b in zip(arrays, back))
    for bad in ("not base64!", to_text(arrays)[:40], "aGVsbG8="):
        with pytest.raises(ValueError, match="not a stored weights archive|Cannot load|pickled"):
            from_text(bad)


@pytest.mark.parametrize("arch", [{"batch_norm": "before", "activation": "prelu"},
                                  {"batch_norm": "after", "activation": "prelu", "dropout": 0.2},
                                  {"activation": "elu", "n_hidden": 3}], ids=["bn-before-prelu", "bn-after", "plain"])
def test_fast_layout_becomes_the_keras_models_weights(arch: dict) -> None:
    """The padded flat vector of the fast trainer, unpadded into what ``build_mlp``'s model holds."""
    from tests.helpers import fast_structure, keras_twin, tiny_dataset
    from tunecli.trainers.contract import FlatWeights
    from tunecli.trainers.fast import structure
    from tunecli.trainers.keras.weights import keras_weights

    data = tiny_dataset()
    st, widths, got = fast_structure({"n_hidden": 2, "n_neurons": 10, **arch}, data)
    assert st.widths[0] > widths[0]  # padded
    rng = np.random.default_rng(4)
    theta = (got["theta"] + rng.normal(0, 0.1, got["theta"].shape)).astype(np.float32)  # padding not zero either
    bn = tuple((rng.normal(0, 0.5, w).astype(np.float32), rng.uniform(0.5, 2, w).astype(np.float32))
               for w in st.widths) if st.batch_norm != "none" else ()
    model, *_ = keras_twin(st, widths, theta * np.asarray(got["hp"]["mask"]), bn, got["p"], data)
    flat = FlatWeights(theta, bn, structure.layout(st), [data.n_features, *widths, data.n_classes], st.batch_norm)
    mine = keras_weights(flat)
    want = model.get_weights()
    assert [w.shape for w in mine] == [w.shape for w in want]
    for a, b in zip(mine, want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow  # runs searches, one with worker processes
@pytest.mark.parametrize("engine,algorithm,storage,workers", [("optuna", "tpe", "sqlite:///s.db", 2),
                                                               ("keras-tuner", "random", None, 1)],
                         ids=["optuna-sqlite-workers", "keras-tuner-journal"])
def test_a_search_keeps_the_weights_of_its_top_trials(engine: str, algorithm: str, storage: str | None, workers: int,
                                                      tmp_path, monkeypatch) -> None:
    import json

    from tests.helpers import TINY_SPACE
    from tunecli.config.space import validate_space
    from tunecli.search import run_search
    from tunecli.studies.storage import load_study

    monkeypatch.chdir(tmp_path)
    raw = {**TINY_SPACE, "search": {"trials": 4, "seed": 1, "engine": engine, "algorithm": algorithm,
                                    "workers": workers, "rerank": {"top": 2, "seeds": 1}}}
    outcome = run_search(validate_space(raw), storage_url=storage)
    study = load_study("tiny", storage)
    top = ranking(study)[:2]
    assert len(top) == 2 and kept_numbers(study.user_attrs) == sorted(top)
    trials = {t.number: t for t in study.trials}
    for number in top:
        entry = kept(study.user_attrs, number)
        assert entry.value == trials[number].value and entry.epoch == trials[number].user_attrs[attrs.BEST_EPOCH]
        assert entry.trainer == trials[number].user_attrs[attrs.TRAINER]
        arrays = from_text(entry.weights)
        assert arrays[0].shape[0] == 4 and arrays[-1].shape == (3,)  # iris: 4 features in, 3 classes out
    assert attrs.WEIGHTS not in json.dumps(outcome.summary(), default=str)  # the trial JSON shape is unchanged


@pytest.mark.parametrize("trainer", ["auto", pytest.param("keras", marks=pytest.mark.slow)],
                         ids=["fast-trainer", "keras-trainer"])  # the Keras case trains Keras models for several epochs
def test_a_trial_hands_back_the_weights_of_the_epoch_it_is_scored_by(trainer: str) -> None:
    """Best epoch (not the last) with restore_best_weights; the last epoch without it."""
    from tunecli.config.catalogue import with_defaults
    from tunecli.config.objective import resolve_objective
    from tunecli.config.space import DataSpec, Training
    from tunecli.data import load_data
    from tunecli.runtime import init_backend
    from tunecli.train import score
    from tunecli.trial import run_trial

    init_backend(None)
    from tunecli.trainers.keras.model import build_mlp

    data = load_data(DataSpec(source="digits"))
    objective = resolve_objective("auto", data.task)
    params = {"n_hidden": 2, "n_neurons": 13, "learning_rate": 0.05, "dropout": 0.2, "activation": "selu", "l2": 1e-3}
    for restore in (True, False):
        training = Training(max_epochs=6, trainer=trainer, early_stopping={"restore_best_weights": restore})
        result = run_trial(params, data, training, objective, seed=2)
        assert result.extras[attrs.TRAINER] == ("jax" if trainer == "auto" else "keras")
        curve = result.history["val_accuracy"]
        assert result.epochs == 6 and result.best_epoch == (curve.index(max(curve)) + 1 if restore else 6)
        if restore:
            assert result.best_epoch < result.epochs  # this seed peaks before the end: the best epoch is kept
        model = build_mlp(with_defaults(params), data.n_features, data.task, data.n_classes)
        model.set_weights(result.weights)
        got = score("val_accuracy", data.y_val, model.predict(data.x_val, verbose=0))
        assert got == pytest.approx(curve[result.best_epoch - 1], rel=1e-6) == result.value
