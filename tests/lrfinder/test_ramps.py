"""The range test on the fast trainer follows the Keras range test's curve on the same weights and batches;
`lr-find` on a covered configuration never imports TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import ROOT, fast_structure, keras_twin, tiny_dataset
from tests.trainers.transfer_data import random_base, tiny
from tunecli.config.catalogue import with_defaults
from tunecli.lrfinder.ramp_fast import ramp_losses
from tunecli.lrfinder.ramp_keras import keras_ramp
from tunecli.lrfinder.range_test import run_range_test
from tunecli.lrfinder.rules import lr_schedule


@pytest.mark.parametrize("arch", [{}, {"optimizer": "nesterov", "activation": "elu"},
                                  {"batch_norm": "before", "optimizer": "rmsprop"}], ids=["adam", "nesterov", "bn"])
def test_fast_ramp_matches_the_keras_ramp(arch: dict) -> None:
    from tunecli.trainers.keras.fit import compile_model

    data = tiny_dataset()
    params = {"n_hidden": 2, "n_neurons": 10, "batch_size": 10, **arch}
    lrs = lr_schedule(1e-4, 0.3, 12)  # 3 passes over the 4 batches: the ramp crosses epochs
    fast = ramp_losses(with_defaults(params), data, lrs, seed=1, shuffle=False)
    st, widths, got = fast_structure(params, data)  # the same initial weights (rng 1)
    moving = tuple((np.zeros(w), np.ones(w)) for w in st.widths)  # Keras' initial moving statistics
    model, *_ = keras_twin(st, widths, got["theta"], moving, got["p"], data)
    compile_model(model, {**got["p"], "schedule": "constant", "learning_rate": float(lrs[0])}, data.task, 4, 1, 1)
    slow = keras_ramp(got["p"], data, lrs, seed=None, stop=lambda losses: False, shuffle=False, model=model)
    assert len(fast) == len(slow) == 12
    np.testing.assert_allclose(fast, slow, rtol=2e-4, atol=2e-5)


def test_the_ramp_spans_epochs_and_stops_when_the_loss_explodes() -> None:
    from tunecli.config.space import DataSpec
    from tunecli.data import load_data

    data = load_data(DataSpec(source="iris"))  # 90 rows: 3 batches of 32 per pass
    result = run_range_test({"n_hidden": 1, "n_neurons": 16}, data, min_lr=1e-5, max_lr=100.0, steps=200, seed=0)
    assert result.trainer == "jax" and 30 < result.steps <= 200
    assert result.lrs == pytest.approx(list(lr_schedule(1e-5, 100.0, 200)[: result.steps]))
    assert result.stopped_early and "passes over" in result.notes[0]
    keras = run_range_test({"n_hidden": 1, "n_neurons": 16}, data, min_lr=1e-5, max_lr=1.0, steps=20, seed=0,
                           trainer="keras")
    assert keras.trainer == "keras" and keras.steps == 20


@pytest.mark.slow
def test_lr_find_on_the_fast_trainer_never_imports_tensorflow(tmp_path) -> None:
    code = ("import sys; from tunecli.cli import app; from typer.testing import CliRunner; "
            f"r = CliRunner().invoke(app, ['lr-find', r'{ROOT / 'search_spaces' / 'quickstart.yaml'}', '--json']); "
            "assert r.exit_code == 0, r.output; import json; d = json.loads(r.output); "
            "assert d['trainer'] == 'jax' and d['steps'] > 100, d; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_the_fast_ramp_starts_from_the_base_frozen() -> None:
    """The ramp's run (one epoch) holds the base's layers, frozen as the trial's first phase."""
    from tunecli.config.space import Training
    from tunecli.trainers.fast.loop import Run

    p = with_defaults({"n_hidden": 2, "freeze_epochs": 2})
    lrs = np.geomspace(1e-5, 1.0, 12)
    ramps = [ramp_losses(p, tiny(base=base), lrs, seed=0) for base in (random_base(seed=3), random_base(seed=4))]
    assert ramps[0] != ramps[1]
    data = tiny(base=random_base())
    run = Run(p, data, Training(max_epochs=1), 1, data.x_train, data.y_train, (data.x_val, data.y_val))
    assert run.st.freeze and run.phases.unfreeze_at(1) is None
