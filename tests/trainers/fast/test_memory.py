"""The fast trainer's memory: dropout noise in bounded chunks, and a network too large for memory fails its
trial (with the reason) instead of the search."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tunecli.runtime import init_backend

init_backend(None)

pytest.importorskip("jax")

from tunecli.config.catalogue import with_defaults  # noqa: E402
from tunecli.config.objective import resolve_objective  # noqa: E402
from tunecli.config.space import DataSpec, Training  # noqa: E402
from tunecli.data import Dataset, load_data  # noqa: E402
from tunecli.trainers import fast  # noqa: E402
from tunecli.trainers.fast import compile as fast_compile  # noqa: E402
from tunecli.trainers.fast import loop, maths  # noqa: E402
from tunecli.trial import run_trial  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
HUGE = {"n_hidden": 64, "n_neurons": 16384}  # 17 billion parameters: 630 GiB with Adam


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_data(DataSpec(source="digits"))


def _chunks_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """Record the shape of every noise chunk sent to the device."""
    seen: list[tuple[int, ...]] = []
    draw = loop.Run.noise_chunk

    def spy(self: loop.Run, n: int):
        chunk = draw(self, n)
        seen.append(tuple(chunk.shape))
        return chunk

    monkeypatch.setattr(loop.Run, "noise_chunk", spy)
    return seen


@pytest.mark.parametrize("batch_size", [8, 32], ids=["compiled-loop", "step-by-step"])
def test_noise_chunks_are_bounded_and_do_not_change_the_results(digits: Dataset, monkeypatch: pytest.MonkeyPatch,
                                                                 batch_size: int) -> None:
    """Noise is drawn a chunk at a time from the trial's stream, in batch order: any chunk size gives the
    results one whole-epoch draw gives (135 batches of 8 run as compiled loops, 34 of 32 step by step)."""
    objective = resolve_objective("auto", digits.task)
    params = {"n_hidden": 2, "n_neurons": 44, "dropout": 0.2, "batch_size": batch_size, "learning_rate": 3e-3}
    seen = _chunks_seen(monkeypatch)
    whole = run_trial(params, digits, Training(max_epochs=2), objective, seed=3)
    steps = -(-len(digits.x_train) // batch_size)
    assert whole.state == "COMPLETE" and {s[0] for s in seen} == {steps}  # 4 MB hold the whole epoch here
    units = 2 * 48
    monkeypatch.setattr(loop, "NOISE_CHUNK_BYTES", 2 * batch_size * units * 7)  # 7 batches: the last chunk is short
    seen.clear()
    compiled = len(fast_compile.EXECUTABLES)
    chunked = run_trial(params, digits, Training(max_epochs=2), objective, seed=3)
    assert set(seen) == {(7, batch_size, units)} and len(seen) == 2 * -(-steps // 7)
    assert len(fast_compile.EXECUTABLES) == compiled + 1  # the training program for 7-batch chunks, nothing more
    assert chunked.history == whole.history


def test_chunks_hold_a_few_mb_whatever_the_epoch(digits: Dataset) -> None:
    """Sized by the structure (batch x padded units), not by the epoch's rows."""
    x = digits.x_train.repeat(40, axis=0)  # 43,080 rows: 1,347 batches of 32
    run = loop.Run(with_defaults({"n_hidden": 4, "n_neurons": 512, "dropout": 0.2}), digits, Training(), 0,
                    x, digits.y_train.repeat(40), (digits.x_val, digits.y_val))
    assert run.steps == 1347 and run.train_fn is maths.train_epoch
    chunk_bytes = 2 * run.chunk * run.st.batch * run.units
    assert run.chunk == 32 and chunk_bytes <= loop.NOISE_CHUNK_BYTES  # 4 MB, where the epoch's noise is 176 MB
    assert run.noise_chunk(run.chunk).shape == (32, 32, 2048) and run.noise_chunk(5).shape == (32, 32, 2048)


