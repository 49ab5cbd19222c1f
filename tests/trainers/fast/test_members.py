"""Members: K configurations of one structure trained by one program give what each gives trained alone.

The single trial's trainer is held equal to Keras' ``fit`` in ``test_fastfit``; here every member is held
equal to it (histories, kept weights, stopping and pruning decisions), so the members equal Keras too.
"""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

pytest.importorskip("jax")

from tunecli.config.catalogue import with_defaults  # noqa: E402
from tunecli.config.objective import resolve_objective  # noqa: E402
from tunecli.config.space import Training  # noqa: E402
from tunecli.data import Dataset  # noqa: E402
from tunecli.trainers.fast import meter  # noqa: E402
from tunecli.trainers.fast.loop import fit  # noqa: E402
from tunecli.trainers.fast.members import fit_members, group_key  # noqa: E402


def _data(task: str = "classification", rows: int = 150, features: int = 6) -> Dataset:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(rows, features)).astype("float32")
    if task == "classification":
        y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
        return Dataset("members", task, x, y, x[:60], y[:60], x[:30], y[:30], n_classes=3)
    y = (x[:, 0] * 2 - x[:, 1] + rng.normal(scale=0.1, size=rows)).astype("float32")
    return Dataset("members", task, x, y, x[:60], y[:60], x[:30], y[:30], n_classes=0)


# Each case: what the members share (the structure) and what each one varies (continuous inputs, widths
# inside one bucket); seeds vary too.
CASES = {
    "adam-constant": ({"n_hidden": 2, "optimizer": "adam"},
                      [{"learning_rate": 1e-3, "n_neurons": 30}, {"learning_rate": 1e-2, "n_neurons": 32},
                       {"learning_rate": 3e-2, "n_neurons": 25, "beta_1": 0.8}]),
    "momentum-bn-dropout-maxnorm": ({"n_hidden": 2, "n_neurons": 20, "optimizer": "nesterov", "batch_norm": "before",
                                     "max_norm": 1.0, "dropout": 0.2},
                                    [{"momentum": 0.9, "dropout": 0.1}, {"momentum": 0.5, "dropout": 0.3,
                                                                        "max_norm": 2.0}]),
    "selu-alpha-dropout-l1l2-clip": ({"n_hidden": 3, "n_neurons": 16, "activation": "selu", "optimizer": "rmsprop",
                                      "dropout": 0.1, "l1": 1e-4, "l2": 1e-3, "clipnorm": 1.0},
                                     [{"l2": 1e-2, "clipnorm": 0.5}, {"dropout": 0.3, "l1": 1e-3}]),
    "one-cycle-nadam": ({"n_hidden": 1, "n_neurons": 24, "optimizer": "nadam", "schedule": "one_cycle",
                         "batch_size": 16}, [{"learning_rate": 1e-2}, {"learning_rate": 5e-2, "cycle_div": 10.0}]),
    "performance-sgd-prelu": ({"n_hidden": 2, "n_neurons": 12, "optimizer": "sgd", "activation": "prelu",
                               "schedule": "performance", "plateau_patience": 1, "plateau_factor": 0.3},
                              [{"learning_rate": 0.05}, {"learning_rate": 0.2}]),
    "exponential-adamw-mc-dropout": ({"n_hidden": 2, "n_neurons": 16, "optimizer": "adamw", "schedule": "exponential",
                                      "dropout": 0.2, "mc_dropout": True},
                                     [{"decay_rate": 0.5}, {"decay_rate": 0.9, "weight_decay": 0.01}]),
}


