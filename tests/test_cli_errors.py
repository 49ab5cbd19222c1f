"""Bad input: one clear message naming file and field, exit code 2, no traceback, the store intact."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from tests.helpers import TINY_SPACE
from tunecli.cli import app

runner = CliRunner()


def _space(**changes) -> dict:
    space = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TINY_SPACE.items()}
    for dotted, value in changes.items():
        node = space
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return space


CASES = [
    ("yaml syntax", "study: x\nspace: {n_hidden: [1, 2\n", "line"),
    ("python tag", "study: !!python/object/apply:os.getcwd []\n", "Python tags"),
    ("empty file", "", "empty"),
    ("binary", b"\x00\x01\x02", "binary"),
    ("top-level list", "- 1\n- 2\n", "mapping"),
    ("unknown key", _space(serch={"trials": 1}), "serch: unknown key"),
    ("wrong type", _space(search__trials="many"), "search.trials"),
    ("zero trials", _space(search__trials=0), "search.trials"),
    ("zero epochs", _space(training__max_epochs=0), "training.max_epochs"),
    ("low > high", _space(space__n_neurons={"int": [64, 8]}), "space.n_neurons"),
    ("log low <= 0", _space(space__learning_rate={"float": [0.0, 0.1], "log": True}), "low > 0"),
    ("empty choices", _space(space__activation={"choice": []}), "space.activation"),
    ("unknown activation", _space(space__activation="relux"), "allowed: relu, leaky_relu"),
    ("unknown optimizer", _space(space__optimizer={"choice": ["adam", "adamz"]}), "space.optimizer"),
    ("unknown schedule", _space(space__schedule="linear"), "space.schedule"),
    ("when unknown", _space(space__momentum={"float": [0.8, 0.9], "when": {"optimizr": ["momentum"]}}),
     "space.momentum.when.optimizr"),
    ("absurd neurons", _space(space__n_neurons=1_000_000_000), "space.n_neurons"),
    ("zero batch", _space(space__batch_size=0), "space.batch_size"),
    ("missing data file", _space(data={"source": "missing.csv", "target": "y"}), "no such file"),
    ("bad algorithm", _space(search__algorithm="bayes"), "search.algorithm"),
    ("accuracy on regression", _space(data={"source": "diabetes"}, objective="val_accuracy"), "objective"),
    ("deeply nested garbage", "study: " + "[" * 5000 + "]" * 5000 + "\n", "space.yaml"),
    ("negative trials", _space(search__trials=-5), "search.trials"),
    ("negative epochs", _space(training__max_epochs=-1), "training.max_epochs"),
    ("absurd batch size", _space(space__batch_size=10**9), "space.batch_size"),
    ("absurd layers", _space(space__n_hidden={"int": [1, 10**6]}), "space.n_hidden"),
    ("dropout of 1", _space(space__dropout=1.0), "space.dropout"),
    ("bad timeout", _space(search__timeout="soon"), "search.timeout"),
    ("workers with keras-tuner", _space(search__engine="keras-tuner", search__algorithm="random", search__workers=2),
     "workers"),
    ("bad study name", _space(study="my study/../x"), "study"),
    ("when cycle", _space(space__momentum={"float": [0.8, 0.9], "when": {"rho": [0.9]}},
                          space__rho={"float": [0.8, 0.9], "when": {"momentum": [0.85]}}), "space"),
]

DATA_CASES = [
    ("ragged csv", "a,b\n1,2\n3,4,5,6\n" + "\n".join(f"{i},{i % 2}" for i in range(30)), "b", "cannot parse"),
    ("single class", "a,b\n" + "\n".join(f"{i},x" for i in range(30)), "b", "single class"),
    ("only an all-NaN feature", "e,b\n" + "\n".join(f",{i % 2}" for i in range(30)), "b", "no values at all"),
    ("too few rows", "a,b\n1,0\n2,1\n", "b", "only 2 rows"),
    ("missing target", "a,b\n" + "\n".join(f"{i},{i % 2}" for i in range(30)), "label", "not found; columns: a, b"),
    ("text target for regression", "a,b\n" + "\n".join(f"{i},t{i}" for i in range(30)), "b", "not numeric"),
]


@pytest.mark.parametrize("name,csv_text,target,fragment", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bad_data_exits_2(tmp_path, monkeypatch, name, csv_text, target, fragment) -> None:
    import yaml

    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text(csv_text)
    task = "regression" if "regression" in name else "auto"
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(_space(data={"source": "d.csv", "target": target, "task": task})))
    result = runner.invoke(app, ["search", str(path)])
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output
    assert "d.csv" in result.output


def test_unreadable_data_file(tmp_path, monkeypatch) -> None:
    import yaml

    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").mkdir()  # a folder where a file is expected
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(_space(data={"source": "d.csv", "target": "y"})))
    result = runner.invoke(app, ["search", str(path)])
    assert result.exit_code == 2 and "d.csv" in result.output and "Traceback" not in result.output


def test_unreachable_storage_masks_the_password(tmp_path, monkeypatch) -> None:
    import yaml

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(_space()))
    result = runner.invoke(app, ["search", str(path), "--storage", "postgresql://me:hunter2@127.0.0.1:1/db"])
    assert result.exit_code == 2, result.output
    assert "hunter2" not in result.output and "***" in result.output


@pytest.mark.parametrize("name,content,fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_clear_message(tmp_path, monkeypatch, name, content, fragment) -> None:
    import yaml

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "space.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    store = tmp_path / "tunecli.journal"
    store.write_bytes(b"")
    result = runner.invoke(app, ["search", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert fragment in result.output
    assert "space.yaml" in result.output or "missing.csv" in result.output
    assert store.read_bytes() == b""


def test_bad_csv_target_and_ragged_rows(tmp_path, monkeypatch) -> None:
    import yaml

    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("a,b\n" + "\n".join(f"{i},{i % 2}" for i in range(30)))
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(_space(data={"source": "d.csv", "target": "label"})))
    result = runner.invoke(app, ["search", str(path)])
    assert result.exit_code == 2 and "target column 'label' not found; columns: a, b" in result.output
    result = runner.invoke(app, ["search", str(path), "--target", "b", "--task", "regressio"])
    assert result.exit_code == 2 and "--task" in result.output


def test_bad_flag_exits_2() -> None:
    result = runner.invoke(app, ["search", "x.yaml", "--trails", "3"])
    assert result.exit_code == 2


def test_missing_space_file(tmp_path) -> None:
    result = runner.invoke(app, ["search", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "file not found" in result.output


@pytest.mark.slow  # a subprocess
def test_help_and_validation_do_not_import_keras(tmp_path) -> None:
    import subprocess

    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from tunecli.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0 and 'search' in r.output\n"
        f"r = CliRunner().invoke(app, ['search', {str(tmp_path / 'none.yaml')!r}])\n"
        "assert r.exit_code == 2\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("args,start", [
    (["--trials", "-1"], "error: --trials: "),
    (["--timeout", "0x"], "error: --timeout: "),
    (["--algorithm", "bayes"], "error: --algorithm: "),
    (["--more", "2", "--trials", "5"], "error: --more: "),
])
def test_a_bad_option_is_named_as_the_source_not_the_file(tmp_path, monkeypatch, args: list[str], start: str) -> None:
    import yaml

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(_space()))
    result = runner.invoke(app, ["search", str(path), *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(start) and "space.yaml" not in result.output, result.output