def test_a_network_that_cannot_fit_fails_at_once_with_the_estimate(digits: Dataset) -> None:
    if loop.available_memory() is None:
        pytest.skip("no way to tell the memory available here: the trial would try to allocate 630 GiB")
    result = run_trial(HUGE, digits, Training(max_epochs=1), resolve_objective("auto", digits.task), seed=0)
    assert result.state == "FAIL" and result.seconds < 10
    assert result.reason.startswith("out of memory: 16,913,694,730 parameters need at least 630.")


@pytest.mark.parametrize(("error", "reason"), [
    (RuntimeError("INTERNAL: Error dispatching computation: Out of memory allocating 9050472736 bytes."),
     "out of memory: INTERNAL: Error dispatching computation: Out of memory allocating 9050472736 bytes."),
    (RuntimeError("RESOURCE_EXHAUSTED: failed to allocate"), "out of memory: RESOURCE_EXHAUSTED: failed to allocate"),
    (type("ResourceExhaustedError", (Exception,), {})("OOM when allocating tensor"),
     "out of memory: OOM when allocating tensor"),
    (MemoryError(), "out of memory: MemoryError"),
    (RuntimeError("something else"), "RuntimeError: something else"),
], ids=["xla", "xla-status", "tensorflow", "bare", "not-memory"])
def test_allocation_failures_are_named(digits: Dataset, monkeypatch: pytest.MonkeyPatch, error: Exception,
                                       reason: str) -> None:
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(fast, "fit", fail)
    result = run_trial({}, digits, Training(max_epochs=1), resolve_objective("auto", digits.task))
    assert result.state == "FAIL" and result.reason == reason


def test_other_errors_still_propagate(digits: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(fast, "fit", fail)
    with pytest.raises(KeyError):
        run_trial({}, digits, Training(max_epochs=1), resolve_objective("auto", digits.task))


CAPPED = textwrap.dedent("""
    import json, resource, sys
    from tunecli.runtime import init_backend

    init_backend(None)
    from tunecli.config.objective import resolve_objective
    from tunecli.config.space import DataSpec, Training
    from tunecli.data import load_data
    from tunecli.trainers.fast import loop
    from tunecli.trial import run_trial

    def vm_size():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))

    data = load_data(DataSpec(source="digits"))
    objective, training = resolve_objective("auto", data.task), Training(max_epochs=2)
    def trial(params):
        result = run_trial(params, data, training, objective, seed=0)
        return {"state": result.state, "reason": result.reason}

    warm = trial({"n_neurons": 16})  # JAX's client and threads reserve their address space first
    cap = vm_size() + int(1.5 * 2**30)  # ~2.6 GB on 2 cores: room for a small trial, none for a huge one
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    out = {"cap_gb": round(cap / 1e9, 2), "warm": warm, "huge": trial(%(huge)r),
           "small": trial({"n_hidden": 3, "n_neurons": 100, "dropout": 0.1})}
    loop.check_memory = lambda *args: None  # now the allocations themselves fail: NumPy's, then XLA's
    out["huge_unchecked"] = trial(%(huge)r)
    out["xla"] = trial({"n_hidden": 16, "n_neurons": 1024, "batch_size": 65536})  # 9 GB of activations
    out["after"] = trial({"n_hidden": 2, "n_neurons": 200})
    print(json.dumps(out))
""") % {"huge": HUGE}


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc: Linux")
def test_under_a_memory_cap_a_huge_network_fails_and_the_next_trial_completes() -> None:
    env = {**os.environ, "TUNECLI_CACHE_DIR": "off", "MALLOC_ARENA_MAX": "2"}
    proc = subprocess.run([sys.executable, "-c", CAPPED], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["warm"]["state"] == out["small"]["state"] == out["after"]["state"] == "COMPLETE", out
    assert out["huge"]["state"] == "FAIL" and "parameters need at least" in out["huge"]["reason"], out
    for name in ("huge_unchecked", "xla"):
        assert out[name]["state"] == "FAIL" and out[name]["reason"].startswith("out of memory: "), out
    assert "Out of memory allocating" in out["xla"]["reason"], out
