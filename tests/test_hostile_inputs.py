"""Hostile inputs for every command: each is refused at once with exit code 2 and one short message.

Every case runs in a fresh folder and checks: exit code 2; one line of output, under 500 characters,
naming the file and/or the field; no traceback; no file written; the pre-made study store (where the
case has one) unchanged byte for byte; done within 5 seconds. Training is never reached: the functions
that would train raise instead (a case that reaches them fails).
"""

from __future__ import annotations

import copy
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from tests.predict.fake import fake_model_bytes
from tests.transfer.keras_files import keras_bytes
from tunecli.cli import app
from tunecli.studies import attrs

runner = CliRunner()

MAX_SECONDS = 5.0
MAX_CHARS = 500
STORE = "tunecli.journal"
SECRET = "hunter2"

BASE: dict[str, Any] = {
    "study": "tiny",
    "data": {"source": "iris"},
    "search": {"trials": 2, "seed": 1},
    "training": {"max_epochs": 2, "early_stopping": {"patience": 2}},
    "space": {"n_hidden": {"int": [1, 2]}, "n_neurons": {"choice": [8, 16]}, "learning_rate": 0.01},
}
FIXED_SPACE = {"n_hidden": 1, "n_neurons": 8, "learning_rate": 0.01}


@dataclass(frozen=True)
class Case:
    """A command line, the files it finds in its folder, and what its one message must name."""

    args: tuple[str, ...]
    files: dict[str, str | bytes | None] = field(default_factory=dict)  # None: an empty folder
    expect: tuple[str, ...] = ()
    store: bool = False  # a pre-made study store lies in the folder and must stay unchanged


# ------------------------------------------------------------------ building the table


