"""1cycle's momentum: ``cycle_momentum`` cycles the momentum (SGD) or ``beta_1`` (Adam family) against the LR,
the same in the fast trainer and in Keras; ``false`` leaves today's behaviour; the YAML field is checked."""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from tunecli.config.catalogue import cycled_momentum, with_defaults  # noqa: E402
from tunecli.config.objective import resolve_objective  # noqa: E402
from tunecli.config.space import Training, validate_space  # noqa: E402
from tunecli.data import Dataset  # noqa: E402
from tunecli.errors import SpaceError  # noqa: E402
from tunecli.studies import attrs  # noqa: E402
from tunecli.trainers.fast import compile as fast_compile  # noqa: E402
from tunecli.trainers.fast import initial, maths, structure  # noqa: E402
from tunecli.trainers.keras import optimizers  # noqa: E402
from tunecli.trainers.keras.fit import compile_model  # noqa: E402
from tunecli.trainers.keras.model import build_mlp, keras  # noqa: E402
from tunecli.trainers.keras.schedules import make_schedule  # noqa: E402
from tunecli.trial import run_trial  # noqa: E402

ROWS, BATCH, EPOCHS = 40, 10, 3
STEPS = ROWS // BATCH  # 4 steps an epoch, 12 in the run: the rise, the fall and the tail of the cycle
CYCLED = {"momentum": optimizers.CycledSGD, "nesterov": optimizers.CycledSGD, "adam": optimizers.CycledAdam,
          "adamax": optimizers.CycledAdamax, "nadam": optimizers.CycledNadam, "adamw": optimizers.CycledAdamW}
STOCK = {"momentum": keras.optimizers.SGD, "nesterov": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
         "adamax": keras.optimizers.Adamax, "nadam": keras.optimizers.Nadam, "adamw": keras.optimizers.AdamW}


def _data() -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 5)).astype("float32")
    y = (x @ rng.normal(size=5) + 0.1 * rng.normal(size=ROWS)).astype("float32")
    return Dataset("tiny", "regression", x, y, x, y, x, y, n_classes=0)


def _params(**over: object) -> dict:
    return with_defaults({"n_hidden": 2, "n_neurons": 10, "batch_size": BATCH, "learning_rate": 0.02,
                          "schedule": "one_cycle", "cycle_div": 10.0, **over})


def _setup(p: dict, data: Dataset) -> tuple[structure.Structure, list[int], dict, dict]:
    st, widths = structure.structure_of(p, data, BATCH)
    init = initial.initial_theta(p, st, widths, np.random.default_rng(1))
    hp = {**initial.hyper(p, st, STEPS, EPOCHS), **{k: init[k] for k in ("mask", "reg", "var_id")}}
    return st, widths, init, jax.device_put(hp)


def _fast_run(p: dict, data: Dataset) -> tuple[structure.Structure, list[int], np.ndarray, np.ndarray]:
    """The initial and final flat weights of EPOCHS epochs of the fast trainer, rows in order."""
    st, widths, init, hp = _setup(p, data)
    state = {"theta": jnp.asarray(init["theta"]), "t": jnp.float32(0), "u_prod": jnp.float32(1),
             "slots": (jnp.zeros_like(init["theta"]),) * maths.n_slots(st.optimizer), "pos": jnp.int32(0),
             "stats": jnp.zeros(4), "bn": ()}
    idx = jnp.arange(ROWS, dtype=jnp.int32).reshape(STEPS, BATCH)
    x, y, w, noise = jnp.asarray(data.x_train), jnp.asarray(data.y_train), jnp.ones((STEPS, BATCH)), jnp.zeros(
        (STEPS, BATCH, 1), jnp.uint16)
    for _ in range(EPOCHS):
        state = {**state, "pos": jnp.int32(0)}
        for _ in range(STEPS):
            state = maths.train_step(st, state, hp, x, y, idx, w, noise)
    return st, widths, init["theta"], np.asarray(state["theta"])


