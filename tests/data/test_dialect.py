"""CSV files as people have them: the separator, a byte-order mark and quoting detected, or ``data.sep`` given."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pytest

from tunecli.config.space import DataSpec, validate_space
from tunecli.data import load_data
from tunecli.data.dialect import SAMPLE_BYTES, Dialect, detect
from tunecli.data.loading import read_table
from tunecli.errors import SpaceError

ROWS = 30


def table(sep: str, quote: str = '"') -> str:
    """A header and ROWS rows: a number, a text category holding the separator inside quotes, the target."""
    lines = [sep.join(["size", "kind", "y"])]
    for i in range(ROWS):
        kind = f"{quote}big{sep} red{quote}" if i % 2 else "small"
        lines.append(sep.join([f"{i % 7}.5", kind, str(i % 2)]))
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str | bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.mark.parametrize("sep,word", [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_each_separator_is_detected_with_the_separator_inside_quotes(tmp_path: Path, sep: str, word: str) -> None:
    path = write(tmp_path, table(sep))
    dialect = detect(path)
    assert dialect == Dialect(sep=sep)
    assert dialect.describe() == f"{word}-separated"
    frame = read_table(path, ".csv")
    assert list(frame.columns) == ["size", "kind", "y"] and len(frame) == ROWS
    assert frame["kind"].iloc[1] == f"big{sep} red"


def test_a_utf8_byte_order_mark_is_named_and_left_out_of_the_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF8 + table(";").encode("utf-8"))
    dialect = detect(path)
    assert (dialect.sep, dialect.encoding, dialect.bom) == (";", "utf-8-sig", "UTF-8")
    assert dialect.describe() == "semicolon-separated, UTF-8 byte-order mark"
    assert list(read_table(path, ".csv").columns) == ["size", "kind", "y"]


def test_a_utf16_file_with_its_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, table("\t").encode("utf-16"))  # what spreadsheets save as "Unicode text"
    dialect = detect(path)
    assert (dialect.sep, dialect.bom) == ("\t", "UTF-16")
    assert read_table(path, ".csv")["kind"].iloc[1] == "big\t red"


def test_single_quotes_are_found(tmp_path: Path) -> None:
    path = write(tmp_path, table(",", quote="'"))
    dialect = detect(path)
    assert (dialect.sep, dialect.quotechar) == (",", "'")
    assert "quoted with '" in dialect.describe()
    assert read_table(path, ".csv")["kind"].iloc[1] == "big, red"


def test_decimal_commas_do_not_make_a_semicolon_file_comma_separated(tmp_path: Path) -> None:
    path = write(tmp_path, "a;b;y\n" + "".join(f"{i},5;{i % 3},25;{i % 2}\n" for i in range(ROWS)))
    assert detect(path).sep == ";"


def test_decimal_commas_are_read_as_numbers_and_named(tmp_path: Path) -> None:
    path = write(tmp_path, "a;b;y\n" + "".join(f"{i},5;-{i % 3},25;{i % 2}\n" for i in range(ROWS)))
    frame = read_table(path, ".csv")
    assert frame["a"].tolist()[:2] == [0.5, 1.5] and frame["b"].iloc[1] == -1.25
    data = load_data(DataSpec(source=str(path), target="y"))
    assert data.describe().startswith("t.csv (semicolon-separated, decimal comma): 2 features"), data.describe()
    assert not data.dropped


def test_points_or_a_comma_separator_keep_the_decimal_point(tmp_path: Path) -> None:
    mixed = write(tmp_path, "a;b;y\n" + "".join(f"{i},5;{i}.25;{i % 2}\n" for i in range(ROWS)), "m.csv")
    assert detect(mixed).decimal == "."
    quoted = write(tmp_path, "a,b,y\n" + "".join(f'"{i},5",{i},{i % 2}\n' for i in range(ROWS)), "q.csv")
    assert detect(quoted).decimal == "."


def test_one_column_and_ragged_files_fall_back_to_a_comma(tmp_path: Path) -> None:
    assert detect(write(tmp_path, "y\n" + "1\n" * ROWS, "one.csv")).sep == ","
    ragged = "a,y\n1,0\n2,1,3,4\n" + "".join(f"{i},{i % 2}\n" for i in range(ROWS))
    assert detect(write(tmp_path, ragged, "ragged.csv")).sep == ","


def test_only_a_sample_is_read_and_its_cut_last_line_does_not_count(tmp_path: Path) -> None:
    line = "1|2|3|4\n"
    path = write(tmp_path, "a|b|c|y\n" + line * (SAMPLE_BYTES // len(line) + 100))
    assert detect(path).sep == "|"


def test_data_sep_wins_over_detection_and_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, table(","))
    dialect = detect(path, ";")
    assert dialect.sep == ";" and dialect.describe() == "semicolon-separated (data.sep)"


@pytest.mark.parametrize("given,expected", [(";", ";"), ("tab", "\t"), ("\t", "\t"), ("Pipe", "|"), ("comma", ",")])
def test_data_sep_takes_the_character_or_its_word(given: str, expected: str) -> None:
    assert DataSpec(sep=given).sep == expected


@pytest.mark.parametrize("bad", [":", "", ",,", "space"])
def test_a_bad_data_sep_is_one_message_naming_the_field_and_what_is_allowed(bad: str) -> None:
    with pytest.raises(SpaceError) as caught:
        validate_space({"data": {"source": "t.csv", "target": "y", "sep": bad}}, source="space.yaml")
    message = caught.value.render()
    assert "space.yaml" in message and "data.sep" in message and "semicolon" in message, message


def test_the_summary_line_names_the_dialect(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF8 + table("|").encode("utf-8"), "pipes.csv")
    data = load_data(DataSpec(source=str(path), target="y"))
    assert data.describe().startswith("pipes.csv (pipe-separated, UTF-8 byte-order mark): 3 features")
    given = load_data(DataSpec(source=str(path), target="y", sep="|"))
    assert given.describe().startswith("pipes.csv (pipe-separated (data.sep), UTF-8 byte-order mark)")
    np.testing.assert_array_equal(data.x_train, given.x_train)


def test_arrays_and_built_in_sets_name_no_dialect() -> None:
    assert load_data(DataSpec(source="iris")).describe().startswith("iris: 4 features")
