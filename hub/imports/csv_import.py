"""CSV import: read a whole file (hub.imports.csv_reading), upsert its rows, report every row not imported.

Rows are matched to existing records by ``--match FIELD``, else an ``id`` or ``external_id`` column, else
the module's natural key (contacts: email, products: sku, ...), so importing the same file twice creates
and updates nothing the second time. Columns the hub sets itself (``created_at``, ``updated_at``,
``version``, other read-only fields), fields masked for the acting user (their export holds masks, not
values) and the ``_line``/``_error`` columns of a rejects file are read and ignored, so ``hub export``
output imports back as it is; cells neutralised against formulas by Hub's
CSV writers are restored (hub.imports.csv_formulas).

The whole file is read and parsed before the first write; a bad row (unparseable, wrong number of
cells, invalid value) is reported with its line number and reason and never stops the others. Each
batch commits on its own; if a batch fails (the database goes away, an access rule refuses the lot),
the import stops there and the report says which lines were imported and which were not: the rows
of the failed batch and every row after it are reported as not imported, with the reason. A dry run
does the same work and rolls it all back.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hub.core.actor import Context
from hub.core.binding import ExternalRef
from hub.core.modules import SYSTEM_FIELDS
from hub.core.write import Row
from hub.errors import HubError, ValidationError
from hub.imports.csv_formulas import neutralise, restore
from hub.imports.csv_reading import read_csv

IMPORT_CONNECTOR = "csv-import"
#: Columns of a ``--rejects`` file, ignored when it is imported again (after its rows were fixed).
REJECT_COLUMNS = ("_line", "_error")


@dataclass
class Reject:
    line: int
    row: dict[str, str]
    reason: str


@dataclass
class ImportReport:
    """Counts of what the import did, and each row not imported with its line and reason."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    encoding: str = ""
    match: str = ""
    dry_run: bool = False
    header: list[str] = field(default_factory=list)
    #: Columns read and not written (set by the hub, masked for the actor, or a rejects file's own columns).
    ignored: list[str] = field(default_factory=list)
    #: Why the import stopped before the end of the file (a batch failed), or None.
    stopped: str | None = None
    #: The lines whose rows were committed (first, last) per batch; empty for a dry run.
    committed: list[tuple[int, int]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        prefix = "dry run: would have " if self.dry_run else ""
        text = (f"{prefix}created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
                f"rejected {self.rejected} (matched on {self.match}; read as {self.encoding})")
        if self.ignored:
            text += f"; ignored columns: {', '.join(self.ignored)}"
        if self.stopped:
            lines = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in self.committed) or "none"
            text = f"stopped: {self.stopped}\nlines imported: {lines}\n{text}"
        return text


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
               progress: Callable[[int], None] | None = None, encoding: str | None = None) -> ImportReport:
    """Upsert the rows of ``path`` into ``module``; see the module docstring.

    A ValidationError (nothing written) when the file as a whole is unusable: its encoding cannot be
    told or is wrong, its header is empty, repeated or names a field the module lacks, or the match
    field is missing. Everything else is in the report.
    """
    csv_file = read_csv(path, encoding)
    header = csv_file.header
    with store.reading(ctx) as tx:
        mod = tx.module(module)
        masked = tx.profile.module(module).masked
    # Set by the hub, or masked for this actor (an export shows them masked: written back, the masks would
    # become the values).
    ignored_fields = ({n for n, f in mod.fields.items() if f.readonly or n in SYSTEM_FIELDS} | masked) - {"id"}
    mapping: dict[str, str | None] = {}
    ignored: list[str] = []
    for h in header:
        target = (columns or {}).get(h, h)
        if (h in REJECT_COLUMNS and h not in (columns or {})) or target in ignored_fields:
            ignored.append(h)
            target = None
        mapping[h] = target
    known = set(mod.writable) | {"id", "external_id"}
    for h, f in mapping.items():
        if f is not None and f not in known:
            raise ValidationError(f"header column {h!r}",
                                  f"{module} has no field {f!r}; rename it with --columns or remove it")
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
    report = ImportReport(encoding=csv_file.encoding, match=match, dry_run=dry_run, header=header,
                          ignored=ignored)
    unreadable = [Reject(p.line, p.row, p.reason) for p in csv_file.problems]
    report.rejects.extend(unreadable)
    tags = {n for n, f in mod.fields.items() if f.kind == "tags"}

    def to_row(values: dict[str, str]) -> Row:
        data: dict[str, Any] = {}
        for h, v in values.items():
            target = mapping.get(h)
            if target and target not in ("id", "external_id"):
                value = restore(v)
                data[target] = [] if target in tags and not value.strip() else value
        if match == "id":
            rid = values.get(_header_of(mapping, "id")) or None
            return Row(data, id=_as_uuid(rid) if rid else None)
        if match == "external_id":
            ext = restore(values.get(_header_of(mapping, "external_id")) or "").strip()
            if not ext:
                raise ValidationError(f"{module}.external_id", "is empty")
            return Row(data, ref=ExternalRef(IMPORT_CONNECTOR, module, ext))
        return Row(data, match=match)

    class _DryRun(Exception):
        pass

    def run_batch(tx: Any, batch: list[tuple[int, dict[str, str]]]) -> tuple[list[Reject], dict[str, int]]:
        """The batch's rejects and counts; the caller adds them to the report once the batch has committed."""
        rejects: list[Reject] = []
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        prepared: list[tuple[int, dict[str, str], Row]] = []
        for line, values in batch:
            try:
                prepared.append((line, values, to_row(values)))
            except HubError as exc:
                rejects.append(Reject(line, values, str(exc)))
        result = tx.write_many(module, [p[2] for p in prepared])
        for (line, values, _), r in zip(prepared, result.results, strict=True):
            if r.status == "rejected":
                rejects.append(Reject(line, values, r.error or "rejected"))
            else:
                counts[r.status] += 1
        return rejects, counts

    def book(batch: list[tuple[int, dict[str, str]]], rejects: list[Reject], counts: dict[str, int]) -> None:
        report.rejects.extend(rejects)
        for status, n in counts.items():
            setattr(report, status, getattr(report, status) + n)
        if not dry_run and any(counts.values()):
            report.committed.append((batch[0][0], batch[-1][0]))
        if progress:
            progress(len(batch))

    rows = csv_file.rows
    size = max(batch_size, 1)
    chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
    done = 0
    try:
        if dry_run:
            try:
                with store.writing(ctx) as tx:
                    for chunk in chunks:
                        book(chunk, *run_batch(tx, chunk))
                    raise _DryRun
            except _DryRun:
                pass
        else:
            for chunk in chunks:
                with store.writing(ctx) as tx:
                    outcome = run_batch(tx, chunk)
                done += 1  # committed
                book(chunk, *outcome)
    except (Exception, KeyboardInterrupt) as exc:  # the report must say what was and was not imported
        if done >= len(chunks):  # every batch committed; what failed came after
            raise
        first = chunks[done][0][0]
        said = (str(exc).strip().splitlines() or [""])[0]
        reason = said if isinstance(exc, HubError) else f"{type(exc).__name__}: {said}"
        report.stopped = f"line {first} and after were not imported ({reason})"
        for chunk in chunks[done:]:
            report.rejects.extend(Reject(line, values, f"not imported: the import stopped at line {first}")
                                  for line, values in chunk)
        if dry_run:  # everything was rolled back
            report.created = report.updated = report.unchanged = 0
            report.rejects = list(unreadable)
    report.rejects.sort(key=lambda r: r.line)
    return report


def _header_of(mapping: dict[str, str | None], target: str) -> str:
    return next(h for h, f in mapping.items() if f == target)


def _as_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ValidationError("id", f"{value!r} is not a record id") from None


def write_rejects(report: ImportReport, path: Path) -> None:
    """The rows not imported as CSV (UTF-8 with BOM, so spreadsheets read it), with _line and _error columns.

    Every cell goes through `neutralise` (the rows are other people's input). The file is written whole
    to a temporary name and renamed, so a failure leaves no half-written file; like an export, it is
    readable by its owner only.
    """
    header = [h for h in report.header if h not in REJECT_COLUMNS]
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([neutralise(h) for h in [*header, *REJECT_COLUMNS]])
            for r in report.rejects:
                writer.writerow([neutralise(c) for c in [*(r.row.get(h, "") for h in header), str(r.line), r.reason]])
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
