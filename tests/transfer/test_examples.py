"""The transfer-learning examples end to end, on a small slice: digits instead of MNIST (same recipe: task A
without 4 and 9, saved by ``train``; task B 4 vs 9 on a few labels, from task A's layers or from an autoencoder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tunecli.runtime import init_backend

init_backend(None)
pytestmark = pytest.mark.slow  # every test runs searches


from tests.helpers import invoke_in  # noqa: E402
from tunecli.studies import attrs  # noqa: E402
from tunecli.studies.storage import load_study  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "search_spaces"
SMALL = {"search": {"trials": 3, "seed": 1, "rerank": {"top": 2, "seeds": 2}},
         "training": {"max_epochs": 3, "early_stopping": {"patience": 2}}}



def _small(name: str, folder: Path, labels: int | None = None) -> str:
    """The example ``name`` on digits, with a small budget, written into ``folder``."""
    raw = yaml.safe_load((EXAMPLES / name).read_text())
    raw["data"]["source"] = "digits"
    if labels:
        raw["data"]["train_rows"] = labels
    raw.update(SMALL)
    if "pretrain" in raw:
        raw["pretrain"].update(layers=[32, 16], epochs=2)
    (folder / name).write_text(yaml.safe_dump(raw))
    return name


@pytest.fixture(scope="module")
def task_a(tmp_path_factory) -> Path:
    """A folder where task A was searched and its best model saved to models/task_a.keras."""
    folder = tmp_path_factory.mktemp("transfer")
    result = invoke_in(folder, "search", _small("transfer_task_a.yaml", folder), "--json")
    assert result.exit_code == 0, result.output
    result = invoke_in(folder, "train", "mnist-task-a-best.yaml", "--output", "models/task_a.keras")
    assert result.exit_code == 0, result.output
    assert (folder / "models" / "task_a.keras").exists()
    return folder


def test_task_b_reuses_task_a_and_train_replays_it(task_a: Path) -> None:
    result = invoke_in(task_a, "search", _small("transfer_task_b.yaml", task_a, labels=60), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    trials = [t for t in summary["trials"] if t["state"] == "COMPLETE"]
    assert trials
    for trial in trials:
        stored = load_study("mnist-task-b-transfer", str(task_a / "tunecli.journal")).trials[trial["number"]].user_attrs
        assert stored[attrs.REUSED_LAYERS] == trial["params"]["reuse_layers"]
        assert stored[attrs.BASE].endswith("task_a.keras") and stored[attrs.TRANSFER_ACTIVATION] == "relu"
    best = yaml.safe_load((task_a / "mnist-task-b-transfer-best.yaml").read_text())
    assert best["transfer"] == {"from": "models/task_a.keras"} and "reuse_layers" in best["space"]
    result = invoke_in(task_a, "train", "mnist-task-b-transfer-best.yaml", "--output", "b.keras")
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output and (task_a / "b.keras").exists()


def test_task_b_from_an_autoencoder_trains_it_once_per_study(task_a: Path, monkeypatch) -> None:
    from tunecli.transfer import autoencoder

    calls = []
    original = autoencoder.fit_autoencoder
    monkeypatch.setattr(autoencoder, "fit_autoencoder", lambda *a, **k: calls.append(len(a[0])) or original(*a, **k))
    name = _small("pretrain_task_b.yaml", task_a, labels=60)
    result = invoke_in(task_a, "search", name, "--json")
    assert result.exit_code == 0, result.output
    assert len(calls) == 1 and calls[0] > 60          # the training rows and the rest of digits (labels unused)
    encoders = list(attrs.members(load_study("mnist-task-b-pretrain", str(task_a / "tunecli.journal")).user_attrs,
                                  attrs.PRETRAIN).values())
    assert len(encoders) == 1 and encoders[0].rows == calls[0] and len(encoders[0].losses) == 2
    result = invoke_in(task_a, "search", name, "--trials", "5", "--json")   # resumed: the stored encoder is reused
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    result = invoke_in(task_a, "train", "mnist-task-b-pretrain-best.yaml")  # train too reads it from the study
    assert result.exit_code == 0, result.output
    assert len(calls) == 1


def test_recycled_workers_reuse_the_stored_encoder(task_a: Path) -> None:
    raw = yaml.safe_load((task_a / _small("pretrain_task_b.yaml", task_a, labels=60)).read_text())
    raw["study"] = "pretrain-workers"
    raw["training"]["recycle_after"] = 1                 # a fresh worker process for every trial
    (task_a / "workers.yaml").write_text(yaml.safe_dump(raw))
    result = invoke_in(task_a, "search", "workers.yaml", "--json")
    assert result.exit_code == 0, result.output
    stored = load_study("pretrain-workers", str(task_a / "tunecli.journal")).user_attrs
    assert len(attrs.members(stored, attrs.PRETRAIN)) == 1   # not one per worker generation
