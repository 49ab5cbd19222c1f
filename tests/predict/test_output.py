"""The predictions written whole or not at all, and what one row says."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tunecli.errors import DataError, RunError
from tunecli.predict.output import Sink, as_probabilities, check_output, json_values, prediction_rows


def test_the_file_appears_only_when_committed(tmp_path: Path) -> None:
    path = tmp_path / "preds.csv"
    with Sink(path, None) as sink:
        sink.write(pd.DataFrame({"prediction": ["a", "b"]}))
        sink.write(pd.DataFrame({"prediction": ["c"]}))
        assert not path.exists() and len(list(tmp_path.iterdir())) == 1  # the temporary file beside it
        sink.commit()
    assert path.read_text() == "prediction\na\nb\nc\n" and list(tmp_path.iterdir()) == [path]


def test_the_file_gets_a_new_files_permissions_or_keeps_those_of_the_file_it_replaces(tmp_path: Path) -> None:
    import os

    path, kept = tmp_path / "preds.csv", tmp_path / "kept.csv"
    kept.write_text("old\n")
    kept.chmod(0o640)
    umask = os.umask(0o022)
    try:
        for target in (path, kept):
            with Sink(target, None) as sink:
                sink.write(pd.DataFrame({"prediction": [1]}))
                sink.commit()
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644 and kept.stat().st_mode & 0o777 == 0o640


def test_an_error_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(ValueError), Sink(tmp_path / "preds.csv", None) as sink:
        sink.write(pd.DataFrame({"prediction": [1.0]}))
        raise ValueError("a bad row")
    assert list(tmp_path.iterdir()) == []


def test_standard_output_gets_the_rows_at_the_end() -> None:
    stream = io.StringIO()
    with Sink(None, stream) as sink:
        sink.write(pd.DataFrame({"prediction": [1.5]}))
        assert stream.getvalue() == ""
        sink.commit()
    assert stream.getvalue() == "prediction\n1.5\n"


def test_an_unwritable_output_is_a_run_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(RunError) as caught:
        Sink(tmp_path / "no" / "such" / "preds.csv", None)
    assert caught.value.exit_code == 1 and "preds.csv" in caught.value.render()
    with pytest.raises(DataError, match="a folder"):
        check_output(tmp_path)


def test_rows_name_the_class_and_with_proba_every_probability() -> None:
    outputs = np.array([[0.2, 0.8], [np.nan, np.nan]], dtype="float32")
    frame = prediction_rows(outputs, ["no", "yes"], proba=True)
    assert list(frame.columns) == ["prediction", "proba_no", "proba_yes"]
    assert frame["prediction"].tolist() == ["yes", ""]  # no numbers, no class
    assert prediction_rows(np.array([[2.5]]), [], proba=False)["prediction"].tolist() == [2.5]


def test_one_sigmoid_unit_is_two_probabilities_and_json_has_no_nan() -> None:
    np.testing.assert_allclose(as_probabilities(np.array([[0.25]]), 2), [[0.75, 0.25]])
    assert json_values(np.array([[1.0, np.nan], [np.inf, 2.0]])) == [[1.0, None], [None, 2.0]]
