"""``tunecli predict`` on the command line: predictions on standard output, notes and the score on standard error,
``--info`` from the record alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.predict.fake import fake_model_bytes
from tests.predict.models import record
from tunecli.cli import app

runner = CliRunner()


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    path = tmp_path / "m.keras"
    path.write_bytes(fake_model_bytes())
    return path


def test_info_tells_the_models_story_in_80_columns(fake: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    from rich.console import Console

    from tunecli.ui import predict as view
    from tunecli.ui.console import THEME

    monkeypatch.setattr(view, "console", Console(width=80, theme=THEME, highlight=False))
    result = runner.invoke(app, ["predict", str(fake), "--info"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = result.stdout
    for fragment in ("classification: 3 classes (a, b, c)", "2 columns (1 number, 1 text; 2 model inputs)",
                     "id (identifier)", "refit, trial #3 of study tiny", "accuracy: validation 0.7500, test 0.5000",
                     "rows.csv, 40 training rows", "learning_rate", "kind     text"):
        assert fragment in text, text


def test_info_as_json_is_the_record(fake: Path) -> None:
    result = runner.invoke(app, ["predict", str(fake), "--info", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["path"] == str(fake) and info["record"]["classes"] == record()["classes"]


def test_report_on_a_model_file_is_predict_info(fake: Path) -> None:
    shown = runner.invoke(app, ["report", str(fake), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == json.loads(runner.invoke(app, ["predict", str(fake), "--info", "--json"]).stdout)
    assert "refit, trial #3 of study tiny" in runner.invoke(app, ["report", str(fake)]).stdout
    for args, words in ((["--pick", "knee"], "--pick applies to a study"), (["--format", "csv"], "--format csv applies"),
                        (["--plots", "p"], "--plots applies to a study")):
        refused = runner.invoke(app, ["report", str(fake), *args])
        assert refused.exit_code == 2 and words in refused.output, refused.output
    missing = runner.invoke(app, ["report", str(fake.with_name("none.keras"))])
    assert missing.exit_code == 2 and "no such model file" in missing.output


def test_info_on_a_model_from_another_tool(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    result = runner.invoke(app, ["predict", str(tmp_path / "other.keras"), "--info"])
    assert result.exit_code == 0 and "no tunecli metadata" in result.stdout


def test_rows_go_to_standard_output_and_the_rest_to_standard_error(saved, tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("size,kind,y,extra\n0.5,p,a,1\n-1,q,b,2\n")
    result = runner.invoke(app, ["predict", str(saved["table"]), str(tmp_path / "rows.csv"), "--proba"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "prediction,proba_a,proba_b,proba_c" and len(lines) == 3
    assert "not the model's: 'extra'" in result.stderr and "accuracy on the 2 rows with a target" in result.stderr
    assert "(the model's accuracy when trained: validation 0.7500, test 0.5000)" in result.stderr


def test_json_holds_the_predictions_and_output_writes_a_file(saved, tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("size,kind\n0.5,p\n-1,q\n")
    result = runner.invoke(app, ["predict", str(saved["table"]), str(tmp_path / "rows.csv"), "--json"])
    summary = json.loads(result.stdout)
    assert summary["rows"] == 2 and len(summary["predictions"]) == 2 and summary["score"] is None
    out = tmp_path / "preds.csv"
    result = runner.invoke(app, ["predict", str(saved["table"]), str(tmp_path / "rows.csv"), "--output", str(out)])
    assert result.exit_code == 0 and result.stdout == "" and f"wrote 2 predictions to {out}" in result.stderr
    assert out.read_text().splitlines()[1:] == summary["predictions"]
    table = tmp_path / "preds.parquet"
    result = runner.invoke(app, ["predict", str(saved["table"]), str(tmp_path / "rows.csv"), "--proba", "--output",
                                 str(table)])
    assert result.exit_code == 0, result.output
    import pandas as pd

    written = pd.read_parquet(table)
    assert written["prediction"].tolist() == summary["predictions"] and written.columns[0] == "prediction"
    assert [c for c in written.columns if c.startswith("proba_")] and not list(tmp_path.glob(".preds*"))
    result = runner.invoke(app, ["predict", str(saved["table"]), str(tmp_path / "rows.csv"), "--output",
                                 str(tmp_path / "preds.xlsx")])
    assert result.exit_code == 2 and "a .csv or .parquet file, not .xlsx" in result.output


@pytest.mark.slow  # a subprocess
def test_info_and_help_do_not_import_keras(fake: Path) -> None:
    calls = [(["predict", "--help"], 0), (["predict", str(fake), "--info"], 0), (["predict", str(fake), "none.csv"], 2),
             (["report", str(fake)], 0)]
    script = (f"import sys\nfrom typer.testing import CliRunner\nfrom tunecli.cli import app\nfor args, code in {calls!r}:\n"
              "    assert CliRunner().invoke(app, args).exit_code == code, args\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'jax'}))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
