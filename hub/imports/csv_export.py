"""CSV export: the records an actor may export, hidden fields left out, spreadsheet formulas neutralised.

Text cells go through hub.imports.csv_formulas.neutralise (the OWASP rule); numbers are written as numbers.
`export_file` writes to a temporary file next to the target and renames it only when the export has
succeeded, so a failed export leaves no file (and never a header-only one). The file is readable by
its owner only (it holds personal data), as `tempfile.mkstemp` creates it.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from hub.core.actor import Context
from hub.core.fields import to_json
from hub.core.read import Condition
from hub.imports.csv_formulas import neutralise

NUMERIC_KINDS = ("integer", "decimal")


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
        writer.writerow([neutralise(n) for n in names])
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


def export_file(store: Any, ctx: Context, module: str, path: Path, where: Sequence[Condition] = (),
                fields: Sequence[str] | None = None, progress: Callable[[int], None] | None = None) -> int:
    """`export_csv` into ``path`` (UTF-8 with BOM), which appears only once the export has succeeded."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            count = export_csv(store, ctx, module, fh, where, fields, progress)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
