"""A store as messages name it: never with its password."""

from __future__ import annotations

from tunecli.studies.urls import DEFAULT_FILE, describe, mask


def test_passwords_are_masked_in_the_user_part_and_in_the_query() -> None:
    assert mask("postgresql://me:p@ss@db:5432/x") == "postgresql://me:***@db:5432/x"
    assert mask("mysql://db/x?user=me&password=secret&ssl=1") == "mysql://db/x?user=me&password=***&ssl=1"
    assert mask("sqlite:///x.db") == "sqlite:///x.db"


def test_the_default_file_is_named_with_its_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert mask(None) == DEFAULT_FILE
    assert describe(None) == f"{DEFAULT_FILE} (in {tmp_path})"
    assert describe("postgresql://me:pw@db/x") == "postgresql://me:***@db/x"
