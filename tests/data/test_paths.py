"""Paths a space names stay right in the best configuration written elsewhere."""

from __future__ import annotations

from pathlib import Path

from tunecli.data.paths import rebase, rebase_space_paths


def test_a_file_found_beside_the_space_is_rebased_for_the_new_folder(tmp_path: Path, monkeypatch) -> None:
    spaces, data, out = tmp_path / "spaces", tmp_path / "data", tmp_path / "runs"
    for folder in (spaces, data, out):
        folder.mkdir()
    (data / "d.csv").write_text("a,b\n1,2\n")
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")          # from here ../data/d.csv finds nothing
    assert rebase("../data/d.csv", spaces, out) == "../data/d.csv"        # same depth: same spelling
    assert (out / rebase("../data/d.csv", spaces, out)).resolve() == (data / "d.csv").resolve()
    assert rebase("../data/d.csv", spaces, tmp_path) == "data/d.csv"
    assert rebase("missing.csv", spaces, out) == "missing.csv"           # found nowhere: the reader says so
    assert rebase(str(data / "d.csv"), spaces, out) == str(data / "d.csv")


def test_a_file_found_from_the_current_folder_is_left_alone(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "m.keras").write_text("x")
    monkeypatch.chdir(tmp_path)
    raw = {"data": {"source": "digits"}, "transfer": {"from": "m.keras"}, "pretrain": {"unlabeled": "rest"}}
    assert rebase_space_paths(raw, tmp_path / "nowhere", tmp_path / "out", ("digits",)) == {
        "data": {"source": "digits"}, "transfer": {"from": "m.keras"}, "pretrain": {"unlabeled": "rest"}}
