"""CSV files of a finance system: reading an export in its dialect and encoding, and writing one.

    dialect = Dialect(delimiter=";", encoding="gb18030")
    rows = parse(data, dialect, key="invoice_no")    # FileProblem: the file as a whole is unusable
    for row in rows: row.data | row.error            # a record, or why that row could not be read
    content, failures = render(records, columns, dialect)

**Reading.** The whole file is decoded with the dialect's encoding (``utf-8-sig`` reads UTF-8 with or
without a byte-order mark; ``gb18030`` covers GBK and GB2312 exports); a byte that does not decode makes
the file unusable (FileProblem naming the line and the encoding), as does a header that is empty,
repeats a column or lacks the key column. Rows are then read with Python's csv module in strict mode:
a row with the wrong number of cells, broken quoting or an empty key is a row problem (``Row.error``),
and the other rows are still read. Blank lines are skipped. Values are strings, as written.

**Writing.** ``render`` writes a header and one row per record (``\\r\\n`` line ends, minimal quoting):
None is empty, booleans ``true``/``false``, dates ISO, decimals as written, lists joined with ``;``;
text that a spreadsheet would run as a formula gets a leading ``'`` (hub.imports.csv_formulas).
A record whose text the encoding cannot represent is left out and reported, not written half.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.imports.csv_formulas import neutralise

#: The encodings a finance export may use (UTF-8 with or without BOM, Chinese GB18030, Western legacy).
ENCODINGS = ("utf-8-sig", "utf-8", "gb18030", "latin-1", "cp1252")


class FileProblem(ValueError):
    """What makes a whole file unreadable."""


@dataclass(frozen=True)
class Dialect:
    """How a finance system writes CSV: the csv module's dialect options and the file's encoding."""

    delimiter: str = ","
    quotechar: str = '"'
    encoding: str = "utf-8-sig"

    @classmethod
    def from_config(cls, conf: Mapping[str, Any]) -> Dialect:
        return cls(conf.get("delimiter", ","), conf.get("quotechar", '"'), conf.get("encoding", "utf-8-sig"))


@dataclass(frozen=True)
class Row:
    """One row of a file: its first line (from 1), its fields or its problem, and its raw text."""

    line: int
    data: dict[str, str] | None
    error: str | None
    raw: str


def decode(data: bytes, encoding: str) -> str:
    """The text of a file; FileProblem naming the line of the first byte that does not decode."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise FileProblem(f"line {line}: cannot decode as {encoding} ({e.reason} at byte {e.start})") from None
    return text[1:] if text.startswith("\ufeff") else text  # a BOM under a plain utf-8 setting


def parse(data: bytes, dialect: Dialect, key: str) -> list[Row]:
    """The rows of an export, each with its fields or its problem; FileProblem for an unusable file."""
    text = decode(data, dialect.encoding)
    lines = io.StringIO(text, newline="").readlines()  # split as the csv reader counts lines
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter, quotechar=dialect.quotechar,
                        strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FileProblem("the file is empty (no header)") from None
    except csv.Error as e:
        raise FileProblem(f"bad header: {e}") from None
    if not any(header):
        raise FileProblem("the header is empty")
    if len(set(header)) != len(header):
        repeated = sorted({h for h in header if header.count(h) > 1})
        raise FileProblem(f"the header repeats the column(s) {', '.join(map(repr, repeated))}")
    if key not in header:
        raise FileProblem(f"the header has no key column {key!r} (columns: {', '.join(header)})")
    rows: list[Row] = []
    done = reader.line_num
    while True:
        first = done + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problem: str | None = f"bad CSV: {e}"
            cells = []
        else:
            problem = None
        done = reader.line_num
        raw = "".join(lines[first - 1:done]).rstrip("\r\n")
        if problem is None and (not cells or (len(cells) == 1 and not cells[0].strip())):
            continue
        if problem is None and len(cells) != len(header):
            problem = f"{len(cells)} cells, the header has {len(header)}"
        fields = None if problem else dict(zip(header, cells, strict=True))
        if fields is not None and not fields[key].strip():
            problem, fields = f"an empty key field {key!r}", None
        rows.append(Row(first, fields, problem, raw))
    return rows


def header(data: bytes, dialect: Dialect) -> list[str]:
    """The column names of an export (empty when it cannot be read)."""
    try:
        first = decode(data, dialect.encoding).splitlines()[:1]
        return [h.strip() for h in next(csv.reader(first, delimiter=dialect.delimiter, quotechar=dialect.quotechar))]
    except (FileProblem, StopIteration, csv.Error):
        return []


def text_of(value: Any) -> str:
    """A value as CSV text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return ";".join(text_of(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def cell_of(value: Any) -> str:
    """``text_of(value)``, text neutralised against spreadsheet formulas (people open these files in one);
    numbers, dates and booleans are written as they are."""
    text = text_of(value)
    return neutralise(text) if isinstance(value, str | list | tuple | dict) else text


def render(rows: Sequence[Mapping[str, Any]], columns: Iterable[str], dialect: Dialect) -> tuple[bytes, dict[int, str]]:
    """The file's bytes and the rows left out ({index: why}) because the encoding cannot represent them."""
    names = list(columns)
    codec = "utf-8" if dialect.encoding == "utf-8-sig" else dialect.encoding
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=dialect.delimiter, quotechar=dialect.quotechar, lineterminator="\r\n")
    writer.writerow([neutralise(n) for n in names])
    body: list[bytes] = []
    failures: dict[int, str] = {}
    for index, row in enumerate(rows):
        line = io.StringIO(newline="")
        csv.writer(line, delimiter=dialect.delimiter, quotechar=dialect.quotechar,
                   lineterminator="\r\n").writerow([cell_of(row.get(c)) for c in names])
        try:
            body.append(line.getvalue().encode(codec))
        except UnicodeEncodeError as e:
            failures[index] = f"cannot write {e.object[e.start:e.end]!r} in {dialect.encoding}"
    head = out.getvalue().encode(codec, errors="replace")
    bom = b"\xef\xbb\xbf" if dialect.encoding == "utf-8-sig" else b""
    return bom + head + b"".join(body), failures