def edit(base: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """A copy of ``base`` (BASE) with dotted keys set: ``edit(**{"data.target": 5})``."""
    out = copy.deepcopy(BASE if base is None else base)
    for dotted, value in changes.items():
        node = out
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return out


def dump(content: dict[str, Any] | str | bytes) -> str | bytes:
    return content if isinstance(content, (str, bytes)) else yaml.safe_dump(content, sort_keys=False)


def on_space(command: str, content: dict[str, Any] | str | bytes, *expect: str, extra: tuple[str, ...] = ()) -> Case:
    """``tunecli COMMAND space.yaml`` with a pre-made store in the folder."""
    return Case((command, "space.yaml", *extra), {"space.yaml": dump(content)}, ("space.yaml", *expect), store=True)


def space_param(name: str, content: dict[str, Any] | str | bytes, *expect: str, command: str = "search") -> Any:
    return pytest.param(on_space(command, content, *expect), id=f"{command}-{name}")


def data_param(command: str, name: str, filename: str, content: str | bytes, *expect: str,
               target: str | None = "y", task: str = "auto", xfail: str | None = None) -> Any:
    """``search`` / ``lr-find`` on a space whose data is ``filename``; the message names the data file."""
    data = {"source": filename, "task": task, **({"target": target} if target else {})}
    case = Case((command, "space.yaml"), {"space.yaml": dump(edit(data=data)), filename: content}, (filename, *expect))
    marks = [pytest.mark.xfail(strict=True, reason=f"data: {xfail}")] if xfail else []
    return pytest.param(case, id=f"{command}-data-{name}", marks=marks)


def rows(line: Any, n: int = 30) -> str:
    return "\n".join(line(i) for i in range(n)) + "\n"


def alias_bomb(levels: int = 9) -> str:
    """A few hundred bytes whose aliases expand to 9 ** levels strings."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + f"\nstudy: *a{levels - 1}\n"


def npz_bytes(**arrays: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


WIDE_HEADER = ",".join(f"c{j}" for j in range(10_000))
CYCLE = {"momentum": {"float": [0.8, 0.9], "when": {"rho": [0.9]}}, "rho": {"float": [0.8, 0.9], "when": {"momentum": [0.85]}}}

YAML_CASES = [
    space_param("unclosed-bracket", "study: x\nspace: {n_hidden: [1, 2\n", "line"),
    space_param("bad-indentation", "study: x\n data: 1\n  - y\n", "line"),
    space_param("python-tag", "study: !!python/object/apply:os.getcwd []\n", "Python tags"),
    space_param("unknown-tag", "study: !secret x\n", "line 1"),
    space_param("undefined-alias", "study: *nowhere\n", "alias"),
    space_param("empty-file", "", "empty"),
    space_param("only-comments", "# nothing\n# here\n", "empty"),
    space_param("top-level-list", "- 1\n- 2\n", "mapping"),
    space_param("top-level-scalar", "just text\n", "mapping"),
    space_param("oversized", "study: x\n" + "# " + "x" * 1_100_000 + "\n", "at most"),
    space_param("alias-bomb", alias_bomb(), "aliases"),
    space_param("alias-bomb-in-data-drop", alias_bomb(8).replace("study:", "data: {drop: ") + "}\n", "aliases"),
    space_param("recursive-alias", "study: x\nspace: &s {n_hidden: *s}\n", "recursive"),
    space_param("deep-flow-nesting", "study: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    space_param("deep-block-nesting", "".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "v: 1\n", "nested"),
    space_param("binary", bytes(range(256)) * 4, "binary"),
    space_param("latin-1", "study: café\n".encode("latin-1"), "UTF-8"),
    space_param("utf-16", "study: x\n".encode("utf-16"), "binary"),
    space_param("control-character", "study: a\x07b\n", "unacceptable character"),
    space_param("int-of-5000-digits", "study: x\nsearch: {trials: " + "9" * 5000 + "}\n", "line 2", "cannot read"),
    space_param("impossible-date", "study: 2024-13-45\n", "line 1", "cannot read"),
    space_param("megabyte-study-name", edit(study="s" * 900_000), "study", "at most 200"),
    space_param("huge-trials", edit(**{"search.trials": 10**30}), "search.trials"),
    space_param("infinite-trials", "study: x\nsearch: {trials: .inf}\n", "search.trials"),
    space_param("huge-search-seed", edit(**{"search.seed": 2**40}), "search.seed"),
    space_param("negative-data-seed", edit(**{"data.seed": -1}), "data.seed"),
    space_param("nan-validation", "data: {validation: .nan}\n", "data.validation"),
    space_param("study-int", edit(study=123), "study"),
    space_param("study-list", edit(study=["a", "b"]), "study"),
    space_param("study-mapping", edit(study={"a": 1}), "study"),
    space_param("study-empty", edit(study=""), "study"),
    space_param("study-path", edit(study="../../etc/x"), "study"),
    space_param("data-string", edit(data="iris"), "data"),
    space_param("data-source-int", edit(**{"data.source": 5}), "data.source"),
    space_param("data-target-list", edit(**{"data.target": [1]}), "data.target"),
    space_param("data-task", edit(**{"data.task": "clustering"}), "data.task"),
    space_param("data-drop-string", edit(**{"data.drop": "col"}), "data.drop"),
    space_param("data-test-1.5", edit(**{"data.test": 1.5}), "data.test"),
    space_param("data-fractions", edit(**{"data.validation": 0.5, "data.test": 0.5}), "data", "validation + test"),
    space_param("data-sep-colon", edit(**{"data.sep": ":"}), "data.sep", "allowed", "semicolon"),
    space_param("data-unknown-key", edit(**{"data.sorce": "iris"}), "data.sorce", "did you mean 'source'"),
    space_param("search-list", edit(search=[1]), "search"),
    space_param("search-engine", edit(**{"search.engine": "hyperopt"}), "search.engine"),
    space_param("search-algorithm", edit(**{"search.algorithm": "bayes"}), "search.algorithm", "allowed"),
    space_param("search-pruner-int", edit(**{"search.pruner": 3}), "search.pruner"),
    space_param("search-timeout-text", edit(**{"search.timeout": "soon"}), "search.timeout"),
    space_param("search-timeout-negative", edit(**{"search.timeout": -5}), "search.timeout"),
    space_param("search-workers", edit(**{"search.workers": 1000}), "search.workers"),
    space_param("training-int", edit(training=5), "training"),
    space_param("training-max-epochs-text", edit(**{"training.max_epochs": "ten"}), "training.max_epochs"),
    space_param("training-early-stopping-text", edit(**{"training.early_stopping": "yes"}), "training.early_stopping"),
    space_param("training-patience-0", edit(**{"training.early_stopping.patience": 0}), "training.early_stopping.patience"),
    space_param("training-backend", edit(**{"training.backend": "theano"}), "training.backend"),
    space_param("training-steps-per-execution", edit(**{"training.steps_per_execution": "always"}),
                "training.steps_per_execution"),
    space_param("objective", edit(objective="val_f1"), "objective"),
    space_param("objective-unknown-in-list", edit(objective=["val_accuracy", "flops"]), "objective", "'flops'"),
    space_param("objective-cost-alone", edit(objective="params"), "objective", "not a score"),
    space_param("constraint-not-measured", edit(objective="val_accuracy", constraints={"val_rmse": "<= 1"}),
                "constraints.val_rmse", "not measured"),
    space_param("constraint-malformed-bound", edit(constraints={"params": "<= lots"}), "constraints.params", "<= NUMBER"),
    space_param("constraint-unknown-unit", edit(constraints={"latency": "<= 2 fortnights"}), "constraints.latency",
                "units"),
    space_param("objectives-with-pruner", edit(objective=["val_accuracy", "params"], **{"search.pruner": "median"}),
                "search.pruner", "cannot prune"),
    space_param("unknown-top-level-key", edit(serch={}), "serch", "did you mean 'search'"),
    space_param("reserved-key-raw", edit(raw={}), "raw"),
    space_param("space-list", edit(space=[1, 2]), "space"),
    space_param("choice-not-list", edit(**{"space.activation": {"choice": "relu"}}), "space.activation"),
    space_param("int-one-bound", edit(**{"space.n_hidden": {"int": [1]}}), "space.n_hidden"),
    space_param("int-text-bound", edit(**{"space.n_hidden": {"int": [1, "four"]}}), "space.n_hidden.high"),
    space_param("log-text", edit(**{"space.n_neurons": {"int": [16, 256], "log": "maybe"}}), "space.n_neurons.log"),
    space_param("two-kinds", edit(**{"space.n_hidden": {"int": [1, 4], "float": [1, 2]}}), "space.n_hidden", "exactly one"),
    space_param("param-unknown-key", edit(**{"space.n_hidden": {"int": [1, 4], "steps": 1}}), "space.n_hidden.steps",
                "did you mean 'step'"),
    space_param("momentum-text", edit(**{"space.momentum": "high"}), "space.momentum", "a number"),
    space_param("mc-dropout-int", edit(**{"space.mc_dropout": 3}), "space.mc_dropout", "true or false"),
    space_param("dropout-nan", "space: {dropout: .nan}\n", "space.dropout"),
    space_param("lr-infinite-bound", "space: {learning_rate: {float: [1.0e-4, .inf], log: true}}\n", "space.learning_rate"),
    space_param("batch-size-huge-choice", edit(**{"space.batch_size": {"choice": [32, 10**30]}}), "space.batch_size"),
    space_param("param-name-10k-chars", edit(**{f"space.{'p' * 10_000}": 1}), "space.ppp", "unknown parameter"),
    space_param("when-string", edit(**{"space.momentum": {"float": [0.8, 0.9], "when": "optimizer"}}), "space.momentum.when"),
    space_param("when-nested-list", edit(**{"space.optimizer": {"choice": ["adam", "momentum"]},
                                            "space.momentum": {"float": [0.8, 0.9], "when": {"optimizer": [["momentum"]]}}}),
                "space.momentum.when", "plain values"),
    space_param("when-never", edit(**{"space.optimizer": {"choice": ["adam", "momentum"]},
                                      "space.momentum": {"float": [0.8, 0.9], "when": {"optimizer": ["adamz"]}}}),
                "space.momentum.when.optimizer", "never takes"),
    space_param("when-unknown", edit(**{"space.momentum": {"float": [0.8, 0.9], "when": {"optimiser": ["momentum"]}}}),
                "space.momentum.when.optimiser"),
    space_param("when-self", edit(**{"space.momentum": {"float": [0.8, 0.9], "when": {"momentum": [0.85]}}}), "itself"),
    space_param("when-cycle", edit(**{f"space.{k}": v for k, v in CYCLE.items()}), "space", "cycle"),
    space_param("lr-finder-rule", edit(**{"space.learning_rate": {"lr_finder": {"rule": "vally"}}}),
                "space.learning_rate.rule", "did you mean 'valley'", command="lr-find"),
    space_param("lr-finder-steps", edit(**{"space.learning_rate": {"lr_finder": {"steps": 2}}}),
                "space.learning_rate.steps", command="lr-find"),
    space_param("lr-finder-min-lr", edit(**{"space.learning_rate": {"lr_finder": {"min_lr": -1}}}),
                "space.learning_rate.min_lr", command="lr-find"),
    space_param("lr-finder-bounds", edit(**{"space.learning_rate": {"lr_finder": {"min_lr": 1, "max_lr": 0.1}}}),
                "space.learning_rate", "min_lr < max_lr", command="lr-find"),
    space_param("lr-finder-multiplier", edit(**{"space.learning_rate": {"lr_finder": {"multiplier": {"float": [3, 0.3]}}}}),
                "space.learning_rate.multiplier", "low <= high", command="lr-find"),
    space_param("lr-finder-text", edit(**{"space.learning_rate": {"lr_finder": "valley"}}), "space.learning_rate",
                command="lr-find"),
    space_param("lr-finder-on-momentum", edit(**{"space.momentum": {"lr_finder": {}}}), "space.momentum", "only set",
                command="lr-find"),
    space_param("lr-finder-alias-bomb", alias_bomb(), "aliases", command="lr-find"),
    space_param("lr-finder-deep-nesting", "study: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n", "nested", command="lr-find"),
    space_param("lr-finder-binary", b"\x7fELF\x02\x01\x01\x00" + bytes(100), "binary", command="lr-find"),
]

#: name, file suffix, content (None: absent), what the message names, options of data_param
DATA_FILES: list[tuple[str, str, str | bytes | None, tuple[str, ...], dict[str, Any]]] = [
    ("empty-csv", ".csv", "", ("data.source", "empty"), {}),
    ("header-only", ".csv", "a,y\n", ("data.source", "no rows"), {}),
    ("one-row", ".csv", "a,y\n1,0\n", ("only 1 row",), {}),
    ("ragged-rows", ".csv", "a,y\n1,0\n2,1,3,4\n" + rows(lambda i: f"{i},{i % 2}"), ("data.source", "cannot parse"), {}),
    ("all-nan-feature", ".csv", "e,y\n" + rows(lambda i: f",{i % 2}"), ("no feature columns",), {}),
    ("all-nan-target", ".csv", "a,y\n" + rows(lambda i: f"{i % 7}.5,"), ("data.target",), {}),
    ("constant-target", ".csv", "a,y\n" + rows(lambda i: f"{i % 7}.5,1"), ("data.target", "single class"),
     {"task": "classification"}),
    ("constant-regression-target", ".csv", "a,y\n" + rows(lambda i: f"{i % 7}.5,2.5"), ("data.target", "constant"),
     {"task": "regression"}),
    ("one-row-per-class", ".csv", "a,y\n" + rows(lambda i: f"{i % 7}.5,c{i}"), ("data.target", "every row"),
     {"task": "classification"}),
    ("inf-target", ".csv", "a,y\n" + rows(lambda i: f"{i % 7}.5,{'inf' if i == 3 else i * 0.5}"), ("data.target", "infinite"),
     {"task": "regression"}),
    ("10000-columns-no-target", ".csv", WIDE_HEADER + ",y\n" + rows(lambda i: ",".join(["1"] * 10_000) + f",{i % 2}", 25),
     ("data.target", "not found"), {"target": "label"}),
    ("text-target-regression", ".csv", "a,y\n" + rows(lambda i: f"{i % 7}.5,t{i}"), ("data.task", "not numeric"),
     {"task": "regression"}),
    ("missing-target-column", ".csv", "a,y\n" + rows(lambda i: f"{i % 7}.5,{i % 2}"), ("data.target", "not found"),
     {"target": "label"}),
    ("npz-without-x-y", ".npz", npz_bytes(a=np.zeros((30, 2)), b=np.zeros(30)), ("data.source", "x and y"), {"target": None}),
    ("npz-not-a-zip", ".npz", b"PK\x03\x04 this is not a zip", ("data.source",), {"target": None}),
    ("unknown-suffix", ".xlsx", "a,y\n1,0\n", ("data.source", "unsupported file type"), {}),
    ("missing-file", ".csv", None, ("data.source", "no such file"), {}),
]


def data_params() -> list[Any]:
    out = []
    for command in ("search", "lr-find"):
        for name, suffix, content, expect, options in DATA_FILES:
            filename = f"{name}{suffix}"  # one name per file: the data cache is keyed by the (relative) name
            case = data_param(command, name, filename, content, *expect, **options)
            if content is None:  # the file is named but absent
                files = {k: v for k, v in case.values[0].files.items() if k != filename}
                case = pytest.param(Case(case.values[0].args, files, case.values[0].expect), id=case.id)
            out.append(case)
    return out


def storage_param(name: str, args: tuple[str, ...], *expect: str, files: dict[str, Any] | None = None,
                  store: bool = False) -> Any:
    return pytest.param(Case(args, files or {}, expect, store=store), id=name)


PG_URL = f"postgresql://me:{SECRET}@127.0.0.1:1/db"
SPACE_FILE = {"space.yaml": dump(BASE)}

STORAGE_CASES = [
    storage_param("search-unknown-scheme", ("search", "space.yaml", "--storage", "nosuchdb://host/x"), "--storage",
                  files=SPACE_FILE),
    storage_param("search-postgres-closed-port", ("search", "space.yaml", "--storage", PG_URL), "--storage", "***",
                  files=SPACE_FILE),
    storage_param("search-directory-as-journal", ("search", "space.yaml", "--storage", "store.journal"), "store.journal",
                  "not a file", files={**SPACE_FILE, "store.journal": None}),
    pytest.param(Case(("search", "space.yaml"), SPACE_FILE, (STORE, "different search space"), store=True),
                 id="search-study-from-another-space"),
    storage_param("report-unknown-study", ("report", "nosuch"), STORE, "STUDY", "no study named 'nosuch'", store=True),
    storage_param("report-huge-study-name", ("report", "s" * 100_000), STORE, "no study named", store=True),
    storage_param("report-no-store", ("report",), STORE, "no study store"),
    storage_param("report-missing-journal", ("report", "--storage", "other.journal"), "other.journal", "no study store",
                  store=True),
    storage_param("report-directory-as-journal", ("report", "--storage", "store.journal"), "store.journal", "not a file",
                  files={"store.journal": None}),
    storage_param("report-empty-journal", ("report", "--storage", "empty.journal"), "empty.journal", "no study yet",
                  files={"empty.journal": ""}),
    storage_param("report-unknown-scheme", ("report", "--storage", "nosuchdb://host/x"), "--storage", store=True),
    storage_param("report-postgres-closed-port", ("report", "--storage", PG_URL), "--storage", "***", store=True),
    storage_param("report-missing-sqlite-file", ("report", "--storage", "sqlite:///results.db"), "--storage",
                  "no such database file"),
    storage_param("report-pick-knee-of-one-objective", ("report", "--export", "out.yaml", "--pick", "knee"), "--pick",
                  "several objectives", store=True),
    storage_param("report-pick-malformed-rule", ("report", "--export", "out.yaml", "--pick", "params<lots"), "--pick",
                  "a trial number", store=True),
    storage_param("report-pick-no-such-trial", ("report", "--pick", "#42"), "--pick", "no trial #42", store=True),
    storage_param("train-pick-knee-of-one-objective", ("train", "space.yaml", "--pick", "knee"), "--pick",
                  "several objectives", files=SPACE_FILE, store=True),
    storage_param("lr-find-unknown-study", ("lr-find", "space.yaml", "--from-study", "nosuch"), STORE,
                  "no study named 'nosuch'", files=SPACE_FILE, store=True),
    storage_param("lr-find-study-without-store", ("lr-find", "space.yaml", "--from-study", "tiny"), STORE, "no study store",
                  files=SPACE_FILE),
    storage_param("lr-find-postgres-closed-port", ("lr-find", "space.yaml", "--from-study", "tiny", "--storage", PG_URL),
                  "--storage", "***", files=SPACE_FILE),
]


def train_param(name: str, content: dict[str, Any] | str | bytes, *expect: str) -> Any:
    return pytest.param(Case(("train", "best.yaml"), {"best.yaml": dump(content)}, ("best.yaml", *expect)), id=f"train-{name}")


TRAIN_CASES = [
    train_param("varying-params", edit(), "space", "still vary"),
    train_param("no-test-split", edit(space=FIXED_SPACE, **{"data.test": 0}), "data.test"),
    train_param("alias-bomb", alias_bomb(), "aliases"),
    train_param("binary", bytes(range(256)), "binary"),
    train_param("malformed", "study: x\nspace: [\n", "line"),
    train_param("unknown-activation", edit(space={**FIXED_SPACE, "activation": "relux"}), "space.activation"),
    pytest.param(Case(("train", "best.yaml"), {}, ("best.yaml", "file not found")), id="train-missing-file"),
    pytest.param(Case(("train", "best.yaml"), {"best.yaml": None}, ("best.yaml", "not a file")), id="train-directory"),
]


def reuse_param(name: str, content: dict[str, Any], files: dict[str, str | bytes], *expect: str,
                command: str = "search") -> Any:
    """A space that reuses layers (``transfer`` / ``pretrain``), refused before the store is opened."""
    case = Case((command, "space.yaml"), {"space.yaml": dump(content), **files}, ("space.yaml", *expect), store=True)
    return pytest.param(case, id=f"{command}-{name}")


IRIS_BASE = keras_bytes([8, 6], 4, "elu", n_out=3)  # two hidden layers over iris' 4 features
TRANSFER = {"transfer": {"from": "base.keras"}}
LABELLED = "a,b,y\n" + rows(lambda i: f"{i % 7}.5,{i % 3},{i % 2}")
UNLABELED_OTHER_COLUMNS = "a,c\n" + rows(lambda i: f"{i % 5}.5,{i % 4}", 10)

REUSE_CASES = [
    reuse_param("transfer-missing-model", edit(**TRANSFER), {}, "transfer.from", "base.keras", "no such file"),
    reuse_param("transfer-text-file-named-keras", edit(**TRANSFER), {"base.keras": "not a model at all\n"},
                "transfer.from", "base.keras", "not a Keras model"),
    reuse_param("transfer-fewer-layers-than-reuse", edit(**TRANSFER, **{"space.reuse_layers": {"int": [1, 3]}}),
                {"base.keras": IRIS_BASE}, "space.reuse_layers", "up to 3", "2 hidden layers"),
    reuse_param("transfer-input-width", edit(**TRANSFER), {"base.keras": keras_bytes([8], 10)}, "transfer.from",
                "10 inputs", "iris", "4 features"),
    reuse_param("transfer-tuned-activation", edit(**TRANSFER, **{"space.activation": {"choice": ["relu", "elu"]}}),
                {"base.keras": IRIS_BASE}, "space.activation", "fix it to elu"),
    reuse_param("pretrain-unlabeled-other-columns",
                edit(data={"source": "reuse-labelled.csv", "target": "y"}, pretrain={"unlabeled": "other.csv"}),
                {"reuse-labelled.csv": LABELLED, "other.csv": UNLABELED_OTHER_COLUMNS}, "pretrain.unlabeled",
                "other.csv", "missing b", "extra c"),
    reuse_param("pretrain-rest-without-rows-left-out", edit(pretrain={"unlabeled": "rest"}), {}, "pretrain.unlabeled",
                "data.train_rows"),
    reuse_param("reuse-layers-without-transfer", edit(**{"space.reuse_layers": 1}), {}, "space.reuse_layers",
                "transfer:", "pretrain:"),
    reuse_param("freeze-epochs-without-transfer", edit(**{"space.freeze_epochs": 2}), {}, "space.freeze_epochs",
                "transfer:", command="lr-find"),
    reuse_param("transfer-and-pretrain", edit(**TRANSFER, pretrain={}), {"base.keras": IRIS_BASE}, "pretrain",
                "together"),
    pytest.param(Case(("search", "space.yaml"), {"space.yaml": dump(edit(**{"data.classes": [0, 7]}))},
                      ("iris", "data.classes", "target 7", "0, 1, 2"), store=True), id="search-data-classes-unknown"),
]



def predict_param(name: str, args: tuple[str, ...], files: dict[str, str | bytes | None], *expect: str) -> Any:
    """``tunecli predict ARGS``; refused before Keras is imported (the table model's record in ``m.keras``)."""
    return pytest.param(Case(("predict", *args), {"m.keras": MODEL, **files}, expect), id=f"predict-{name}")


MODEL = fake_model_bytes()  # columns size (number) and kind (text), target y; Keras could not load it
ROWS = "size,kind,y\n" + rows(lambda i: f"{i % 7}.5,{'pq'[i % 2]},a")
ON_ROWS = ("m.keras", "rows.csv")

PREDICT_CASES = [
    predict_param("not-a-model", ON_ROWS, {"m.keras": "just text\n", "rows.csv": ROWS}, "m.keras", "not a model file"),
    predict_param("zip-without-keras-config", ON_ROWS, {"m.keras": npz_bytes(a=np.zeros(2)), "rows.csv": ROWS},
                  "m.keras", "config.json"),
    predict_param("missing-model", ("other.keras", "rows.csv"), {"rows.csv": ROWS}, "other.keras", "no such file"),
    predict_param("model-is-a-folder", ("dir.keras", "rows.csv"), {"dir.keras": None, "rows.csv": ROWS}, "dir.keras",
                  "a folder"),
    predict_param("record-without-columns", ON_ROWS, {"m.keras": fake_model_bytes(columns=[]), "rows.csv": ROWS},
                  "m.keras", "tunecli.json", "no input columns"),
    predict_param("text-in-number-column", ON_ROWS, {"rows.csv": ROWS.replace("\n3.5,", "\nthree,", 1)}, "rows.csv",
                  "column 'size' holds text", "row 4 is 'three'"),
    predict_param("empty-data", ON_ROWS, {"rows.csv": ""}, "rows.csv", "empty"),
    predict_param("header-only", ON_ROWS, {"rows.csv": "size,kind,y\n"}, "rows.csv", "no rows"),
    predict_param("missing-column", ON_ROWS, {"rows.csv": "size,other\n1,2\n"}, "rows.csv", "missing column 'kind'",
                  "the model takes 'size', 'kind'"),
    predict_param("ragged-rows", ON_ROWS, {"rows.csv": ROWS + "1.5,p,a,extra\n"}, "rows.csv", "cannot parse", "line 32"),
    predict_param("unknown-suffix", ("m.keras", "rows.xlsx"), {"rows.xlsx": ROWS}, "rows.xlsx", "unsupported file type"),
    predict_param("missing-data", ON_ROWS, {}, "rows.csv", "no such file"),
    predict_param("array-for-text-columns", ("m.keras", "rows.npz"), {"rows.npz": npz_bytes(x=np.zeros((3, 2)))},
                  "rows.npz", "text columns"),
    predict_param("proba-on-a-regression", (*ON_ROWS, "--proba"),
                  {"m.keras": fake_model_bytes(task="regression", classes=[]), "rows.csv": ROWS}, "--proba", "regression"),
    predict_param("no-data-argument", ("m.keras",), {}, "DATA", "--info"),
    predict_param("bad-sep", (*ON_ROWS, "--sep", ":"), {"rows.csv": ROWS}, "--sep", "allowed", "semicolon"),
    predict_param("output-is-a-folder", (*ON_ROWS, "--output", "out"), {"rows.csv": ROWS, "out": None}, "out", "a folder"),
    predict_param("data-and-test-split", (*ON_ROWS, "--test-split", "space.yaml"), {"rows.csv": ROWS, **SPACE_FILE},
                  "--test-split", "not both"),
    predict_param("test-split-without-test", ("m.keras", "--test-split", "space.yaml"),
                  {"space.yaml": dump(edit(**{"data.test": 0}))}, "space.yaml", "data.test", "no test split"),
    predict_param("test-split-missing-space", ("m.keras", "--test-split", "none.yaml"), {}, "none.yaml", "not found"),
    predict_param("info-not-a-model", ("m.keras", "--info"), {"m.keras": b"\x00" * 64}, "m.keras", "not a model file"),
]

CASES = YAML_CASES + data_params() + STORAGE_CASES + TRAIN_CASES + REUSE_CASES + PREDICT_CASES


# ------------------------------------------------------------------ fixtures


class TrainingStarted(Exception):
    """Raised where training would start: bad input must be refused before."""


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise TrainingStarted("bad input reached training")


@pytest.fixture(scope="module")
def store_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A journal holding study ``tiny`` (one finished trial, from another space); also warms the imports."""
    import optuna

    from tunecli.config.space import DataSpec
    from tunecli.data import load_data
    from tunecli.studies.storage import open_storage

    folder = tmp_path_factory.mktemp("store")
    (folder / "warm.csv").write_text("a,y\n" + rows(lambda i: f"{i % 7}.5,{i % 2}"))
    load_data(DataSpec(source="iris"))  # the first import of scikit-learn and pandas takes seconds: once, here
    load_data(DataSpec(source="warm.csv", target="y"), base_dir=folder)
    path = folder / STORE
    study = optuna.create_study(study_name="tiny", storage=open_storage(str(path)), direction="maximize")
    study.set_user_attr(attrs.FINGERPRINT, "0" * 16)
    distribution = optuna.distributions.IntDistribution(1, 2)
    study.add_trial(optuna.trial.create_trial(params={"n_hidden": 1}, distributions={"n_hidden": distribution}, value=0.5))
    return path.read_bytes()


@pytest.fixture(autouse=True)
def _no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    import tunecli.predict.command
    import tunecli.search.run
    import tunecli.search.workers
    import tunecli.train.refit

    monkeypatch.setattr(tunecli.search.run, "run_here", _refuse)
    monkeypatch.setattr(tunecli.search.workers, "run_pool", _refuse)
    monkeypatch.setattr(tunecli.train.refit, "fit", _refuse)
    monkeypatch.setattr(tunecli.predict.command, "load_keras", _refuse)
    stub = types.ModuleType("tunecli.lrfinder.range_test")
    stub.run_range_test = _refuse  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tunecli.lrfinder.range_test", stub)


def _write(folder: Path, files: dict[str, str | bytes | None]) -> None:
    for name, content in files.items():
        path = folder / name
        if content is None:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))}


# ------------------------------------------------------------------ the test


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_is_refused_with_one_clear_message(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         store_bytes: bytes) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, case.files)
    if case.store:
        (tmp_path / STORE).write_bytes(store_bytes)
    before = _listing(tmp_path)

    start = time.perf_counter()
    result = runner.invoke(app, list(case.args))
    seconds = time.perf_counter() - start

    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert len(lines[0]) < MAX_CHARS, lines[0]
    for fragment in case.expect:
        assert fragment in lines[0], lines[0]
    assert SECRET not in output
    assert _listing(tmp_path) == before, "a file was written or changed"
    if case.store:
        assert (tmp_path / STORE).read_bytes() == store_bytes, "the study store changed"
    assert seconds < MAX_SECONDS, f"took {seconds:.1f} s"


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 60
    commands = {param.values[0].args[0] for param in CASES}
    assert commands == {"search", "lr-find", "report", "train", "predict"}


def test_an_unwritable_output_is_a_write_failure_naming_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {"m.keras": MODEL, "rows.csv": ROWS})
    before = _listing(tmp_path)
    result = runner.invoke(app, ["predict", *ON_ROWS, "--output", "no/such/folder/preds.csv"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "no/such/folder/preds.csv" in lines[0], result.output
    assert "the folder does not exist" in lines[0] and "Traceback" not in result.output
    assert _listing(tmp_path) == before


def test_a_data_file_of_the_same_name_elsewhere_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                store_bytes: bytes) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    _write(tmp_path, {"good": None, "bad": None})
    _write(good, {"space.yaml": dump(edit(data={"source": "same.csv", "target": "y"})),
                  "same.csv": "a,y\n" + rows(lambda i: f"{i % 7}.5,{i % 2}")})
    _write(bad, {"space.yaml": dump(edit(data={"source": "same.csv", "target": "y"})), "same.csv": ""})
    monkeypatch.chdir(good)
    assert runner.invoke(app, ["search", "space.yaml"]).exit_code == 1  # reached training (refused by _no_training)
    monkeypatch.chdir(bad)
    result = runner.invoke(app, ["search", "space.yaml"])
    assert result.exit_code == 2 and "empty" in result.output, result.output


def test_inf_features_are_treated_as_missing_values(tmp_path: Path) -> None:
    from tunecli.config.space import DataSpec
    from tunecli.data import load_data

    (tmp_path / "inf.csv").write_text("a,b,y\n" + rows(lambda i: f"{'inf' if i % 5 == 3 else i % 7},{i % 3}.5,{i % 2}"))
    data = load_data(DataSpec(source=str(tmp_path / "inf.csv"), target="y"))
    assert np.isfinite(data.x_train).all() and np.isfinite(data.x_val).all() and data.n_features == 2


def test_ten_thousand_columns_load_within_five_seconds(tmp_path: Path) -> None:
    from tunecli.config.space import DataSpec
    from tunecli.data import load_data

    (tmp_path / "wide.csv").write_text(WIDE_HEADER + ",y\n" + rows(lambda i: ",".join(str((i * j) % 5) for j in range(10_000))
                                                                 + f",{i % 2}", 40))
    start = time.perf_counter()
    data = load_data(DataSpec(source=str(tmp_path / "wide.csv"), target="y"))
    assert time.perf_counter() - start < 5.0
    assert data.n_features <= 10_000 and np.isfinite(data.x_train).all()