def _keras_run(p: dict, data: Dataset, st: structure.Structure, widths: list[int], theta: np.ndarray) -> tuple:
    """Keras' fit over the same rows from the same weights; the model and its Dense layers' real sizes."""
    model = build_mlp(p, data.n_features, data.task, data.n_classes)
    layers = structure.unflatten(st, theta)
    real = [data.n_features, *widths, 1]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for i, layer in enumerate(dense):
        layer.set_weights([layers[i]["kernel"][:real[i], :real[i + 1]], layers[i]["bias"][:real[i + 1]]])
    compile_model(model, p, data.task, STEPS, EPOCHS, 1)
    model.fit(data.x_train, data.y_train, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    return model, dense, real


def _max_diff(st: structure.Structure, theta: np.ndarray, dense: list, real: list[int]) -> float:
    """The largest |difference| between the fast trainer's weights (unpadded) and the Keras layers'."""
    mine = structure.unflatten(st, theta)
    diffs = []
    for i, layer in enumerate(dense):
        kernel, bias = layer.get_weights()
        diffs.append(np.max(np.abs(mine[i]["kernel"][:real[i], :real[i + 1]] - kernel)))
        diffs.append(np.max(np.abs(mine[i]["bias"][:real[i + 1]] - bias)))
    return float(max(diffs))


# ------------------------------------------------------------------ the curve


def test_momentum_curve_goes_high_low_high_against_the_lr() -> None:
    p = _params(optimizer="nesterov", cycle_momentum=[0.85, 0.95])
    st, _, _, hp = _setup(p, _data())
    total = STEPS * EPOCHS  # 12 steps: 45 % at step 5.4, 90 % at 10.8
    keras_opt = optimizers.make_optimizer(p, make_schedule(p, STEPS, EPOCHS))
    lr = make_schedule(p, STEPS, EPOCHS)
    assert isinstance(keras_opt, optimizers.CycledSGD)
    want = {0.0: 0.95, 0.225: 0.90, 0.45: 0.85, 0.675: 0.90, 0.9: 0.95, 0.95: 0.95, 1.0: 0.95, 1.5: 0.95}
    for frac, value in want.items():
        step = frac * total
        fast = float(maths.momentum_term(st, hp, jnp.float32(step), hp["momentum"]))
        slow = float(keras.ops.convert_to_numpy(keras_opt.cycled(step)))
        assert fast == pytest.approx(value, abs=1e-6)
        assert slow == pytest.approx(value, abs=1e-6)
    # inversely to the LR, step by step: momentum falls while the LR rises, and rises while it falls
    moms = [float(maths.momentum_term(st, hp, jnp.float32(s), hp["momentum"])) for s in range(total + 1)]
    lrs = [float(keras.ops.convert_to_numpy(lr(s))) for s in range(total + 1)]
    for a in range(total):
        if lrs[a + 1] > lrs[a]:
            assert moms[a + 1] < moms[a]
        elif (a + 1) / total <= 0.9:
            assert moms[a + 1] > moms[a]
        else:  # the last 10 %: the LR anneals, momentum stays at its maximum
            assert moms[a + 1] == pytest.approx(0.95, abs=1e-7)


def test_bounds_are_inputs_not_structure() -> None:
    data = _data()
    shapes = []
    for bounds in ([0.85, 0.95], [0.8, 0.99], False, None):
        p = _params(optimizer="adam", cycle_momentum=bounds)
        st, _, _, hp = _setup(p, data)
        shapes.append((st, jax.tree.structure(hp)))
    assert all(s == shapes[0] for s in shapes)


def test_only_momentum_optimizers_under_one_cycle_cycle() -> None:
    on = [0.8, 0.9]
    assert cycled_momentum(_params(optimizer="adam", cycle_momentum=on)) == (0.8, 0.9)
    assert cycled_momentum(_params(optimizer="momentum")) == (0.85, 0.95)  # the default
    assert cycled_momentum(_params(optimizer="adam", cycle_momentum=on, schedule="cosine")) is None
    for name in ("sgd", "adagrad", "rmsprop"):
        p = _params(optimizer=name, cycle_momentum=on)
        assert cycled_momentum(p) is None
        assert type(optimizers.make_optimizer(p, make_schedule(p, STEPS, EPOCHS))).__module__.startswith("keras")
    for name, cls in CYCLED.items():
        p = _params(optimizer=name, cycle_momentum=on)
        got = optimizers.make_optimizer(p, make_schedule(p, STEPS, EPOCHS))
        assert type(got) is cls
        assert getattr(got, "momentum" if cls is optimizers.CycledSGD else "beta_1") == 0.9  # the high bound
    flat = _params(optimizer="adam", cycle_momentum=[0.9, 0.9])  # a constant "cycle": the stock optimizer
    assert type(optimizers.make_optimizer(flat, make_schedule(flat, STEPS, EPOCHS))) is keras.optimizers.Adam


# ------------------------------------------------------------------ training steps: fast == Keras fit

@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam", "adamax", "nadam", "adamw"])
def test_training_steps_match_keras_fit(name: str) -> None:
    data = _data()
    p = _params(optimizer=name, cycle_momentum=[0.8, 0.95], momentum=0.5, beta_1=0.5)  # fixed values unused
    st, widths, theta0, cycled = _fast_run(p, data)
    model, dense, real = _keras_run(p, data, st, widths, theta0)
    assert type(model.optimizer) is CYCLED[name]
    diff = _max_diff(st, cycled, dense, real)
    print(f"max |fast - keras| {name}: {diff:.3g}")
    assert diff < 1e-5
    # the comparison can tell: without cycling (or with the fixed momentum term) the weights end elsewhere
    for other in (_params(optimizer=name, cycle_momentum=False, momentum=0.95, beta_1=0.95),
                  _params(optimizer=name, cycle_momentum=[0.9, 0.95])):
        assert _max_diff(st, _fast_run(other, data)[3], dense, real) > 100 * max(diff, 1e-6)


@pytest.mark.parametrize("name", ["nesterov", "nadam"])
def test_false_trains_as_the_stock_optimizer(name: str) -> None:
    data = _data()
    p = _params(optimizer=name, cycle_momentum=False)
    st, widths, theta0, mine = _fast_run(p, data)
    model, dense, real = _keras_run(p, data, st, widths, theta0)
    assert type(model.optimizer) is STOCK[name]
    assert _max_diff(st, mine, dense, real) < 1e-5


@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam", "adamax", "nadam", "adamw"])
def test_false_is_exactly_todays_update(name: str) -> None:
    """Off, the one_cycle update is bit for bit the update without any momentum cycling code."""
    p = _params(optimizer=name, cycle_momentum=False)
    st, _, init, hp = _setup(p, _data())
    assert hp["cycle_low"] == hp["cycle_high"] == hp["momentum" if name in ("momentum", "nesterov") else "beta_1"]
    plain = st._replace(schedule="constant")
    rng = np.random.default_rng(4)
    theta = jnp.asarray(init["theta"])
    states = {k: (theta, (jnp.zeros_like(theta),) * maths.n_slots(name), jnp.float32(1)) for k in ("cycle", "plain")}
    for step in range(1, 13):
        g = jnp.asarray(rng.normal(size=theta.shape).astype("float32"))
        t = jnp.float32(step)
        for key, s in (("cycle", st), ("plain", plain)):
            mine, slots, u_prod = states[key]
            u_prod = u_prod * maths.momentum_term(s, hp, t - 1, hp["beta_1"]) * (1.0 - 0.5 * 0.96**t)
            mine, slots = maths.update(s, hp, mine, g, slots, t, jnp.float32(0.01), u_prod)
            states[key] = (mine, slots, u_prod)
    assert np.array_equal(np.asarray(states["cycle"][0]), np.asarray(states["plain"][0]))
    assert np.array_equal(np.asarray(states["cycle"][2]), np.asarray(states["plain"][2]))


def test_trials_differing_only_in_bounds_share_the_program() -> None:
    data = _data()
    objective = resolve_objective("auto", data.task)
    training = Training(max_epochs=3)
    first = run_trial({"optimizer": "nadam", "schedule": "one_cycle", "cycle_momentum": [0.85, 0.95]}, data,
                      training, objective, seed=0)
    compiled = len(fast_compile.EXECUTABLES)
    for bounds in ([0.7, 0.99], False):
        other = run_trial({"optimizer": "nadam", "schedule": "one_cycle", "cycle_momentum": bounds}, data,
                          training, objective, seed=0)
        assert other.state == "COMPLETE" and other.extras[attrs.TRAINER] == "jax"
        assert other.history["loss"] != first.history["loss"]
    assert first.extras[attrs.TRAINER] == "jax"
    assert len(fast_compile.EXECUTABLES) == compiled


# ------------------------------------------------------------------ saving


@pytest.mark.parametrize("name", ["nesterov", "nadam"])
def test_keras_model_with_cycling_optimizer_saves_and_loads(name: str, tmp_path) -> None:
    data = _data()
    p = _params(optimizer=name, cycle_momentum=[0.8, 0.95])
    model = build_mlp(p, data.n_features, data.task, data.n_classes)
    compile_model(model, p, data.task, STEPS, EPOCHS, 1)
    model.fit(data.x_train, data.y_train, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.optimizer) is CYCLED[name]
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(keras.ops.convert_to_numpy(loaded.optimizer.iterations)) == STEPS
    for step in (0, 5, 11):
        assert float(keras.ops.convert_to_numpy(loaded.optimizer.cycled(step))) == pytest.approx(
            float(keras.ops.convert_to_numpy(model.optimizer.cycled(step))))
    # the rest of the run goes on the same from the saved optimizer state
    for m in (model, loaded):
        m.fit(data.x_train, data.y_train, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


# ------------------------------------------------------------------ the YAML field


@pytest.mark.parametrize("value", [[0.85, 0.95], [0.0, 0.0], False, None,
                                   {"choice": [[0.85, 0.95], [0.8, 0.99], False]}])
def test_good_cycle_momentum_values(value: object) -> None:
    space = validate_space({"space": {"schedule": "one_cycle", "cycle_momentum": value}})
    assert "cycle_momentum" in space.space


@pytest.mark.parametrize(("value", "fragment"), [
    ([0.95, 0.85], "0 <= low <= high < 1"),
    ([0.9, 1.0], "0 <= low <= high < 1"),
    ([-0.1, 0.9], "0 <= low <= high < 1"),
    ([0.9], "a list [low, high]"),
    ([0.8, 0.9, 0.95], "a list [low, high]"),
    (["low", 0.9], "a list [low, high]"),
    ([True, 0.9], "a list [low, high]"),
    (True, "a list [low, high]"),
    (0.9, "a list [low, high]"),
    ({"float": [0.8, 0.9]}, "a list [low, high]"),
    ({"choice": [[0.85, 0.95], [0.99, 0.9]]}, "0 <= low <= high < 1"),
])
def test_bad_cycle_momentum_names_the_field(value: object, fragment: str) -> None:
    with pytest.raises(SpaceError) as info:
        validate_space({"space": {"cycle_momentum": value}}, source="bad.yaml")
    text = info.value.render()
    assert "space.cycle_momentum" in text
    assert fragment in text
