"""The fast trainer compiles quickly (-O0) what trains little and optimizes what trains long."""

from __future__ import annotations

import numpy as np
import pytest

from tunecli.runtime import init_backend

init_backend(None)

jax = pytest.importorskip("jax")

from tunecli.config.catalogue import with_defaults  # noqa: E402
from tunecli.config.objective import resolve_objective  # noqa: E402
from tunecli.config.space import Training  # noqa: E402
from tunecli.data import Dataset, load_data  # noqa: E402
from tunecli.trainers.fast import compile as fast_compile  # noqa: E402
from tunecli.trainers.fast import cost, loop, structure  # noqa: E402


@pytest.fixture(scope="module")
def digits() -> Dataset:
    from tunecli.config.space import DataSpec

    return load_data(DataSpec(source="digits"))


def _structure(params: dict, data: Dataset) -> structure.Structure:
    p = with_defaults(params)
    return structure.structure_of(p, data, p["batch_size"])[0]


def test_expected_epochs_follow_the_patience() -> None:
    assert cost.expected_epochs(Training(max_epochs=100, early_stopping={"patience": 3})) == 8
    assert cost.expected_epochs(Training(max_epochs=5, early_stopping={"patience": 3})) == 5
    assert cost.expected_epochs(Training(max_epochs=100, early_stopping={"enabled": False})) == 100


def test_small_networks_on_small_data_compile_quickly(digits: Dataset) -> None:
    rows = len(digits.x_train)
    small = _structure({"n_hidden": 2, "n_neurons": 64, "batch_size": 32}, digits)
    large = _structure({"n_hidden": 4, "n_neurons": 256, "batch_size": 16}, digits)
    epochs = cost.expected_epochs(Training(max_epochs=100, early_stopping={"patience": 3}))
    assert cost.quick_compile(small, rows, -(-rows // 32), epochs)
    assert not cost.quick_compile(large, rows, -(-rows // 16), epochs)
    assert not cost.quick_compile(small, rows, -(-rows // 32), 1000)  # trained long: optimized
    assert not cost.quick_compile(small, 100 * rows, -(-100 * rows // 32), epochs)  # many rows: optimized
    assert not cost.quick_compile(small, rows, -(-rows // 32), epochs, members=32)  # many members: optimized


def test_members_where_compiling_dominates_one_where_compute_does(digits: Dataset) -> None:
    rows = len(digits.x_train)
    small = _structure({"n_hidden": 2, "n_neurons": 64, "batch_size": 32}, digits)
    large = _structure({"n_hidden": 4, "n_neurons": 256, "batch_size": 16}, digits)
    assert cost.members_for(small, rows, -(-rows // 32), 10) == cost.MAX_MEMBERS
    assert cost.members_for(small, rows, -(-rows // 32), 10, most=3) == 3
    assert cost.members_for(large, 20 * rows, -(-20 * rows // 16), 10) == 1   # a large network on many rows
    assert cost.epoch_seconds(large, rows, -(-rows // 16)) > 5 * cost.epoch_seconds(small, rows, -(-rows // 32))


def test_quick_and_optimized_programs_agree_and_are_kept_apart(digits: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    p = with_defaults({"n_hidden": 2, "n_neurons": 40, "activation": "swish", "optimizer": "nadam", "batch_size": 64,
                       "learning_rate": 3e-3, "batch_norm": True})
    training = Training(max_epochs=3, early_stopping={"enabled": False})
    objective = resolve_objective("auto", digits.task)
    histories = {}
    for quick in (True, False):
        monkeypatch.setattr(loop, "quick_compile", lambda *_, quick=quick: quick)
        before = set(fast_compile.EXECUTABLES)
        histories[quick] = loop.fit(p, digits, training, objective, seed=3).history
        new = [key for key in fast_compile.EXECUTABLES if key not in before]
        assert [key[2] for key in new if key[0] != "evaluate"] == [quick]  # its own training program, by tier
    for name, values in histories[True].items():
        np.testing.assert_allclose(values, histories[False][name], rtol=1e-4, err_msg=name)
