"""CSV export: the records an actor may export, hidden fields left out, spreadsheet formulas neutralised."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from hub.core.actor import Context
from hub.core.fields import to_json
from hub.core.read import Condition

#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMERIC_KINDS = ("integer", "decimal")


def neutralise(value: str) -> str:
    """Prefix a would-be formula with an apostrophe so spreadsheets show it as text."""
    return "'" + value if value.startswith(FORMULA_START) else value


def cell(value: Any) -> str:
    """A stored value as CSV text."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(to_json(value))


def export_csv(store: Any, ctx: Context, module: str, out: TextIO, where: Sequence[Condition] = (),
               fields: Sequence[str] | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Write the records ``ctx`` may export as CSV to ``out``; returns how many. The export is audited."""
    count = 0
    with store.reading(ctx) as tx:
        mod = tx.module(module)
        tx.profile.require(module, "export")
        hidden = tx.profile.module(module).hidden
        names = [n for n in mod.fields if n not in hidden and n != "custom"]
        if fields:
            unknown = [f for f in fields if f not in names]
            if unknown:
                from hub.errors import ValidationError

                raise ValidationError(f"{module}.{unknown[0]}", "no such field")
            names = list(fields)
        kinds = {n: mod.fields[n].kind for n in names}
        writer = csv.writer(out)
        writer.writerow(names)
        for record in tx.iterate(module, where, action="export"):
            writer.writerow([
                cell(record.get(n)) if kinds[n] in NUMERIC_KINDS else neutralise(cell(record.get(n)))
                for n in names
            ])
            count += 1
            if progress and count % 500 == 0:
                progress(500)
    if progress:
        progress(count % 500)
    store.record_event(ctx, module, None, "export",
                       {"count": [None, count], "where": [None, [f"{c.field}{c.op}{c.value}" for c in where]]})
    return count
