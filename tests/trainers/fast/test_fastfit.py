"""The fast JAX trainer computes what Keras computes: forward pass, update rules, schedules, initializers."""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from tests.helpers import fast_structure, keras_twin, tiny_dataset  # noqa: E402
from tunecli.config.catalogue import ACTIVATIONS, OPTIMIZERS, with_defaults  # noqa: E402
from tunecli.config.objective import resolve_objective  # noqa: E402
from tunecli.config.space import DataSpec, Training  # noqa: E402
from tunecli.data import Dataset, load_data  # noqa: E402
from tunecli.studies import attrs  # noqa: E402
from tunecli.trainers.fast import compile as fast_compile  # noqa: E402
from tunecli.trainers.fast import initial, maths, stopping, structure  # noqa: E402
from tunecli.trainers.keras.model import keras  # noqa: E402
from tunecli.trainers.keras.optimizers import make_optimizer  # noqa: E402
from tunecli.trainers.keras.schedules import make_schedule  # noqa: E402
from tunecli.trial import run_trial  # noqa: E402

ARCHITECTURES = [{"activation": a} for a in ACTIVATIONS] + [
    {"batch_norm": "before"}, {"batch_norm": "after", "activation": "elu"},
    {"batch_norm": "before", "activation": "prelu"}]


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: "-".join(str(v) for v in a.values()))
def test_forward_pass_matches_keras_with_padded_widths(arch: dict) -> None:
    data = tiny_dataset()
    params = {"n_hidden": 2, "n_neurons": 10, **arch}  # 10 units padded to 12
    st, widths, got = fast_structure(params, data)
    assert st.widths == (12, 12) and widths == [10, 10]
    rng = np.random.default_rng(3)
    theta = got["theta"] + rng.normal(0, 0.1, got["theta"].shape).astype("float32") * got["hp"]["mask"]
    bn = tuple((rng.normal(0, 0.5, w).astype("float32"), rng.uniform(0.5, 2, w).astype("float32"))
               for w in st.widths) if st.batch_norm != "none" else ()
    model, *_ = keras_twin(st, widths, theta, bn, got["p"], data)
    want = model.predict(data.x_val, verbose=0)
    logits, _ = maths.forward(st, jnp.asarray(theta), got["hp"], jnp.asarray(data.x_val), None, bn)
    np.testing.assert_allclose(np.asarray(jax.nn.softmax(logits)), want, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("arch", [{}, {"activation": "prelu", "l2": 1e-3, "max_norm": 1.0},
                                  {"batch_norm": "before", "optimizer": "nesterov", "clipnorm": 0.5},
                                  {"batch_norm": "after", "activation": "selu", "optimizer": "rmsprop"}],
                         ids=["plain", "prelu-l2-maxnorm", "bn-before", "bn-after"])
def test_training_steps_match_keras_fit(arch: dict) -> None:
    """Four steps from the same weights, without shuffling: the same weights and moving statistics."""
    data = tiny_dataset("regression")
    params = {"n_hidden": 2, "n_neurons": 10, "batch_size": 10, "learning_rate": 0.01, **arch}
    st, widths, got = fast_structure(params, data)
    steps = len(data.x_train) // 10
    state = {"theta": jnp.asarray(got["theta"]), "slots": (jnp.zeros_like(got["theta"]),) * maths.n_slots(
        st.optimizer), "t": jnp.float32(0), "u_prod": jnp.float32(1), "pos": jnp.int32(0),
        "stats": jnp.zeros(4), "bn": jax.device_put(initial.initial_bn(st))}
    model, dense, norms, real = keras_twin(st, widths, got["theta"], state["bn"], got["p"], data)
    hp = {**got["hp"], "steps_per_epoch": jnp.float32(steps)}
    idx = jnp.arange(steps * 10, dtype=jnp.int32).reshape(steps, 10)
    for _ in range(steps):
        state = maths.train_step(st, state, hp, jnp.asarray(data.x_train), jnp.asarray(data.y_train), idx,
                                    jnp.ones((steps, 10)), jnp.zeros((steps, 10, 1), jnp.uint16))
    from tunecli.trainers.keras.fit import compile_model

    compile_model(model, got["p"], data.task, steps, 4, 1)
    model.fit(data.x_train, data.y_train, batch_size=10, epochs=1, shuffle=False, verbose=0)
    mine = structure.unflatten(st, np.asarray(state["theta"]))
    for i, layer in enumerate(dense):
        np.testing.assert_allclose(mine[i]["kernel"][:real[i], :real[i + 1]], layer.get_weights()[0], atol=2e-5)
    for i, layer in enumerate(norms):
        n = real[i + 1]
        gamma, beta, mean, var = layer.get_weights()
        np.testing.assert_allclose(mine[i]["gamma"][:n], gamma, atol=2e-5)
        np.testing.assert_allclose(np.asarray(state["bn"][i][0])[:n], mean, atol=2e-5)
        np.testing.assert_allclose(np.asarray(state["bn"][i][1])[:n], var, atol=2e-5)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("clip", [None, "clipnorm", "clipvalue"])
def test_update_rules_match_keras_optimizers(name: str, clip: str | None) -> None:
    params = {"optimizer": name, "learning_rate": 0.05, **({clip: 0.3} if clip else {})}
    st, _, got = fast_structure(params, tiny_dataset())
    theta = np.asarray(got["theta"])
    n = len(theta)
    # one Keras variable per variable of the layout: clipnorm clips each one's gradient, as Keras does
    sizes = [int(np.prod(shape)) for _, _, shape in structure.layout(st)]
    cuts = np.cumsum(sizes)[:-1]
    variables = [keras.Variable(part.copy()) for part in np.split(theta, cuts)]
    optimizer = make_optimizer(got["p"], 0.05)
    rng = np.random.default_rng(2)
    hp = got["hp"]
    mine = jnp.asarray(theta)
    slots = (jnp.full(n, 0.1 if name == "adagrad" else 0.0),) * maths.n_slots(name)
    u_prod = jnp.float32(1.0)
    for step in range(1, 6):
        grad = rng.normal(size=n).astype("float32")
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), v) for g, v in zip(np.split(grad, cuts), variables)])
        t = jnp.float32(step)
        u_prod = u_prod * hp["beta_1"] * (1.0 - 0.5 * 0.96**t)
        mine, slots = maths.update(st, hp, mine, jnp.asarray(grad), slots, t, jnp.float32(0.05), u_prod)
    want = np.concatenate([keras.ops.convert_to_numpy(v) for v in variables])
    np.testing.assert_allclose(np.asarray(mine), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("schedule", ["constant", "power", "exponential", "piecewise", "one_cycle", "cosine"])
def test_schedules_match_tunecli_schedules(schedule: str) -> None:
    params = {"schedule": schedule, "learning_rate": 0.01}
    st, _, got = fast_structure(params, tiny_dataset())
    keras_lr = make_schedule(got["p"], steps_per_epoch=3, max_epochs=4)
    for step in (0, 1, 5, 7, 11, 12, 20):
        want = float(keras.ops.convert_to_numpy(keras_lr(step))) if callable(keras_lr) else keras_lr
        assert float(maths.learning_rate(st, got["hp"], jnp.float32(step))) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize(("kind", "std"), [("he_normal", (2 / 200) ** 0.5), ("lecun_normal", (1 / 200) ** 0.5),
                                           ("glorot_uniform", (2 / 300) ** 0.5)])
def test_initializers_have_keras_scale(kind: str, std: float) -> None:
    draws = initial.draw(kind, 200, 100, np.random.default_rng(0))
    assert draws.std() == pytest.approx(std, rel=0.03)
    if kind.endswith("normal"):
        assert np.abs(draws).max() <= 2 * std / initial.TRUNC_STD + 1e-9


def test_buckets_waste_at_most_half() -> None:
    assert [structure.bucket(w) for w in (1, 8, 9, 13, 16, 17, 100, 129, 256)] == [8, 8, 12, 16, 16, 24, 128, 160, 256]
    assert all(structure.bucket(w) < 1.5 * w + 8 for w in range(1, 3000))


def test_supported_names_what_falls_back_to_keras() -> None:
    training = Training()
    assert structure.supported(with_defaults({}), training) is None
    assert structure.supported(with_defaults({"activation": "prelu", "batch_norm": "before"}), training) is None
    assert structure.supported(with_defaults({"n_neurons": [30, 20]}), training) == "per-layer widths"
    assert structure.supported(with_defaults({}), training, keep_model=True) == "a Keras model is wanted"
    assert structure.supported(with_defaults({}), Training(trainer="keras")) == "trainer: keras"


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_data(DataSpec(source="digits"))


def test_fast_trial_learns_and_is_reproducible(digits: Dataset) -> None:
    objective = resolve_objective("auto", digits.task)
    params = {"n_neurons": 50, "dropout": 0.1, "learning_rate": 3e-3}
    first = run_trial(params, digits, Training(max_epochs=4), objective, seed=5)
    again = run_trial(params, digits, Training(max_epochs=4), objective, seed=5)
    assert first.extras[attrs.TRAINER] == "jax"
    assert first.value > 0.9 and first.history == again.history
    assert set(first.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_same_structure_reuses_the_compiled_step(digits: Dataset) -> None:
    objective = resolve_objective("auto", digits.task)
    training = Training(max_epochs=2)
    run_trial({"n_neurons": 20, "learning_rate": 1e-3}, digits, training, objective, seed=0)
    compiled = len(fast_compile.EXECUTABLES)
    other = run_trial({"n_neurons": 22, "learning_rate": 1e-2, "dropout": 0.0}, digits, training, objective, seed=1)
    assert other.state == "COMPLETE"
    assert len(fast_compile.EXECUTABLES) == compiled  # 20 and 22 units share the 24-unit bucket: nothing compiled
    wider = run_trial({"n_neurons": 30, "learning_rate": 1e-3}, digits, training, objective, seed=0)
    assert wider.state == "COMPLETE" and len(fast_compile.EXECUTABLES) > compiled  # 30 units: the 32 bucket


def test_mc_dropout_stays_on_when_evaluating() -> None:
    data = tiny_dataset()
    losses = {}
    for mc in (False, True):
        st, _, got = fast_structure({"dropout": 0.5, "mc_dropout": mc}, data)
        ev = structure.forward_only(st)
        x, y, w = jnp.asarray(data.x_val), jnp.asarray(data.y_val), jnp.ones(len(data.x_val))
        noises = [jnp.asarray(np.random.default_rng(k).integers(0, 65536, (3, len(x), sum(st.widths)), np.uint16))
                  for k in (0, 1)]
        losses[mc] = [float(maths.evaluate(ev, jnp.asarray(got["theta"]), (), got["hp"], x, y, w, n)[0])
                      for n in noises]
        if mc:  # the score of the mean probability over the 3 passes, not of one pass
            probs = np.mean([np.asarray(jax.nn.softmax(maths.forward(ev, jnp.asarray(got["theta"]), got["hp"], x, n,
                                                                     ())[0])) for n in noises[0]], axis=0)
            want = -np.log(probs[np.arange(len(y)), np.asarray(y)]).sum()
            assert losses[True][0] == pytest.approx(want, rel=1e-4)
    assert losses[False][0] == losses[False][1]  # plain dropout: off at inference
    assert losses[True][0] != losses[True][1]  # MC dropout: on at inference


def test_early_stopping_and_plateau_follow_keras_rules() -> None:
    objective = resolve_objective("val_loss", "regression")
    stopper = stopping.EarlyStop(Training(early_stopping={"patience": 2}), objective)
    stops = [stopper.stop({"val_loss": v}, e) for e, v in enumerate([1.0, 0.9, 0.95, 0.92, 0.91])]
    assert stops == [False, False, False, True, True]
    plateau = stopping.Plateau(with_defaults({"plateau_factor": 0.5, "plateau_patience": 1}), objective)
    assert [plateau.scale({"val_loss": v}) for v in (1.0, 1.0, 0.5, 0.6)] == [1.0, 0.5, 0.5, 0.25]


def test_regression_trial_reports_keras_metric_names() -> None:
    data = tiny_dataset("regression")
    result = run_trial({"loss": "huber", "l2": 1e-3, "max_norm": 2.0, "schedule": "performance"}, data,
                       Training(max_epochs=3), resolve_objective("auto", data.task), seed=0)
    assert result.state == "COMPLETE" and result.extras[attrs.TRAINER] == "jax"
    assert set(result.history) == {"loss", "rmse", "mae", "val_loss", "val_rmse", "val_mae"}
    assert all(np.isfinite(v) for vals in result.history.values() for v in vals)
