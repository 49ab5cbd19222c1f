"""``predict_file`` on hand-made saved models: the predictions are the model's own, whatever the chunks, file type
or destination; the file's targets are scored; a model from another tool still predicts on numbers."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.predict.models import CLASSES, keras_predict
from tunecli.errors import DataError
from tunecli.predict import reader
from tunecli.predict.command import predict_file

N = 23


def table_rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"id": np.arange(N), "size": rng.normal(size=N).round(3),
                         "kind": rng.choice(["p", "q", "r", None], size=N), "y": rng.choice(CLASSES, size=N)})


def own(saved: dict[str, Path], frame: pd.DataFrame) -> np.ndarray:
    """The table model's own probabilities for ``frame``."""
    kind = frame["kind"].fillna("").to_numpy(dtype=object).reshape(-1, 1)
    return keras_predict(saved["table"], {"size": frame[["size"]].to_numpy("float32"), "kind": kind})


class Recorder:
    """A progress display that remembers what it was told."""

    def __init__(self, total: float) -> None:
        self.total, self.seen = total, []

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, completed: float) -> None:
        self.seen.append(completed)


def test_the_predictions_are_the_models_own_in_chunks(saved, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(reader, "CHUNK_ROWS", 5)
    frame = table_rows()
    frame.to_csv(tmp_path / "rows.csv", sep=";", index=False)
    bars: list[Recorder] = []
    outcome = predict_file(saved["table"], tmp_path / "rows.csv", output=tmp_path / "preds.csv", proba=True,
                           progress=lambda total: bars.append(Recorder(total)) or bars[-1])
    written = pd.read_csv(tmp_path / "preds.csv", keep_default_na=False)
    expected = own(saved, frame)
    np.testing.assert_allclose(written[[f"proba_{c}" for c in CLASSES]].to_numpy(), expected, rtol=1e-6, atol=1e-7)
    assert written["prediction"].tolist() == [CLASSES[i] for i in expected.argmax(axis=1)]
    accuracy = float(np.mean(np.array(CLASSES)[expected.argmax(axis=1)] == frame["y"]))
    assert outcome.score == {"metric": "accuracy", "value": pytest.approx(accuracy), "rows": N, "missing": 0,
                             "unknown": 0}
    assert outcome.rows == N and outcome.data == "rows.csv (semicolon-separated)"
    assert outcome.notes == ["columns ignored (left out at training: id (identifier))"]
    assert bars[0].seen[-1] == bars[0].total and len(bars[0].seen) == 5 and bars[0].seen == sorted(bars[0].seen)


def test_parquet_and_standard_output_and_json(saved, tmp_path: Path) -> None:
    frame = table_rows()
    frame.to_parquet(tmp_path / "rows.parquet")
    stream = io.StringIO()
    predict_file(saved["table"], tmp_path / "rows.parquet", stream=stream)
    expected = [CLASSES[i] for i in own(saved, frame).argmax(axis=1)]
    assert stream.getvalue().splitlines() == ["prediction", *expected]
    outcome = predict_file(saved["table"], tmp_path / "rows.parquet", keep=True, proba=True)
    assert outcome.predictions == expected and len(outcome.probabilities) == N
    assert outcome.summary()["score"]["rows"] == N


def test_an_array_model_on_npz_and_csv_in_the_targets_units(saved, tmp_path: Path) -> None:
    x = np.random.default_rng(1).normal(size=(N, 4)).astype("float32")
    y = np.arange(N, dtype="float64")
    np.savez(tmp_path / "rows.npz", x=x, y=y)
    outcome = predict_file(saved["array"], tmp_path / "rows.npz", keep=True)
    expected = keras_predict(saved["array"], {"x": x}).reshape(-1)
    np.testing.assert_allclose(outcome.predictions, expected, rtol=1e-6)
    assert outcome.score["metric"] == "rmse"
    assert outcome.score["value"] == pytest.approx(np.sqrt(np.mean((expected - y) ** 2)), rel=1e-5)
    pd.DataFrame(x, columns=[f"x{i}" for i in range(4)]).to_csv(tmp_path / "rows.csv", index=False)
    from_csv = predict_file(saved["array"], tmp_path / "rows.csv", keep=True)
    np.testing.assert_allclose(from_csv.predictions, expected, rtol=1e-5)
    assert from_csv.score is None
    with pytest.raises(DataError, match="regression"):
        predict_file(saved["array"], tmp_path / "rows.csv", proba=True)


def test_a_model_from_another_tool_predicts_on_numbers_with_a_note(saved, tmp_path: Path) -> None:
    x = np.random.default_rng(2).normal(size=(N, 4)).astype("float32")
    np.savez(tmp_path / "rows.npz", x=x)
    outcome = predict_file(saved["foreign"], tmp_path / "rows.npz", keep=True, proba=True)
    expected = keras_predict(saved["foreign"], x)
    assert outcome.predictions == [str(i) for i in expected.argmax(axis=1)] and outcome.classes == ["0", "1", "2"]
    np.testing.assert_allclose(outcome.probabilities, expected, rtol=1e-6)
    assert "no tunecli metadata" in outcome.notes[0]
    pd.DataFrame(x, columns=list("abcd")).to_csv(tmp_path / "rows.csv", index=False)
    assert predict_file(saved["foreign"], tmp_path / "rows.csv", keep=True).predictions == outcome.predictions
    pd.DataFrame(x[:, :3], columns=list("abc")).to_csv(tmp_path / "narrow.csv", index=False)
    with pytest.raises(DataError, match="takes 4 numbers per row"):
        predict_file(saved["foreign"], tmp_path / "narrow.csv", keep=True)


def test_a_bad_row_in_a_later_chunk_leaves_no_file(saved, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(reader, "CHUNK_ROWS", 5)
    frame = table_rows().astype({"size": object})
    frame.loc[17, "size"] = "n/a?"
    frame.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(DataError, match="column 'size' holds text where the model takes numbers: row 18"):
        predict_file(saved["table"], tmp_path / "rows.csv", output=tmp_path / "preds.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]


def test_the_test_split_of_a_space_file_is_predicted_and_scored(tmp_path: Path) -> None:
    import yaml

    from tests.predict.models import array_model
    from tunecli.config.space import DataSpec
    from tunecli.data import load_data
    from tunecli.data.loading import source_rows
    from tunecli.serving import metadata

    spec = DataSpec(source="diabetes", seed=3)
    (tmp_path / "best.yaml").write_text(yaml.safe_dump({"study": "d", "data": {"source": "diabetes", "seed": 3}}))
    data = load_data(spec)
    path = array_model(tmp_path / "d.keras", width=data.n_features)
    record = metadata.read(path)
    metadata.write(path, {**record, "columns": [{"name": n, "input": "x", "kind": "number"} for n in data.feature_names]})
    outcome = predict_file(path, None, test_split=tmp_path / "best.yaml", keep=True)
    frame, y = source_rows(spec, data.test_rows)
    expected = keras_predict(path, {"x": frame.to_numpy("float32")}).reshape(-1)
    np.testing.assert_allclose(outcome.predictions, expected, rtol=1e-5)
    assert outcome.data == f"the test split of diabetes ({len(y)} rows the search never saw)"
    assert outcome.score["rows"] == len(y) == len(data.x_test)
    assert outcome.score["value"] == pytest.approx(np.sqrt(np.mean((expected - y) ** 2)), rel=1e-5)
    with pytest.raises(DataError, match="not both"):
        predict_file(path, tmp_path / "rows.csv", test_split=tmp_path / "best.yaml")
