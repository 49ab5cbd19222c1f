"""Transfer learning on the fast trainer: the frozen and fine-tuning phases step for step as Keras' two fits,
one compiled program for both phases, the optimizer started afresh at unfreezing."""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from tests.trainers.transfer_data import random_base, tiny  # noqa: E402
from tunecli.config.catalogue import with_defaults  # noqa: E402
from tunecli.config.objective import resolve_objective  # noqa: E402
from tunecli.config.space import Training  # noqa: E402
from tunecli.lrfinder.ramp_fast import in_order  # noqa: E402
from tunecli.trainers import fast  # noqa: E402
from tunecli.trainers.contract import FlatWeights  # noqa: E402
from tunecli.trainers.fast import compile as fast_compile  # noqa: E402
from tunecli.trainers.fast import initial, maths, structure  # noqa: E402
from tunecli.trainers.fast.loop import Run  # noqa: E402
from tunecli.trainers.keras.fit import compile_model, fit_phases  # noqa: E402
from tunecli.trainers.keras.model import build_mlp, freeze  # noqa: E402
from tunecli.trainers.keras.schedules import make_schedule  # noqa: E402
from tunecli.trainers.keras.weights import keras_weights  # noqa: E402
from tunecli.trainers.transfer import phases, plan  # noqa: E402

ROWS, BATCH, EPOCHS = 40, 10, 3


def _run(p: dict, data, epochs: int = EPOCHS) -> Run:
    return Run(p, data, Training(max_epochs=epochs), 1, data.x_train, data.y_train, (data.x_val, data.y_val))


def _flat(run: Run, theta) -> list[np.ndarray]:
    return keras_weights(FlatWeights(np.asarray(theta), (), structure.layout(run.st),
                                     [run.st.n_features, *run.widths, run.st.n_out], run.st.batch_norm))


@pytest.mark.parametrize("arch", [{"optimizer": "adam", "schedule": "cosine", "l2": 1e-2, "max_norm": 0.8},
                                  {"optimizer": "nadam", "schedule": "one_cycle"},
                                  {"optimizer": "momentum", "schedule": "piecewise", "clipnorm": 0.5}],
                         ids=["adam-cosine-l2-maxnorm", "nadam-1cycle", "momentum-piecewise-clipnorm"])
def test_frozen_then_fine_tuned_steps_match_keras_two_fits(arch: dict) -> None:
    """One frozen epoch then two fine-tuning epochs, rows in order, from the same weights: the fast trainer's
    weights and losses are those of ``fit_phases`` (a recompiled fresh optimizer, its schedule going on)."""
    data = tiny(task="regression", rows=ROWS, base=random_base())
    p = with_defaults({"n_hidden": 3, "n_neurons": 9, "batch_size": BATCH, "learning_rate": 0.02,
                       "freeze_epochs": 1, "fine_tune_lr_factor": 0.5, **arch})
    run = _run(p, data)
    start = np.asarray(run.state["theta"])
    idx = in_order(run)
    run.compile(idx)
    losses = []
    for epoch in range(EPOCHS):
        if epoch == 1:
            run.unfreeze(epoch)
        losses.append(run.epoch(idx)["loss"])
    planned = plan(p, data.base)[0]
    model = build_mlp(planned, data.n_features, data.task)
    model.set_weights(_flat(run, start))
    freeze(model, 2)
    steps = ROWS // BATCH
    compile_model(model, planned, data.task, steps, EPOCHS, 1)
    history = fit_phases(model, planned, data.task, phases(p, data.base, EPOCHS), data.x_train, data.y_train,
                         epochs=EPOCHS, steps_per_epoch=steps, max_epochs=EPOCHS, steps_per_execution=1,
                         batch_size=BATCH, shuffle=False, verbose=0)
    for mine, want in zip(_flat(run, run.state["theta"]), model.get_weights()):
        np.testing.assert_allclose(mine, want, atol=3e-5)
    np.testing.assert_allclose(losses, history["loss"], rtol=1e-4)


@pytest.mark.parametrize("schedule", ["power", "exponential", "piecewise", "one_cycle", "cosine"])
def test_the_fine_tuning_schedule_goes_on_at_the_unfreezing_epoch(schedule: str) -> None:
    p = with_defaults({"schedule": schedule, "learning_rate": 0.01, "power_c": 2.0})
    st, widths = structure.structure_of(p, tiny(), BATCH, freeze=True)
    init = initial.initial_theta(p, st, widths, np.random.default_rng(0))
    hp = {**initial.hyper(p, st, 3, 4), **{k: init[k] for k in ("mask", "reg", "var_id")}, "step0": jnp.float32(6)}
    keras_lr = make_schedule(p, steps_per_epoch=3, max_epochs=4, offset=6)
    for step in (0, 1, 3, 5, 6):
        want = float(np.asarray(keras_lr(step)))
        assert float(maths.learning_rate(st, hp, jnp.float32(step))) == pytest.approx(want, rel=1e-5)


def test_unfreezing_starts_a_fresh_optimizer_in_the_same_program() -> None:
    data = tiny(base=random_base())
    p = with_defaults({"n_hidden": 3, "n_neurons": 12, "freeze_epochs": 1, "fine_tune_lr_factor": 0.25, "l2": 1e-3})
    run = _run(p, data)
    assert run.st.freeze
    assert np.asarray(run.hp["var_train"]).tolist()[:5] == [0, 0, 0, 0, 1]  # the reused kernels and biases frozen
    idx = run.epoch_order()
    run.compile(idx)
    run.epoch(idx)
    assert float(run.state["t"]) > 0 and np.abs(np.asarray(run.state["slots"][0])).sum() > 0
    run.unfreeze(1)
    assert float(run.state["t"]) == 0 and float(run.state["u_prod"]) == 1
    assert not np.asarray(run.state["slots"][0]).any() and not np.asarray(run.state["slots"][1]).any()
    assert float(run.hp["lr"]) == pytest.approx(0.25 * p["learning_rate"])
    assert float(run.hp["step0"]) == run.steps and np.asarray(run.hp["var_train"]).all()
    np.testing.assert_array_equal(np.asarray(run.hp["reg"]), run.full_reg)
    # one program for both phases: a trial frozen all along and one that unfreezes compile nothing new
    training, objective = Training(max_epochs=3), resolve_objective("auto", data.task)
    fast.fit({**p, "freeze_epochs": 5}, data, training, objective, seed=0)
    compiled = len(fast_compile.EXECUTABLES)
    fast.fit({**p, "freeze_epochs": 2, "learning_rate": 3e-3}, data, training, objective, seed=1)
    assert len(fast_compile.EXECUTABLES) == compiled


def test_a_plain_trial_keeps_its_program() -> None:
    """Without a base nothing of the freezing is traced: the structure is today's."""
    run = _run(with_defaults({"freeze_epochs": 3}), tiny())
    assert not run.st.freeze and "var_train" not in run.hp and "step0" not in run.hp

