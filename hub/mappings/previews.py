"""Previewing a mapping on sample records: per record, per field, the source value, result and error.

Inbound, each value is also checked as the record store would check it (the target module's field
definitions): a record with a value the store would refuse counts as failed, naming the field and why.

Besides the per-record detail the report warns about rules that never fired on the sample (their
``when`` was always false, or their source always missing or null), a filter that skipped every
record, and source fields no sample record contains (often a typo in a ``from`` path).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any, Literal

from hub.errors import ValidationError
from hub.mappings.model import DirectionName
from hub.mappings.paths import format_path, has_path

if TYPE_CHECKING:
    from hub.core.fields import FieldDef
    from hub.mappings.compiler import CompiledMapping


@dataclass(frozen=True)
class FieldPreview:
    field: str
    source: Any
    result: Any
    error: str | None
    written: bool


@dataclass
class RecordPreview:
    index: int
    status: Literal["mapped", "skipped", "failed"]
    error: str | None = None
    fields: list[FieldPreview] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class PreviewReport:
    mapping: str
    direction: DirectionName
    records: list[RecordPreview]
    warnings: list[str]

    def counts(self) -> dict[str, int]:
        out = {"mapped": 0, "skipped": 0, "failed": 0}
        for record in self.records:
            out[record.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (Decimal and dates as text)."""
        return {
            "mapping": self.mapping,
            "direction": self.direction,
            "counts": self.counts(),
            "warnings": self.warnings,
            "records": [
                {
                    "index": r.index,
                    "status": r.status,
                    "error": r.error,
                    "warnings": r.warnings,
                    "fields": [
                        {
                            "field": f.field,
                            "source": jsonable(f.source),
                            "result": jsonable(f.result),
                            "error": f.error,
                            "written": f.written,
                        }
                        for f in r.fields
                    ],
                }
                for r in self.records
            ],
        }


def jsonable(value: Any) -> Any:
    """``value`` with Decimals, dates and other non-JSON values written as text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return repr(value)


def read_jsonl(path: str | FilePath) -> Iterator[Any]:
    """Records from a JSON Lines file (blank lines skipped); ValueError naming the bad line."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None


def preview(mapping: CompiledMapping, records: Iterable[Any], *, direction: DirectionName = "inbound",
            fields: Mapping[str, FieldDef] | None = None) -> PreviewReport:
    """Run ``mapping`` over ``records`` with full tracing (slower than the compiled path, never raises).

    Inbound values are checked with ``fields`` (name -> definition; default: the target module's built-in
    fields, so pass the catalog's to include custom fields).
    """
    compiled = mapping.inbound if direction == "inbound" else mapping.outbound
    checks = _target_fields(mapping.module, fields) if direction == "inbound" else {}
    rules = compiled.direction.rules
    fired = dict.fromkeys((rule.target for rule in rules), False)
    when_true = dict.fromkeys(fired, False)
    paths = {format_path(path): path for rule in rules for _, path in rule.source.paths}
    present = dict.fromkeys(paths, False)
    out: list[RecordPreview] = []
    for index, record in enumerate(records):
        mapping.drain_warnings()
        for text, path in paths.items():
            present[text] = present[text] or has_path(record, path)
        traced = compiled.trace(record)
        if traced.error is not None:
            out.append(RecordPreview(index, "failed", str(traced.error)))
            continue
        if traced.skipped:
            out.append(RecordPreview(index, "skipped"))
            continue
        shown = []
        invalid = []
        for rule, outcome in zip(rules, traced.fields, strict=True):
            when_true[rule.target] |= outcome.written
            if outcome.written and (outcome.source is not None or rule.source.kind == "value"):
                fired[rule.target] = True
            error = None if outcome.error is None else f"{outcome.error.transform}: {outcome.error.problem}"
            if error is None and outcome.written and rule.target in checks:
                try:
                    checks[rule.target].clean(mapping.module, outcome.value)
                except ValidationError as exc:
                    error = f"invalid: {exc.problem}"
                    invalid.append(f"{rule.target} ({exc.problem})")
            shown.append(FieldPreview(rule.target, outcome.source, outcome.value, error, outcome.written))
        status: Literal["mapped", "failed"] = "failed" if traced.failed or invalid else "mapped"
        problem = f"invalid values: {'; '.join(invalid)}" if invalid and not traced.failed else None
        out.append(RecordPreview(index, status, problem, shown, [str(w) for w in traced.warnings]))
    return PreviewReport(mapping.name, direction, out, _warnings(compiled.direction, out, fired, when_true, present))


def _target_fields(module: str, fields: Mapping[str, FieldDef] | None) -> Mapping[str, FieldDef]:
    """The field definitions inbound values are checked with (none for a module the store does not know)."""
    if fields is not None:
        return fields
    from hub.core.modules import module_def

    try:
        return module_def(module).fields
    except ValidationError:
        return {}


def _warnings(
    direction: Any,
    records: list[RecordPreview],
    fired: dict[str, bool],
    when_true: dict[str, bool],
    present: dict[str, bool],
) -> list[str]:
    warnings: list[str] = []
    if not records:
        return ["the sample has no records"]
    side = "source" if direction.name == "inbound" else "hub"
    evaluated = [r for r in records if r.status != "skipped" and (r.error is None or r.fields)]
    if not evaluated:
        if all(r.status == "skipped" for r in records):
            warnings.append(f"filter: skipped every record of the sample ({len(records)})")
    else:
        for rule in direction.rules:
            if fired[rule.target]:
                continue
            if not when_true[rule.target]:
                reason = f"its 'when' ({rule.when.text}) was false for every record" if rule.when else "it never ran"
            else:
                reason = f"{rule.source.describe()} was missing or null in every record"
            warnings.append(f"{rule.path}: never fired on the sample: {reason}")
    warnings.extend(f"{side} field {text!r} is not in any sample record" for text, seen in present.items() if not seen)
    return warnings


def _short(value: Any, width: int = 32) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(report: PreviewReport) -> str:
    """The report as text tables, one per record, then counts and warnings."""
    lines: list[str] = [f"mapping {report.mapping} ({report.direction})"]
    for record in report.records:
        lines.append("")
        head = f"record {record.index + 1}: {record.status}"
        lines.append(head + (f" - {record.error}" if record.error else ""))
        if not record.fields:
            continue
        rows = [("field", "source", "result", "error")]
        for f in record.fields:
            result = _short(f.result) if f.written and f.error is None else ("" if f.error else "(not written)")
            rows.append((f.field, _short(f.source), result, f.error or ""))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
        lines.extend(f"  warning: {w}" for w in record.warnings)
    counts = report.counts()
    lines.append("")
    lines.append(", ".join(f"{n} {status}" for status, n in counts.items()))
    lines.extend(f"warning: {w}" for w in report.warnings)
    return "\n".join(line.rstrip() for line in lines)


def render_json(report: PreviewReport) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False)
