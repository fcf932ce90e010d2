"""A CSV file read whole before anything is written: decoded, parsed strictly, each row with its line number.

Only the delimiter (``,`` ``;`` tab ``|``) is sniffed; the rest of the dialect is fixed: ``"`` quotes,
``""`` inside quotes is one quote (whatever the sniffer thinks of the sample), and the parser is
strict, so a quote that ends a field in the middle (``"abc"def``) or a quoted field that never
closes is a problem reported at the line where its record starts, never silently mended. A row with
the wrong number of cells or a cell over `MAX_FIELD` characters is a problem of its line too. The
problems are returned with the good rows, so the caller can report both before writing anything.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from hub.errors import ValidationError
from hub.imports.csv_encoding import decode_as, detect

#: The longest cell accepted, in characters (the csv module's own default limit is 128 KiB).
MAX_FIELD = 1 << 20
#: The delimiters the sniffer chooses from.
DELIMITERS = ",;\t|"


@dataclass
class Problem:
    """A line that cannot be imported as it is, with the cells that could be read from it."""

    line: int
    row: dict[str, str]
    reason: str


@dataclass
class CsvFile:
    """The header, the rows with their line numbers, the problems with theirs, and the encoding used."""

    header: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    encoding: str = ""
    lines: int = 0


class _Dialect(csv.Dialect):
    delimiter = ","
    quotechar = '"'
    escapechar = None
    doublequote = True
    skipinitialspace = False
    lineterminator = "\r\n"
    quoting = csv.QUOTE_MINIMAL
    strict = True


def _dialect(sample: str) -> type[csv.Dialect]:
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    return type("SniffedDialect", (_Dialect,), {"delimiter": delimiter})


def _why(exc: csv.Error, start: int, end: int) -> str:
    message = str(exc)
    if "unexpected end of data" in message:
        span = f"line {start}" if end <= start else f"lines {start}-{end}"
        return (f"a quoted field starts in this row and is never closed ({span} not read); "
                "close the quote, or double a quote meant as text (\"\")")
    if "expected after" in message:
        return ("a quote ends a field before its end (a stray quote?); quote the whole field and write each "
                "quote inside it twice (\"\")")
    return message


def read_csv(path: Path, encoding: str | None = None) -> CsvFile:
    """Read ``path`` whole; a ValidationError for what makes the whole file unusable (encoding, header)."""
    data = path.read_bytes()
    if encoding:
        text, used = decode_as(data, encoding), encoding
    else:
        text, used = detect(data)
    # The csv module's limit is process-wide; it is raised (never lowered) so that no cell of this file can
    # overflow it mid-record, and `MAX_FIELD` is checked below, per row, with the line named.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text[:8192]))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValidationError("file", "is empty (no header line)") from None
    except csv.Error as exc:
        raise ValidationError("header (line 1)", _why(exc, 1, reader.line_num)) from None
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise ValidationError("header", f"column {dupes[0]!r} appears more than once")
    result = CsvFile(header, encoding=used)
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.problems.append(Problem(start, {}, _why(exc, start, reader.line_num)))
            continue
        if not any(v.strip() for v in values):
            continue
        row = dict(zip(header, values, strict=False))
        if len(values) != len(header):
            result.problems.append(
                Problem(start, row, f"has {len(values)} cells; the header has {len(header)}"))
            continue
        long = next((h for h, v in row.items() if len(v) > MAX_FIELD), None)
        if long is not None:
            result.problems.append(Problem(start, {h: v if len(v) <= MAX_FIELD else "" for h, v in row.items()},
                                           f"column {long!r} has {len(row[long])} characters; "
                                           f"at most {MAX_FIELD} are accepted"))
            continue
        result.rows.append((start, row))
    result.lines = reader.line_num
    return result