def _close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=2e-4, atol=2e-5, err_msg=k)


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("case", list(CASES))
def test_each_member_trains_as_it_would_alone(case: str, task: str) -> None:
    if task == "regression" and case != "adam-constant" and case != "performance-sgd-prelu":
        pytest.skip("one structure per task is enough for regression")
    data = _data(task)
    shared, varied = CASES[case]
    ps = [with_defaults({"batch_size": 32, **shared, **v}) for v in varied]
    assert len({group_key(p, data) for p in ps}) == 1
    training = Training(max_epochs=5)
    objective = resolve_objective("auto", task)
    seeds = [11 + k for k in range(len(ps))]
    together = fit_members(ps, data, training, objective, seeds=seeds)
    for p, seed, member in zip(ps, seeds, together):
        alone = fit(p, data, training, objective, seed=seed)
        _close(member.history, alone.history)
        assert (member.pruned, member.diverged) == (alone.pruned, alone.diverged)
        assert (member.weights is None) == (alone.weights is None)
        if alone.weights is None:   # no finite score: nothing kept, alone or together
            continue
        np.testing.assert_allclose(member.weights.theta, alone.weights.theta, rtol=1e-3, atol=1e-4)
        assert member.weights.sizes == alone.weights.sizes
        for (m1, v1), (m2, v2) in zip(member.weights.bn, alone.weights.bn):
            np.testing.assert_allclose(m1, m2, rtol=1e-3, atol=1e-4)
            np.testing.assert_allclose(v1, v2, rtol=1e-3, atol=1e-4)


def test_a_pruned_or_stopped_member_ends_while_the_others_go_on() -> None:
    data = _data()
    ps = [with_defaults({"n_hidden": 1, "n_neurons": 16, "batch_size": 32, "learning_rate": lr})
          for lr in (1e-2, 1e-2, 1e-2)]
    training = Training(max_epochs=6, early_stopping={"patience": 1})
    objective = resolve_objective("auto", "classification")
    seen: list[tuple[int, int]] = []

    def hook(k: int):
        def on_epoch(epoch: int, value: float, logs: dict) -> bool:
            seen.append((k, epoch))
            return k == 1 and epoch == 2   # prune member 1 after its second epoch
        return on_epoch

    out = fit_members(ps, data, training, objective, seeds=[1, 2, 3], on_epochs=[hook(k) for k in range(3)])
    assert out[1].pruned and len(out[1].history["loss"]) == 2
    assert not out[0].pruned and len(out[0].history["loss"]) > 2
    assert max(e for k, e in seen if k == 1) == 2
    alone = fit(ps[0], data, training, objective, seed=1)
    assert len(alone.history["loss"]) == len(out[0].history["loss"])   # early stopping decided as alone


def test_members_of_different_structures_are_refused() -> None:
    data = _data()
    ps = [with_defaults({"n_hidden": 1}), with_defaults({"n_hidden": 2})]
    assert group_key(ps[0], data) != group_key(ps[1], data)
    with pytest.raises(ValueError, match="one structure"):
        fit_members(ps, data, Training(max_epochs=1), resolve_objective("auto", "classification"))


def test_one_program_serves_the_group() -> None:
    data = _data(rows=90)
    ps = [with_defaults({"n_hidden": 2, "n_neurons": 40, "batch_size": 16, "learning_rate": lr}) for lr in (1e-3, 1e-2)]
    asked: list[tuple] = []
    epochs: list[float] = []
    with meter.listening(on_program=lambda key, compiled: asked.append(key), on_epoch=lambda s, logs: epochs.append(s)):
        fit_members(ps, data, Training(max_epochs=3), resolve_objective("auto", "classification"), seeds=[0, 1])
    assert [key[0] for key in asked] == ["members_evaluate", "members_steps"] or \
        sorted(key[0] for key in asked) == ["members_evaluate", "members_steps"]
    assert len(epochs) == 3 * 2   # one epoch reported per member


def test_ctrl_c_keeps_the_members_that_had_ended_and_marks_the_others() -> None:
    from tunecli import interrupt

    data = _data()
    ps = [with_defaults({"n_hidden": 1, "n_neurons": 16, "batch_size": 32, "learning_rate": 1e-2}) for _ in range(3)]

    def hook(k: int):
        def on_epoch(epoch: int, value: float, logs: dict) -> bool:
            if k == 2 and epoch == 3:
                interrupt.request()   # as Ctrl-C in the middle of the group's third epoch
            return k == 1 and epoch == 1   # member 1 is pruned first
        return on_epoch

    try:
        out = fit_members(ps, data, Training(max_epochs=6), resolve_objective("auto", "classification"),
                          seeds=[1, 2, 3], on_epochs=[hook(k) for k in range(3)])
    finally:
        interrupt.reset()
    assert out[1].pruned and not out[1].interrupted and len(out[1].history["loss"]) == 1
    assert out[0].interrupted and out[2].interrupted and len(out[0].history["loss"]) == 3
