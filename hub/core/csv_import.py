"""CSV import: read a file (UTF-8 with or without BOM, or GB18030), upsert its rows, report every reject.

Rows are matched to existing records by ``--match FIELD``, else an ``id`` or ``external_id`` column, else
the module's natural key (contacts: email, products: sku, ...), so importing the same file twice creates
and updates nothing the second time. Each batch commits on its own; a bad row is reported with its line
number and reason and never stops the others. A dry run does the same work and rolls it all back.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hub.core.actor import Context
from hub.core.binding import ExternalRef
from hub.core.modules import SYSTEM_FIELDS
from hub.core.write import Row
from hub.errors import HubError, ValidationError

ENCODINGS = ("utf-8-sig", "gb18030")
IMPORT_CONNECTOR = "csv-import"


@dataclass
class Reject:
    line: int
    row: dict[str, str]
    reason: str


@dataclass
class ImportReport:
    """Counts of what the import did, and each rejected row with its line and reason."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    encoding: str = ""
    match: str = ""
    dry_run: bool = False

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def summary(self) -> str:
        prefix = "dry run: would have " if self.dry_run else ""
        return (f"{prefix}created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
                f"rejected {self.rejected} (matched on {self.match}; read as {self.encoding})")


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read with (UTF-8, with or without BOM, else GB18030)."""
    for enc in ENCODINGS:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise ValidationError("file", "is neither UTF-8 nor GB18030 text")


def read_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]], str]:
    """The header, an iterator of (line number, row) and the encoding."""
    text, enc = decode(path.read_bytes())
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValidationError("file", "is empty (no header line)") from None
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise ValidationError("header", f"column {dupes[0]!r} appears more than once")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                yield line, {"__error__": f"has {len(values)} cells; the header has {len(header)}",
                             **dict(zip(header, values, strict=False))}
                continue
            yield line, dict(zip(header, values, strict=True))

    return header, rows(), enc


def load_columns(path: Path | None) -> dict[str, str | None]:
    """A column map file (YAML or JSON): ``{"CSV header": field or null to skip}``."""
    if path is None:
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.suffix in (".yml", ".yaml") else json.loads(
        path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                             for k, v in data.items()):
        raise ValidationError(str(path), "a column map is an object of 'CSV header': field (or null to skip)")
    return data


def import_csv(store: Any, ctx: Context, module: str, path: Path, *, match: str | None = None,
               columns: dict[str, str | None] | None = None, dry_run: bool = False, batch_size: int = 1000,
               progress: Callable[[int], None] | None = None) -> ImportReport:
    """Upsert the rows of ``path`` into ``module``; see the module docstring."""
    header, rows, enc = read_rows(path)
    mapping = {h: (columns or {}).get(h, h) for h in header}
    with store.reading(ctx) as tx:
        mod = tx.module(module)
    known = set(mod.writable) | {"id", "external_id"}
    for h, f in mapping.items():
        if f is not None and f not in known:
            hint = " (it is set by the hub)" if f in SYSTEM_FIELDS else ""
            raise ValidationError(f"header column {h!r}",
                                  f"{module} has no field {f!r}{hint}; rename it with --columns or remove it")
    targets = {f for f in mapping.values() if f}
    if match is None:
        match = "id" if "id" in targets else "external_id" if "external_id" in targets else mod.model.natural_key
        if match is None or match not in targets:
            raise ValidationError("--match", f"{module} has no default match field in this file; "
                                  "pass --match FIELD, or give an id or external_id column")
    elif match not in mod.fields:
        raise ValidationError("--match", f"{module} has no field {match!r}")
    elif match not in targets:
        raise ValidationError("--match", f"no column of the file maps to {match!r}")
    report = ImportReport(encoding=enc, match=match, dry_run=dry_run)

    def to_row(values: dict[str, str]) -> Row:
        data: dict[str, Any] = {}
        for h, v in values.items():
            target = mapping.get(h)
            if target and target not in ("id", "external_id"):
                data[target] = v
        if match == "id":
            rid = values.get(_header_of(mapping, "id")) or None
            return Row(data, id=_as_uuid(rid) if rid else None)
        if match == "external_id":
            ext = (values.get(_header_of(mapping, "external_id")) or "").strip()
            if not ext:
                raise ValidationError(f"{module}.external_id", "is empty")
            return Row(data, ref=ExternalRef(IMPORT_CONNECTOR, module, ext))
        return Row(data, match=match)

    class _DryRun(Exception):
        pass

    def run_batch(tx: Any, batch: list[tuple[int, dict[str, str]]]) -> None:
        prepared: list[tuple[int, dict[str, str], Row]] = []
        for line, values in batch:
            if "__error__" in values:
                report.rejects.append(Reject(line, values, f"line {line}: {values.pop('__error__')}"))
                continue
            try:
                prepared.append((line, values, to_row(values)))
            except HubError as exc:
                report.rejects.append(Reject(line, values, str(exc)))
        result = tx.write_many(module, [p[2] for p in prepared])
        for (line, values, _), r in zip(prepared, result.results, strict=True):
            if r.status == "rejected":
                report.rejects.append(Reject(line, values, r.error or "rejected"))
            else:
                setattr(report, r.status, getattr(report, r.status) + 1)
        if progress:
            progress(len(batch))

    def batches() -> Iterator[list[tuple[int, dict[str, str]]]]:
        batch: list[tuple[int, dict[str, str]]] = []
        for item in rows:
            batch.append(item)
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    if dry_run:
        try:
            with store.writing(ctx) as tx:
                for b in batches():
                    run_batch(tx, b)
                raise _DryRun
        except _DryRun:
            pass
    else:
        for b in batches():
            with store.writing(ctx) as tx:
                run_batch(tx, b)
    report.rejects.sort(key=lambda r: r.line)
    return report


def _header_of(mapping: dict[str, str | None], target: str) -> str:
    return next(h for h, f in mapping.items() if f == target)


def _as_uuid(value: str) -> Any:
    import uuid

    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ValidationError("id", f"{value!r} is not a record id") from None


def write_rejects(report: ImportReport, header: list[str], path: Path) -> None:
    """The rejected rows as CSV (UTF-8 with BOM, so spreadsheets read it), with _line and _error columns."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*header, "_line", "_error"])
        for r in report.rejects:
            writer.writerow([*(r.row.get(h, "") for h in header), r.line, r.reason])
