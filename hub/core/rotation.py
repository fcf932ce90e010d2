"""Key rotation: re-encrypt every sensitive value still on an old key, in short batches, while the hub runs.

Every encrypted value Hub holds is covered: the sensitive fields of records (built-in and custom), and
every column marked ``info={"sealed_by": COLUMN}`` in any table of the metadata (connector instances'
secret config values, dead letters' payloads, ...): a JSON object whose ciphertext values are bound to
``(table, row[COLUMN], key)``. A table whose secrets are sealed so is covered by marking the column.
Each batch is its own writing transaction (the same lock every writer takes), so a concurrent change is
never overwritten and the hub keeps serving between batches. Running it again after an interruption
simply continues: values already on the primary key are skipped.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, select, update

from hub.core.actor import Context
from hub.core.crypto import associated_data, is_encrypted, key_id
from hub.core.models.base import Base, table_of


@dataclass
class RotationReport:
    """How many records were looked at and re-encrypted, per module."""

    scanned: int = 0
    rotated: int = 0
    by_module: Counter[str] = field(default_factory=Counter)


def sealed_columns() -> Iterator[tuple[Table, Column[Any], Column[Any]]]:
    """(table, the column ciphertexts are bound to, the sealed JSON column) of every column marked sealed."""
    for table in Base.metadata.sorted_tables:
        for col in table.columns:
            if "sealed_by" in col.info:
                yield table, table.c[col.info["sealed_by"]], col


def _sealed_values(value: Any) -> dict[str, str]:
    return {k: v for k, v in (value or {}).items() if is_encrypted(v)} if isinstance(value, dict) else {}


def key_usage(store: Any, ctx: Context) -> Counter[str]:
    """How many stored values each key id encrypts (all modules, built-in and custom fields, sealed columns)."""
    usage: Counter[str] = Counter()
    with store.reading(ctx) as tx:
        for _table, _bound, col in sealed_columns():
            for value in tx.session.execute(select(col)).scalars():
                usage.update(key_id(v) for v in _sealed_values(value).values())
        for mod in tx.modules.values():
            if not mod.sensitive:
                continue
            table = table_of(mod.model)
            builtin = [f for f in mod.sensitive if f in mod.builtin]
            custom = [f for f in mod.sensitive if f in mod.custom]
            for row in tx.session.execute(select(table.c.custom, *(table.c[f] for f in builtin))).mappings():
                values = [row[f] for f in builtin] + [(row["custom"] or {}).get(f) for f in custom]
                usage.update(key_id(v) for v in values if is_encrypted(v))
    return usage


def rotate(store: Any, ctx: Context, batch_size: int = 500,
           progress: Callable[[int], None] | None = None) -> RotationReport:
    """Re-encrypt every value not on the primary key; see the module docstring."""
    report = RotationReport()
    primary = store.keyring.primary_id
    with store.reading(ctx) as tx:
        modules = [m for m in tx.modules.values() if m.sensitive]
    for mod in modules:
        table = table_of(mod.model)
        builtin = [f for f in mod.sensitive if f in mod.builtin]
        custom = [f for f in mod.sensitive if f in mod.custom]
        last: uuid.UUID | None = None
        while True:
            with store.writing(ctx) as tx:
                stmt = select(table.c.id, table.c.custom, *(table.c[f] for f in builtin)).order_by(table.c.id)
                if last is not None:
                    stmt = stmt.where(table.c.id > last)
                rows = tx.session.execute(stmt.limit(batch_size)).mappings().all()
                if not rows:
                    break
                last = rows[-1]["id"]
                updates = []
                for row in rows:
                    rid, new_custom = row["id"], dict(row["custom"] or {})
                    values: dict[str, Any] = {}
                    for f in builtin:
                        v = row[f]
                        if is_encrypted(v) and key_id(v) != primary:
                            values[f] = _reencrypt(store, mod.name, rid, f, v)
                    for f in custom:
                        cv = new_custom.get(f)
                        if isinstance(cv, str) and is_encrypted(cv) and key_id(cv) != primary:
                            new_custom[f] = _reencrypt(store, mod.name, rid, f, cv)
                            values["custom"] = new_custom
                    if values:
                        updates.append((rid, values))
                for rid, values in updates:
                    tx.session.execute(update(table).where(table.c.id == rid).values(**values))
                if updates:
                    tx.audit.add(mod.name, None, "rotate_keys",
                                 {"records": [None, len(updates)], "key": [None, primary]})
                report.scanned += len(rows)
                report.rotated += len(updates)
                report.by_module[mod.name] += len(updates)
                if progress:
                    progress(len(rows))
    for table, bound, col in sealed_columns():
        _rotate_sealed(store, ctx, table, bound, col, batch_size, report, progress)
    return report


def _rotate_sealed(store: Any, ctx: Context, table: Table, bound: Column[Any], col: Column[Any], batch_size: int,
                   report: RotationReport, progress: Callable[[int], None] | None) -> None:
    """Re-encrypt the ciphertexts of one sealed column, a batch of rows per transaction."""
    primary = store.keyring.primary_id
    pk = table.primary_key.columns.values()[0]
    last: Any = None
    while True:
        with store.writing(ctx) as tx:
            stmt = select(pk, bound, col).order_by(pk).limit(batch_size)
            if last is not None:
                stmt = stmt.where(pk > last)
            rows = tx.session.execute(stmt).all()
            if not rows:
                return
            last = rows[-1][0]
            changed = 0
            for rid, owner, value in rows:
                old = {k: v for k, v in _sealed_values(value).items() if key_id(v) != primary}
                if not old:
                    continue
                new = dict(value)
                for k, token in old.items():
                    aad = associated_data(table.name, owner, k)
                    new[k] = store.keyring.encrypt(store.keyring.decrypt(token, aad), aad)
                tx.session.execute(update(table).where(pk == rid).values({col.name: new}))
                changed += 1
            if changed:
                tx.audit.add(table.name, None, "rotate_keys", {"records": [None, changed], "key": [None, primary]})
            report.scanned += len(rows)
            report.rotated += changed
            report.by_module[table.name] += changed
            if progress:
                progress(len(rows))


def _reencrypt(store: Any, module: str, record_id: uuid.UUID, field: str, token: str) -> str:
    aad = associated_data(module, record_id, field)
    return str(store.keyring.encrypt(store.keyring.decrypt(token, aad), aad))
