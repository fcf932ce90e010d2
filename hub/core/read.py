"""Reading records: filters, scope, and rendering a row as the actor may see it.

Every read goes through ``select_records`` (or ``get``), which applies the actor's scope in SQL and
removes hidden fields, masks masked ones and decrypts sensitive ones in the rendered record.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, Select, and_, cast, exists, func, select, true, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import ColumnElement

from hub.core.access import mask
from hub.core.crypto import DecryptionError
from hub.core.models import BlindIndex
from hub.core.models.base import table_of
from hub.core.modules import ModuleDef
from hub.errors import NotFound, ValidationError

if TYPE_CHECKING:
    from hub.core.store import Tx

OPS = ("=", "!=", "<=", ">=", "<", ">", "~")
_WHERE = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(!=|<=|>=|=|<|>|~)\s*(.*)$", re.S)


@dataclass(frozen=True)
class Condition:
    """``field op value``; op is one of = != < <= > >= ~ (contains, ignoring case)."""

    field: str
    op: str
    value: Any


def parse_where(text: str) -> Condition:
    """``email=a@b.c``, ``amount>=100``, ``name~acme``; a clear error names what is wrong."""
    m = _WHERE.match(text)
    if not m:
        raise ValidationError("--where", f"{text!r} is not of the form FIELD OP VALUE (OP: {' '.join(OPS)})")
    return Condition(m.group(1), m.group(2), m.group(3))


def _clause(tx: Tx, mod: ModuleDef, cond: Condition) -> ColumnElement[bool]:
    if cond.op not in OPS:
        raise ValidationError(f"{mod.name}.{cond.field}", f"unknown operator {cond.op!r}")
    f = mod.field(cond.field)
    access = tx.profile.module(mod.name)
    if cond.field in access.hidden:
        raise ValidationError(f"{mod.name}.{cond.field}", "no such field")
    if cond.field in access.masked:  # a filter would reveal what the mask hides
        raise ValidationError(f"{mod.name}.{cond.field}", "is masked for you, so it cannot be filtered on")
    model = mod.model
    value = cond.value
    if f.sensitive:
        if cond.op != "=":
            raise ValidationError(f"{mod.name}.{cond.field}", "an encrypted field can only be searched with =")
        digest = tx.keyring.blind_index(mod.name, cond.field, str(value))
        return model.id.in_(select(BlindIndex.record_id).where(
            BlindIndex.module == mod.name, BlindIndex.field == cond.field, BlindIndex.digest == digest))
    if f.kind == "tags":
        tag = str(value).strip()
        if tx.session.get_bind().dialect.name == "postgresql":
            return type_coerce(model.tags, JSONB).contains([tag])
        each = func.json_each(model.tags).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == tag))
    if cond.op == "~":
        column: Any = model.custom[cond.field].as_string() if f.custom else getattr(model, cond.field)
        return func.lower(column).contains(str(value).lower())
    if value is not None and value != "":
        value = f.clean(mod.name, value)
    if f.custom:
        if f.kind in ("integer", "decimal"):
            column = cast(model.custom[cond.field].as_string(), Float)
            value = None if value is None else float(value)
        elif f.kind == "boolean":
            column = model.custom[cond.field].as_boolean()
        else:
            column = model.custom[cond.field].as_string()
            value = None if value is None else str(value if not hasattr(value, "isoformat") else value.isoformat())
    else:
        column = getattr(model, cond.field)
    if value is None or value == "":
        return column.is_(None) if cond.op == "=" else column.is_not(None)
    ops = {"=": column.__eq__, "!=": column.__ne__, "<": column.__lt__, "<=": column.__le__,
           ">": column.__gt__, ">=": column.__ge__}
    return ops[cond.op](value)


def statement(tx: Tx, mod: ModuleDef, where: Sequence[Condition] = (), include_deleted: bool = False) -> Select[Any]:
    """SELECT of the module's rows the actor may read that satisfy ``where``."""
    model = mod.model
    clauses = [tx.profile.scope_clause(model), *(_clause(tx, mod, c) for c in where)]
    if not include_deleted:
        clauses.append(model.deleted_at.is_(None))
    return select(table_of(model)).where(and_(true(), *clauses))


