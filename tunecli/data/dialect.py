"""The dialect of a CSV file as people have them: its separator (``,`` ``;`` tab ``|``), a byte-order mark and its
quote character, found from a sample of the file's first bytes; ``data.sep`` sets the separator instead.

The separator is the one that splits every line of the sample into the same number of fields (more than one;
the most fields wins), quoting respected; where none does, ``csv.Sniffer``'s guess, else the one that splits the
header most, else a comma. A file not separated by commas whose sample writes its numbers with a decimal comma
(``1,5``) and never with a point is read with ``decimal=","``, as a spreadsheet in much of Europe exports it. A
sample is enough: a file of millions of rows is never read to choose.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from tunecli.config.catalogue import CSV_SEPARATORS as SEPARATORS

SAMPLE_BYTES = 64 * 1024
SAMPLE_LINES = 50
_COMMA_NUMBER = re.compile(r"[+-]?\d+,\d+([eE][+-]?\d+)?")
_POINT_NUMBER = re.compile(r"[+-]?\d*\.\d+([eE][+-]?\d+)?")
#: byte-order mark -> (how the sample after it decodes, what pandas reads the file with, its name)
_BOMS = {codecs.BOM_UTF8: ("utf-8", "utf-8-sig", "UTF-8"), codecs.BOM_UTF16_LE: ("utf-16-le", "utf-16", "UTF-16"),
         codecs.BOM_UTF16_BE: ("utf-16-be", "utf-16", "UTF-16")}


@dataclass(frozen=True)
class Dialect:
    """How a CSV file is written: what pandas needs to read it, and how the data summary names it."""

    sep: str = ","
    encoding: str = "utf-8"
    quotechar: str = '"'
    bom: str = ""        # "UTF-8" / "UTF-16" where the file starts with a byte-order mark
    given: bool = False  # the separator comes from data.sep, not from the file
    decimal: str = "."   # "," where the file writes its numbers 1,5

    def pandas_options(self) -> dict[str, str]:
        """Keyword arguments of ``pandas.read_csv`` for this dialect."""
        return {"sep": self.sep, "encoding": self.encoding, "quotechar": self.quotechar, "decimal": self.decimal}

    def describe(self) -> str:
        """``"semicolon-separated, UTF-8 byte-order mark"``: what the data summary line shows."""
        parts = [f"{SEPARATORS[self.sep]}-separated" + (" (data.sep)" if self.given else "")]
        if self.bom:
            parts.append(f"{self.bom} byte-order mark")
        if self.quotechar != '"':
            parts.append(f"quoted with {self.quotechar}")
        if self.decimal != ".":
            parts.append("decimal comma")
        return ", ".join(parts)


def detect(path: str | Path, sep: str | None = None) -> Dialect:
    """The dialect of the CSV file at ``path``, from its first ``SAMPLE_BYTES``; ``sep`` (data.sep) wins if given.

    Raises:
        OSError: the file cannot be read.
    """
    with open(path, "rb") as file:
        head = file.read(SAMPLE_BYTES)
        truncated = bool(file.read(1))
    mark = next((m for m in _BOMS if head.startswith(m)), b"")
    codec, encoding, bom = _BOMS.get(mark, ("utf-8", "utf-8", ""))
    text = head[len(mark):].decode(codec, errors="ignore")
    quote = _quotechar(text)
    chosen = sep if sep is not None else _separator(text, quote, truncated)
    return Dialect(chosen, encoding, quote, bom, given=sep is not None, decimal=_decimal(text, chosen, quote, truncated))


def _decimal(text: str, sep: str, quote: str, truncated: bool) -> str:
    """``","`` where the sample's numbers are written ``1,5`` and none ``1.5`` (never in a comma-separated file)."""
    if sep == ",":
        return "."
    lines = text.splitlines()[:SAMPLE_LINES + 1]
    if truncated and len(lines) > 1:
        lines = lines[:-1]
    try:
        fields = [field.strip() for row in csv.reader(lines, delimiter=sep, quotechar=quote) for field in row]
    except csv.Error:
        return "."
    commas = any(_COMMA_NUMBER.fullmatch(field) for field in fields)
    points = any(_POINT_NUMBER.fullmatch(field) for field in fields)
    return "," if commas and not points else "."


def _quotechar(text: str) -> str:
    if "'" not in text:  # the Sniffer only matters where a field may be quoted with '
        return '"'
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters="".join(SEPARATORS)).quotechar or '"'
    except csv.Error:
        return '"'


def _separator(text: str, quote: str, truncated: bool) -> str:
    counts = {sep: _field_counts(text, sep, quote, truncated) for sep in SEPARATORS}
    consistent = [sep for sep, n in counts.items() if n and n[0] > 1 and len(set(n)) == 1]
    if consistent:
        return max(consistent, key=lambda sep: counts[sep][0])  # ties: the first of SEPARATORS
    try:
        sniffed = csv.Sniffer().sniff(text[:8192], delimiters="".join(SEPARATORS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in SEPARATORS:
        return sniffed
    widest = max(SEPARATORS, key=lambda sep: counts[sep][0] if counts[sep] else 0)
    return widest if counts[widest] and counts[widest][0] > 1 else ","


def _field_counts(text: str, sep: str, quote: str, truncated: bool) -> list[int]:
    """Fields per non-empty line of the sample (its last line left out when the sample cuts it)."""
    reader = csv.reader(io.StringIO(text), delimiter=sep, quotechar=quote)
    try:
        rows = [len(row) for row in itertools.islice(filter(None, reader), SAMPLE_LINES + 1)]
    except csv.Error:
        return []
    if len(rows) > SAMPLE_LINES:
        return rows[:SAMPLE_LINES]
    return rows[:-1] if truncated and len(rows) > 1 else rows
