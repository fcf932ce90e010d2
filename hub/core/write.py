"""The write path's batch algorithm: validate, resolve, check access, diff, encrypt, write set-based, audit.

Every create, update and upsert in Hub goes through ``write_batch`` (one record is a batch of one), so
validation, access checks, encryption, bindings and the audit event cannot be skipped by any caller.
Rows are resolved to existing records by id, by external-id binding or by a match field, in one query
per batch; the SQL is one INSERT and one UPDATE (executemany) per batch. In per-record mode a row that
fails, whether in validation or in the database, is reported with its index and reason and the rest
commit; in all-or-nothing mode the first failure raises and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import bindparam, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from hub.core import binding as bindings
from hub.core.audit import MASK, canonical
from hub.core.bulk import bulk_insert
from hub.core.change import Change
from hub.core.crypto import associated_data
from hub.core.fields import to_json
from hub.core.matching import Matcher
from hub.core.models import Binding, Record
from hub.core.models.base import table_of
from hub.core.modules import SYSTEM_FIELDS, ModuleDef
from hub.core.rules import Edit, module_rules
from hub.core.types import new_ids, utcnow
from hub.errors import AccessDenied, ConflictError, HubError, NotFound, ValidationError

if TYPE_CHECKING:
    from hub.core.store import Tx

CHUNK = 2000
_OWNERSHIP = ("owner_id", "team_id")


class Row(NamedTuple):
    """One record to write: its fields, and how to find the record it may update (a named tuple: a sync
    run makes one per record).

    ``id`` updates that record; ``ref`` upserts through the external-id binding; ``match`` finds the
    record to update by field values in ``data``: a field name, or match rules tried in order, each a
    tuple of fields that must all be equal (after the binding, when there is a ``ref``). A row that
    finds no record is created. On update, ``keep`` fields are never overwritten (only-create and
    hub-owned fields) and ``newest`` fields only when ``source_time`` is later than the record's last
    change. ``validated`` says the values are already what ``FieldDef.clean`` makes of them under the
    module's current definitions (the sync engine's mapping stage validated them): they are not cleaned
    again, but every other check (fields, access, required, references, the database) still applies.
    """

    data: Mapping[str, Any]
    id: uuid.UUID | None = None
    ref: bindings.ExternalRef | None = None
    match: str | tuple[tuple[str, ...], ...] | None = None
    expected_version: int | None = None
    keep: frozenset[str] = frozenset()
    newest: frozenset[str] = frozenset()
    source_time: dt.datetime | None = None
    validated: bool = False

    @property
    def match_rules(self) -> tuple[tuple[str, ...], ...]:
        if self.match is None:
            return ()
        return ((self.match,),) if isinstance(self.match, str) else self.match


@dataclass
class RowResult:
    """What happened to one row: created, updated, unchanged or rejected (with the reason)."""

    index: int
    status: str
    id: uuid.UUID | None = None
    error: str | None = None


@dataclass
class BatchResult:
    """The per-row results of a batch, in input order."""

    results: list[RowResult]

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.status for r in self.results)

    @property
    def rejected(self) -> list[RowResult]:
        return [r for r in self.results if r.status == "rejected"]


@dataclass(eq=False, slots=True)
class _Work:
    index: int
    row: Row
    values: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    existing: dict[str, Any] | None = None
    record_id: uuid.UUID | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)
    new_row: dict[str, Any] = field(default_factory=dict)
    digests: dict[str, str | None] = field(default_factory=dict)
    binding: bindings.BoundRecord | None = None
    content_hash: str | None = None
    changes_text: str | None = None  # canonical(changes), worked out while the database stores the rows
    bind_row: dict[str, Any] | None = None  # the new binding, likewise
    status: str = ""
    error: str | None = None

    def reject(self, error: Exception | str) -> None:
        self.status, self.error = "rejected", str(error)


def _key(row: Row) -> tuple[str, Any] | None:
    if row.id is not None:
        return ("id", row.id)
    if row.ref is not None:
        return ("ref", row.ref.key)
    if row.match is not None:
        return ("match", tuple((f, str(row.data.get(f))) for f in row.match_rules[0]))
    return None


def write_batch(tx: Tx, module: str, rows: Sequence[Row], all_or_nothing: bool = False) -> BatchResult:
    """Write ``rows`` into ``module``; see the module docstring for the guarantees."""
    mod = tx.module(module)
    access = tx.profile.module(module)
    if not access.actions & {"create", "update"}:
        raise AccessDenied(f"{tx.ctx.actor.name} may not create or update {module}")
    works = [_Work(i, r) for i, r in enumerate(rows)]
    # Rows that name the same record go in later waves, so the second updates what the first created.
    pending = works
    while pending:
        wave: list[_Work] = []
        later: list[_Work] = []
        seen: set[tuple[str, Any]] = set()
        for w in pending:
            k = _key(w.row)
            if k is not None and k in seen:
                later.append(w)
            else:
                if k is not None:
                    seen.add(k)
                wave.append(w)
        for start in range(0, len(wave), CHUNK):
            _Wave(tx, mod, wave[start:start + CHUNK], all_or_nothing, first=pending is works).run()
        pending = later
    return BatchResult([RowResult(w.index, w.status, None if w.status == "rejected" else w.record_id, w.error)
                        for w in works])


class _Wave:
    """One chunk of rows that name distinct records, written together."""

    def __init__(self, tx: Tx, mod: ModuleDef, works: list[_Work], all_or_nothing: bool, first: bool = True) -> None:
        self.tx, self.mod, self.works, self.strict = tx, mod, works, all_or_nothing
        self.first = first  # a later wave's rows may be bound by an earlier wave: never taken as unbound
        self.model: type[Record] = mod.model
        self.table = table_of(mod.model)
        self.access = tx.profile.module(mod.name)
        self.now = utcnow()
        self.sensitive = frozenset(mod.sensitive)
        self.required = [(n, f.custom) for n, f in mod.fields.items() if f.required]
        self.profile = tx.profile
        self.may_create = "create" in self.access.actions
        self.defaults = dict(_defaults(mod.model))
        self.filled_defaults = [k for k, v in self.defaults.items() if v is not None and v != []]
        self.module_rules = module_rules(tx.store.plugins).get(mod.name, ())
        self.ids: list[uuid.UUID] = []
        #: Fields this writer may set, by name: True for a custom field (validated rows are placed by it).
        self.placed = {n: f.custom for n, f in mod.fields.items() if not f.readonly and n not in self.access.hidden}

    def fail(self, w: _Work, error: Exception) -> None:
        if self.strict:
            raise error
        w.reject(error)

    def live(self) -> list[_Work]:
        return [w for w in self.works if w.status != "rejected"]

    def run(self) -> None:
        self.skip_unchanged_content()
        for w in self.works:
            if w.status:
                continue
            try:
                self.clean(w)
            except HubError as exc:
                self.fail(w, exc)
        self.resolve()
        todo = [w for w in self.live() if not w.status]
        self.ids = new_ids(sum(1 for w in todo if w.existing is None))
        for w in todo:
            if w.status:
                continue
            try:
                self.prepare(w)
            except HubError as exc:
                self.fail(w, exc)
        self.check_references()
        changed = [w for w in self.live() if w.status in ("created", "updated")]
        self.encrypt(changed)
        self.persist(changed)
        for w in self.live():
            if w.status in ("created", "updated"):
                self.tx.audit.add(self.mod.name, w.record_id, "create" if w.status == "created" else "update",
                                  w.changes, w.changes_text)
        # the events are chained while the database stores the bindings
        self.bind([w for w in self.live() if w.row.ref is not None and w.record_id is not None],
                  meanwhile=self.tx.audit.prepare)
        self.tx.note_changes(self.mod.name, [Change(w.record_id, w.status, tuple(w.changes)) for w in self.live()
                                             if w.status in ("created", "updated") and w.record_id is not None])

    # -- validation -------------------------------------------------------------------------------
    def clean(self, w: _Work) -> None:
        name, fields, hidden, trusted = self.mod.name, self.mod.fields, self.access.hidden, w.row.validated
        if trusted:  # values already clean: only placed, unless a field is unknown, read-only or hidden
            placed, values, custom = self.placed, w.values, w.custom
            for key, value in w.row.data.items():
                is_custom = placed.get(key)
                if is_custom is None:
                    values.clear()
                    custom.clear()
                    break
                (custom if is_custom else values)[key] = value
            else:
                return
        for key, value in w.row.data.items():
            f = fields.get(key)
            if f is None:
                raise ValidationError(f"{name}.{key}", "no such field")
            if f.readonly:
                raise ValidationError(f"{name}.{key}", "is read-only")
            if key in hidden:
                raise AccessDenied(f"{name}.{key}: is hidden from {self.tx.ctx.actor.name}")
            (w.custom if f.custom else w.values)[key] = value if trusted else f.clean(name, value)

    # -- resolution -------------------------------------------------------------------------------
    def skip_unchanged_content(self) -> None:
        """Rows upserted by external id whose content hash equals the last one received are unchanged:
        no validation, no record load, no write, no audit event. Refs the caller found ``unbound`` are not
        looked up (in the first wave)."""
        refs = [w for w in self.works if w.row.ref is not None]
        if not refs:
            return
        first = self.first
        found = bindings.lookup(self.tx.session, [w.row.ref for w in refs if w.row.ref is not None
                                                  and not (first and w.row.ref.unbound)])
        for w in refs:
            assert w.row.ref is not None
            w.content_hash = w.row.ref.content_hash or self.tx.keyring.content_hash(canonical(w.row.data))
            w.binding = found.get(w.row.ref.key)
            if w.binding is not None:
                w.record_id = w.binding.record_id
                echo = w.binding.sent(w.row.ref.echo_hash)  # our own recent write, come back
                # a restricted actor's row goes on to the scope check: "unchanged" would confirm the content
                # of a record it may not see
                if (w.binding.inbound_hash == w.content_hash or echo) and self.profile.unrestricted:
                    w.status = "unchanged"

    def resolve(self) -> None:
        live = [w for w in self.live() if not w.status]
        unmatched: list[_Work] = []
        for w in live:
            if w.row.id is not None:
                w.record_id = w.row.id
            elif w.record_id is None and w.row.match is not None:  # no id, no binding (yet)
                unmatched.append(w)
        Matcher(self).resolve(unmatched)
        ids = [w.record_id for w in live if w.record_id is not None and w.status != "rejected"]
        existing = self.tx.load_raw(self.mod, ids)
        for w in live:
            if w.status == "rejected" or w.record_id is None:
                continue
            raw = existing.get(w.record_id)
            if raw is None:
                if w.row.id is not None:
                    self.fail(w, NotFound(self.mod.name, w.row.id))
                else:
                    w.record_id = None  # a binding to a record that is gone: create it again
                continue
            if not self.tx.profile.in_scope(self.mod.name, raw["owner_id"], raw["team_id"]):
                self.tx.deny(self.mod.name, w.record_id, "update")
                self.fail(w, NotFound(self.mod.name, w.row.id) if w.row.id is not None else self.foreign_ref(w))
                continue
            w.existing = raw

    def foreign_ref(self, w: _Work) -> AccessDenied:
        """The refusal of a row whose external id is bound to a record outside the actor's scope. The binding
        is unique, so the row can neither update that record nor create another: it is refused, naming
        neither the record nor any of its values (the caller gave the external id)."""
        ref = w.row.ref
        assert ref is not None
        return AccessDenied(f"{self.mod.name}.external_id: {ref.external_id!r} of {ref.connector}/{ref.stream} "
                            "is bound to a record you may not change")

    # -- diff -------------------------------------------------------------------------------------
    def prepare(self, w: _Work) -> None:
        if w.existing is None:
            self.prepare_create(w)
            return
        name, sensitive = self.mod.name, self.sensitive
        old = w.existing
        if w.row.expected_version is not None and old["version"] != w.row.expected_version:
            raise ConflictError(f"{name}: record {w.record_id} is at version {old['version']}, "
                                f"not {w.row.expected_version}")
        old_custom = old.get("custom") or {}
        changes: dict[str, list[Any]] = {}
        for fname, value in w.values.items():
            before = self.tx.plain(self.mod, w.record_id, fname, old.get(fname))
            if before != value:
                changes[fname] = [before, value]
        for fname, value in w.custom.items():
            before = self.tx.plain(self.mod, w.record_id, fname, old_custom.get(fname))
            if to_json(before) != to_json(value):
                changes[fname] = [before, value]
        if w.row.keep:
            changes = {k: v for k, v in changes.items() if k not in w.row.keep}
        if w.row.newest and not (w.row.source_time is not None and w.row.source_time > old["updated_at"]):
            changes = {k: v for k, v in changes.items() if k not in w.row.newest}
        if old.get("deleted_at") is not None and w.row.ref is not None:
            changes["deleted_at"] = [old["deleted_at"], None]  # the source has it again: restore
        if not changes:
            w.status = "unchanged"
            return
        if "update" not in self.access.actions:
            raise AccessDenied(f"{self.tx.ctx.actor.name} may not update {name}")
        merged = {c: old[c] for c in old if c != "custom"}
        merged.update({k: v for k, (_, v) in changes.items() if k in self.mod.builtin or k == "deleted_at"})
        for fname, f in self.mod.builtin.items():
            if f.required and merged.get(fname) is None:
                raise ValidationError(f"{name}.{fname}", "is required")
        moved = "owner_id" in changes or "team_id" in changes
        if moved and not self.tx.profile.in_scope(name, merged.get("owner_id"), merged.get("team_id")):
                raise AccessDenied(f"{name}: you may not move a record outside your scope")
        self.check_module(merged, Edit(frozenset(w.values), frozenset(changes)))
        custom = dict(old_custom)
        for k, (_, v) in changes.items():
            if k in self.mod.custom:
                if v is None:
                    custom.pop(k, None)
                else:
                    custom[k] = to_json(v)
        merged.update({"custom": custom, "updated_at": self.now, "version": old["version"] + 1})
        w.status, w.new_row = "updated", merged
        w.changes = {k: [MASK if k in sensitive and b is not None else to_json(b),
                         MASK if k in sensitive and a is not None else to_json(a)] for k, (b, a) in changes.items()}
        for k in ("probability", "status"):  # set by module rules from the stage
            if k in merged and merged[k] != old.get(k) and k not in w.changes:
                w.changes[k] = [to_json(old.get(k)), to_json(merged[k])]

    def prepare_create(self, w: _Work) -> None:
        name, sensitive, profile = self.mod.name, self.sensitive, self.profile
        if not self.may_create:
            raise AccessDenied(f"{self.tx.ctx.actor.name} may not create {name}")
        w.status, w.record_id = "created", self.ids.pop()
        new = self.defaults.copy()
        new.update(w.values)
        if profile.user_id is not None and new.get("owner_id") is None:
            new["owner_id"] = profile.user_id
        if profile.team_id is not None and new.get("team_id") is None:
            new["team_id"] = profile.team_id
        if not profile.in_scope(name, new.get("owner_id"), new.get("team_id")):
            raise AccessDenied(f"{name}: you may not create a record owned outside your scope")
        for fname, is_custom in self.required:
            if (w.custom if is_custom else new).get(fname) is None:
                raise ValidationError(f"{name}.{fname}", "is required")
        if self.module_rules:
            self.check_module(new, Edit(frozenset(w.values)))
        custom_json = {k: v if type(v) is str else to_json(v) for k, v in w.custom.items() if v is not None}
        created: dict[str, list[Any]] = {}
        for keys in (w.values, self.filled_defaults, _OWNERSHIP):  # what a new record can hold
            for k in keys:
                v = new.get(k)  # after the module's rules, which may set values
                if v is None or (type(v) is list and not v):
                    continue
                created[k] = [None, MASK if sensitive and k in sensitive else v if type(v) is str else to_json(v)]
        for k, v in custom_json.items():
            created[k] = [None, MASK if sensitive and k in sensitive else v]
        w.changes = created
        new.update({"id": w.record_id, "created_at": self.now, "updated_at": self.now, "deleted_at": None,
                    "version": 1, "custom": custom_json})
        w.new_row = new

    def check_module(self, row: dict[str, Any], edit: Edit) -> None:
        cache = self.tx.cache.setdefault(f"rules:{self.mod.name}", {})
        for rule in self.module_rules:
            rule(self.tx.session, row, cache, edit)

    def check_references(self) -> None:
        live = [w for w in self.live() if w.status in ("created", "updated")]
        new_ids = {w.record_id for w in live if w.status == "created"}
        for fname, target in self.mod.references.items():
            wanted = {self._new(w, fname) for w in live} - {None}
            if target == self.mod.name:
                wanted -= new_ids
            missing = wanted - self.tx.existing_ids(target, wanted)
            for w in live:
                if self._new(w, fname) in missing:
                    self.fail(w, ValidationError(f"{self.mod.name}.{fname}",
                                                 f"no {target} record with id {self._new(w, fname)}"))
        poly = self.mod.model.polymorphic
        if poly is not None:
            mcol, icol = poly
            for w in self.live():
                if w.status not in ("created", "updated"):
                    continue
                related, rid = w.new_row.get(mcol), w.new_row.get(icol)
                if (related is None) != (rid is None):
                    self.fail(w, ValidationError(f"{self.mod.name}.{icol}", f"give both {mcol} and {icol}"))
                elif related is not None and rid not in self.tx.existing_ids(related, {rid}):
                    self.fail(w, ValidationError(f"{self.mod.name}.{icol}", f"no {related} record with id {rid}"))

    @staticmethod
    def _new(w: _Work, fname: str) -> Any:
        return w.new_row.get(fname) if fname in w.changes else None

    # -- encryption and SQL -----------------------------------------------------------------------
    def encrypt(self, works: list[_Work]) -> None:
        keyring, name = self.tx.keyring, self.mod.name
        for w in works:
            for fname in self.mod.sensitive:
                if fname not in w.changes:
                    continue
                plain = w.values.get(fname) if fname in w.values else w.custom.get(fname)
                aad = associated_data(name, w.record_id, fname)
                token = None if plain is None else keyring.encrypt(str(plain), aad)
                if fname in self.mod.custom:
                    if token is not None:
                        w.new_row["custom"][fname] = token
                else:
                    w.new_row[fname] = token
                w.digests[fname] = None if plain is None else keyring.blind_index(name, fname, str(plain))

    def persist(self, works: list[_Work]) -> None:
        if not works:
            return
        session = self.tx.session
        try:
            with session.begin_nested():
                self.sql(works)
        except DBAPIError as exc:
            if self.strict or len(works) == 1:
                if self.strict:
                    raise ValidationError(self.mod.name, _db_reason(exc)) from None
                works[0].reject(ValidationError(self.mod.name, _db_reason(exc)))
                return
            for w in works:  # find the rows the database refuses, one savepoint each
                try:
                    with session.begin_nested():
                        self.sql([w])
                except DBAPIError as exc_one:
                    w.reject(ValidationError(self.mod.name, _db_reason(exc_one)))

    def sql(self, works: list[_Work]) -> None:
        session = self.tx.session
        creates = [w.new_row for w in works if w.status == "created"]
        updates = [w for w in works if w.status == "updated"]
        bulk_insert(session, self.table, creates, meanwhile=lambda: self.follow_up(works))
        if updates:
            cols = [c.name for c in self.table.columns if c.name not in ("id", "created_at")]
            stmt = update(self.table).where(self.table.c.id == _bind("_id")).values(
                {c: _bind(c) for c in cols})
            session.execute(stmt, [{"_id": w.record_id, **{c: w.new_row.get(c) for c in cols}} for w in updates],
                            execution_options={"synchronize_session": False})
        self.tx.index(self.mod.name, [(w.record_id, f, d) for w in works for f, d in w.digests.items()])

    def follow_up(self, works: list[_Work]) -> None:
        """What comes after the rows are stored, worked out while the database stores them: each event's
        canonical changes and each new binding (rows the database then refuses are never bound or audited)."""
        for w in works:
            if w.changes_text is None:
                w.changes_text = canonical(w.changes)
        unbound = [w for w in works if w.row.ref is not None and w.binding is None and w.bind_row is None]
        for w, bid in zip(unbound, new_ids(len(unbound)), strict=True):
            w.bind_row = self.binding_row(w, bid)

    def binding_row(self, w: _Work, bid: uuid.UUID) -> dict[str, Any]:
        ref = w.row.ref
        assert ref is not None
        return {"id": bid, "connector": ref.connector, "stream": ref.stream, "external_id": ref.external_id,
                "module": self.mod.name, "record_id": w.record_id, "inbound_hash": w.content_hash,
                "outbound_hash": None, "remote_version": ref.remote_version, "created_at": self.now,
                "updated_at": self.now}

    def bind(self, works: list[_Work], meanwhile: Callable[[], None] | None = None) -> None:
        session, now = self.tx.session, self.now
        new_rows, upd_rows = [], []
        ids = new_ids(sum(1 for w in works if w.binding is None and w.bind_row is None))
        for w in works:
            ref = w.row.ref
            assert ref is not None
            if w.binding is None:
                new_rows.append(w.bind_row if w.bind_row is not None else self.binding_row(w, ids.pop()))
            elif (w.binding.record_id, w.binding.inbound_hash, w.binding.remote_version) != (
                    w.record_id, w.content_hash, ref.remote_version):
                upd_rows.append({"_id": w.binding.id, "record_id": w.record_id, "inbound_hash": w.content_hash,
                                 "remote_version": ref.remote_version, "updated_at": now})
        t = table_of(Binding)
        bulk_insert(session, t, new_rows, meanwhile=meanwhile)
        if upd_rows:
            session.execute(update(t).where(t.c.id == _bind("_id")).values(
                record_id=_bind("record_id"), inbound_hash=_bind("inbound_hash"),
                remote_version=_bind("remote_version"), updated_at=_bind("updated_at")), upd_rows,
                execution_options={"synchronize_session": False})


@lru_cache(maxsize=64)
def _defaults(model: type[Record]) -> tuple[tuple[str, Any], ...]:
    """A new record's column values before the caller's: scalar column defaults, else None."""
    out = []
    for col in table_of(model).columns:
        if col.name in SYSTEM_FIELDS:
            continue
        d = col.default
        scalar = isinstance(d, ScalarElementColumnDefault)
        out.append((col.name, d.arg if scalar else ([] if col.name == "tags" else None)))  # type: ignore[union-attr]
    return tuple(out)


def _bind(name: str) -> Any:
    return bindparam(name)


def _db_reason(exc: DBAPIError) -> str:
    text = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return f"the database refused the row: {text}"