def render(tx: Tx, mod: ModuleDef, raw: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the actor sees it: custom fields flattened, secrets decrypted, rules applied."""
    access = tx.profile.module(mod.name)
    out: dict[str, Any] = {}
    custom = raw.get("custom") or {}
    for name, f in mod.fields.items():
        if name == "custom" or name in access.hidden:
            continue
        value = custom.get(name) if f.custom else raw.get(name)
        if (f.sensitive or f.custom) and value is not None:
            try:
                value = tx.plain(mod, raw["id"], name, value)
            except DecryptionError:
                value = "<undecryptable>"
        if name in access.masked:
            value = mask(value)
        out[name] = value
    return out


def get(tx: Tx, module: str, record_id: uuid.UUID | str, include_deleted: bool = False) -> dict[str, Any]:
    """One record, or NotFound (also for a record outside scope, and then the attempt is audited)."""
    mod = tx.module(module)
    try:
        rid = record_id if isinstance(record_id, uuid.UUID) else uuid.UUID(str(record_id))
    except ValueError:
        raise NotFound(module, record_id) from None
    tx.profile.require(module, "read")
    stmt = statement(tx, mod, include_deleted=include_deleted).where(mod.model.id == rid)
    row = tx.session.execute(stmt).mappings().first()
    if row is None:
        model = mod.model
        stored = tx.session.execute(select(model.owner_id, model.team_id).where(model.id == rid)).first()
        if stored is not None and not tx.profile.in_scope(module, stored.owner_id, stored.team_id):
            tx.deny(module, rid, "read")  # it exists, but not for this actor: audited
        raise NotFound(module, rid)
    return render(tx, mod, dict(row))


def get_many(tx: Tx, module: str, ids: Sequence[uuid.UUID], include_deleted: bool = False
             ) -> dict[uuid.UUID, dict[str, Any]]:
    """Readable records among ``ids``, rendered, by id (one query per 2000 ids)."""
    mod = tx.module(module)
    tx.profile.require(module, "read")
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for start in range(0, len(ids), 2000):
        stmt = statement(tx, mod, include_deleted=include_deleted).where(mod.model.id.in_(ids[start:start + 2000]))
        for r in tx.session.execute(stmt).mappings():
            out[r["id"]] = render(tx, mod, dict(r))
    return out


def select_records(tx: Tx, module: str, where: Sequence[Condition] = (), *, order_by: str | None = None,
                   limit: int | None = None, offset: int = 0, include_deleted: bool = False) -> list[dict[str, Any]]:
    """The records the actor may read that satisfy ``where``, rendered."""
    mod = tx.module(module)
    tx.profile.require(module, "read")
    stmt = statement(tx, mod, where, include_deleted)
    if order_by:
        desc = order_by.startswith("-")
        name = order_by.lstrip("-")
        if name not in mod.builtin or mod.builtin[name].sensitive or name in tx.profile.module(module).hidden:
            raise ValidationError(f"{module}.{name}", "cannot sort by this field")
        col = table_of(mod.model).c[name]
        stmt = stmt.order_by(col.desc() if desc else col, mod.model.id)
    else:
        stmt = stmt.order_by(mod.model.id)
    stmt = stmt.offset(offset) if offset else stmt
    stmt = stmt.limit(limit) if limit is not None else stmt
    return [render(tx, mod, dict(r)) for r in tx.session.execute(stmt).mappings()]


def count(tx: Tx, module: str, where: Sequence[Condition] = (), include_deleted: bool = False) -> int:
    """How many records the actor may read satisfy ``where``."""
    mod = tx.module(module)
    tx.profile.require(module, "read")
    sub = statement(tx, mod, where, include_deleted).subquery()
    return int(tx.session.scalar(select(func.count()).select_from(sub)) or 0)


def iterate(tx: Tx, module: str, where: Sequence[Condition] = (), chunk: int = 1000,
            action: str = "read") -> Iterator[dict[str, Any]]:
    """Every readable record satisfying ``where``, in id order, fetched ``chunk`` rows at a time."""
    mod = tx.module(module)
    tx.profile.require(module, "read")
    tx.profile.require(module, action)
    last: uuid.UUID | None = None
    while True:
        stmt = statement(tx, mod, where).order_by(mod.model.id).limit(chunk)
        if last is not None:
            stmt = stmt.where(mod.model.id > last)
        rows = tx.session.execute(stmt).mappings().all()
        if not rows:
            return
        for r in rows:
            yield render(tx, mod, dict(r))
        last = rows[-1]["id"]


def search(tx: Tx, module: str, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Records whose name-like fields contain ``text`` (ignoring case)."""
    mod = tx.module(module)
    tx.profile.require(module, "read")
    access = tx.profile.module(module)
    unsearchable = access.hidden | access.masked
    candidates = [n for n in (mod.model.title_field, "name", "first_name", "last_name", "email", "company",
                              "subject", "title", "number", "sku") if n in mod.builtin and n not in unsearchable]
    from sqlalchemy import or_

    needle = text.lower()
    clause = or_(*(func.lower(table_of(mod.model).c[n]).contains(needle) for n in dict.fromkeys(candidates)))
    stmt = statement(tx, mod).where(clause).order_by(mod.model.id).limit(limit)
    return [render(tx, mod, dict(r)) for r in tx.session.execute(stmt).mappings()]
