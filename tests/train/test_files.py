"""Where ``tunecli train`` writes: a model file already there is kept unless ``--force``; a SavedModel folder must
be new, empty or (with ``--force``) a SavedModel; the record written beside the model; all before any training."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import invoke_in
from tunecli.runtime import init_backend

init_backend(None)

from tunecli.config.space import validate_space  # noqa: E402
from tunecli.errors import TuneCliError  # noqa: E402
from tunecli.serving import metadata  # noqa: E402
from tunecli.train import refit, train_best  # noqa: E402
from tunecli.train.files import export_path, output_paths  # noqa: E402

FIXED = {"study": "best", "data": {"source": "iris"}, "training": {"max_epochs": 3},
         "space": {"n_hidden": 1, "n_neurons": 8, "learning_rate": 0.01, "activation": "elu"},
         "origin": {"study": "tiny", "trial": 3, "objective": "val_accuracy", "value": 0.9}}


def test_a_model_file_already_there_is_kept_unless_force(tmp_path: Path) -> None:
    (tmp_path / "m.keras").write_text("the user's own")
    with pytest.raises(TuneCliError, match="already exists; --force overwrites it") as info:
        output_paths(tmp_path / "m", None, from_search=False)
    assert info.value.field == "--output" and info.value.source == str(tmp_path / "m.keras")
    with pytest.raises(TuneCliError, match="already exists") as info:
        output_paths(None, tmp_path / "m.keras", from_search=False)
    assert info.value.field == "--kept-output"
    assert output_paths(tmp_path / "m.keras", None, from_search=False, force=True)[0] == tmp_path / "m.keras"
    assert (tmp_path / "m.keras").read_text() == "the user's own"  # checked, not yet written


def test_a_savedmodel_folder_must_be_new_empty_or_a_savedmodel_to_force(tmp_path: Path) -> None:
    assert export_path(None) is None
    assert export_path(tmp_path / "new") == tmp_path / "new" and (tmp_path / "new").is_dir()
    (tmp_path / "file").write_text("")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "saved_model.pb").write_bytes(b"")
    for folder, force, why in [("file", True, "is a file"), ("mine", False, "--force overwrites a SavedModel"),
                               ("mine", True, "holds no SavedModel"), ("old", False, "already exists")]:
        with pytest.raises(TuneCliError, match=why) as info:
            export_path(tmp_path / folder, force)
        assert info.value.field == "--export-saved-model"
    assert export_path(tmp_path / "old", force=True) == tmp_path / "old"


def test_train_refuses_to_overwrite_before_training_and_says_force(tmp_path: Path, monkeypatch) -> None:
    import yaml

    (tmp_path / "best.yaml").write_text(yaml.safe_dump(FIXED))
    (tmp_path / "m.keras").write_bytes(b"PK")
    monkeypatch.setattr(refit, "fit", lambda *a, **k: pytest.fail("trained before checking --output"))
    result = invoke_in(tmp_path, "train", "best.yaml", "--output", "m.keras")
    assert result.exit_code == 2
    assert "m.keras" in result.output and "--force overwrites it" in result.output
    assert (tmp_path / "m.keras").read_bytes() == b"PK"


def test_the_saved_model_carries_its_record(tmp_path: Path) -> None:
    outcome = train_best(validate_space(FIXED), output=tmp_path / "m.keras", epochs=1)
    record = metadata.read(outcome.model_path)
    assert record["model"] == "refit" and record["origin"] == {"study": "tiny", "trial": 3}
    assert record["scores"] == {"metric": "accuracy", "validation": 0.9, "test": outcome.test_score}
    assert record["layout"] == "array" and [c["input"] for c in record["columns"]] == ["x"] * 4
    assert record["classes"] == ["0", "1", "2"] and record["data"] == {"source": "iris", "rows": 120}
    assert record["config"] == FIXED["space"] and record["mc_passes"] == 0 and record["target"] is None
    again = train_best(validate_space(FIXED), output=tmp_path / "m.keras", epochs=1, force=True)
    assert metadata.read(again.model_path)["scores"]["test"] == again.test_score
