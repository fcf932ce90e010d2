"""The record store: the one write path (and read path) every caller uses, in one transaction each.

    store = Store.from_settings(settings, plugin_manager())
    with store.writing(ctx) as tx:          # validates, checks access, encrypts, audits, commits
        contact = tx.create("contacts", {"last_name": "Li", "email": "li@example.cn"})
        result = tx.write_many("contacts", rows)          # per-record outcomes, set-based SQL
    with store.reading(ctx) as tx:
        tx.query("contacts", [Condition("email", "=", "li@example.cn")])

A writing transaction locks the audit head first, so writers are serialised, sequence numbers are
gap-free and an upsert by external id can never create a duplicate. Denied attempts are audited even
when the caller's transaction rolls back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import pluggy
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from hub.config import Settings
from hub.core import read
from hub.core.access import AccessProfile, SystemRole, load_profile, merge_system_roles
from hub.core.actor import Context
from hub.core.audit import AuditLog
from hub.core.binding import ExternalRef
from hub.core.bulk import bulk_insert
from hub.core.change import Change
from hub.core.crypto import Keyring, associated_data, is_encrypted
from hub.core.db import engine_for, writer
from hub.core.fields import to_json
from hub.core.models import RECORD_MODELS, BlindIndex, Team, User
from hub.core.models.base import table_of
from hub.core.modules import ModuleDef, catalog
from hub.core.types import utcnow
from hub.core.write import BatchResult, Row, RowResult, write_batch
from hub.errors import HubError, NotFound, ValidationError


class Store:
    """The record store over one database, with the keys to its encrypted fields."""

    def __init__(self, engine: Engine, keyring: Keyring, default_region: str | None = None, *,
                 plugins: pluggy.PluginManager) -> None:
        """``plugins`` is the plugin manager of the process (hub.root.Hub holds the one it builds); the store
        never builds one of its own, so its hooks are those of everything else the process runs."""
        if not isinstance(plugins, pluggy.PluginManager):
            raise TypeError(f"Store needs the plugin manager (hub.plugins.plugin_manager()), not {plugins!r}")
        self.engine = engine
        self.keyring = keyring
        self.default_region = default_region
        self.plugins = plugins

    @classmethod
    def from_settings(cls, settings: Settings | None, plugins: pluggy.PluginManager) -> Store:
        settings = settings or Settings.from_env()
        return cls(engine_for(settings.database_url),
                   Keyring.from_config(settings.encryption_keys, settings.blind_index_key),
                   settings.default_region, plugins=plugins)

    @cached_property
    def system_roles(self) -> dict[str, SystemRole]:
        """The system roles the plugins declare (``register_system_roles``), by name."""
        return merge_system_roles(self.plugins.hook.register_system_roles())

    @contextmanager
    def writing(self, ctx: Context) -> Iterator[Tx]:
        """A writing transaction: committed when the block ends, rolled back (wholly) on an error."""
        session = Session(bind=writer(self.engine), expire_on_commit=False)
        tx = Tx(self, session, ctx, write=True)
        try:
            tx.audit.lock()
            yield tx
            tx.audit.flush()
            session.commit()
        except BaseException:
            session.rollback()
            denials = list(tx.denials)
            session.close()
            if denials:
                self._audit_denials(ctx, denials)
            raise
        session.close()

    @contextmanager
    def reading(self, ctx: Context) -> Iterator[Tx]:
        """A read-only transaction; denied reads are audited in a transaction of their own."""
        session = Session(bind=self.engine, expire_on_commit=False)
        tx = Tx(self, session, ctx, write=False)
        try:
            yield tx
        finally:
            session.close()  # ends the transaction; loaded objects stay readable (detached, not expired)
            if tx.denials:
                self._audit_denials(ctx, tx.denials)

    def _audit_denials(self, ctx: Context, denials: list[tuple[str, object, str]]) -> None:
        for module, rid, action in denials:
            self.record_event(ctx, module, rid, "denied", {"attempt": [None, action]})

    def record_event(self, ctx: Context, module: str, record_id: object, action: str,
                     changes: dict[str, Any]) -> None:
        """Append one audit event in a transaction of its own (denied attempts, exports)."""
        with Session(bind=writer(self.engine)) as session:
            log = AuditLog(session, ctx, self.keyring.audit_key)
            log.lock()
            log.add(module, record_id, action, changes)
            log.flush()
            session.commit()


class Tx:
    """One transaction of one actor against the store."""

    def __init__(self, store: Store, session: Session, ctx: Context, write: bool) -> None:
        self.store = store
        self.session = session
        self.ctx = ctx
        self.write = write
        self.keyring = store.keyring
        self.audit = AuditLog(session, ctx, store.keyring.audit_key)
        self.denials: list[tuple[str, object, str]] = []
        self.cache: dict[str, Any] = {}

    @cached_property
    def profile(self) -> AccessProfile:
        return load_profile(self.session, self.ctx.actor, self.store.system_roles)

    @cached_property
    def modules(self) -> dict[str, ModuleDef]:
        return catalog(self.session, self.store.default_region)

    def module(self, name: str) -> ModuleDef:
        """The definition of module ``name`` (custom fields included), or ValidationError."""
        try:
            return self.modules[name]
        except KeyError:
            raise ValidationError("module", f"{name!r} is not a module; modules: {', '.join(RECORD_MODELS)}") from None

    def _writable(self) -> None:
        if not self.write:
            raise HubError("this is a read-only transaction; use store.writing()")

    # -- the write path ---------------------------------------------------------------------------
    def write_many(self, module: str, rows: Sequence[Row], all_or_nothing: bool = False) -> BatchResult:
        """Create or update many records; per-record outcomes unless ``all_or_nothing``."""
        self._writable()
        return write_batch(self, module, rows, all_or_nothing)

    def create(self, module: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Create one record and return it as the actor sees it."""
        result = self.write_many(module, [Row(data)], all_or_nothing=True).results[0]
        assert result.id is not None
        return self.get(module, result.id)

    def update(self, module: str, record_id: uuid.UUID | str, data: Mapping[str, Any],
               expected_version: int | None = None) -> dict[str, Any]:
        """Change fields of one record (ConflictError when ``expected_version`` is stale)."""
        rid = _uuid(module, record_id)
        self.write_many(module, [Row(data, id=rid, expected_version=expected_version)], all_or_nothing=True)
        return self.get(module, rid)

    def upsert(self, module: str, data: Mapping[str, Any], *, ref: ExternalRef | None = None,
               match: str | None = None) -> RowResult:
        """Create or update one record found by external id (``ref``) or by a field's value (``match``)."""
        return self.write_many(module, [Row(data, ref=ref, match=match)], all_or_nothing=True).results[0]

    def delete(self, module: str, record_id: uuid.UUID | str) -> None:
        """Soft-delete one record (it stays restorable and in the audit trail)."""
        self._set_deleted(module, [_uuid(module, record_id)], deleted=True)

    def restore(self, module: str, record_id: uuid.UUID | str) -> None:
        """Undo a soft delete."""
        self._set_deleted(module, [_uuid(module, record_id)], deleted=False)

    def delete_many(self, module: str, ids: Sequence[uuid.UUID]) -> int:
        """Soft-delete records; returns how many changed."""
        return self._set_deleted(module, list(ids), deleted=True)

    def _set_deleted(self, module: str, ids: list[uuid.UUID], deleted: bool) -> int:
        self._writable()
        mod = self.module(module)
        self.profile.require(module, "delete" if deleted else "update")
        raw = self.load_raw(mod, ids)
        now, table, changed = utcnow(), table_of(mod.model), []
        for rid in ids:
            row = raw.get(rid)
            if row is None:
                raise NotFound(module, rid)
            if not self.profile.in_scope(module, row["owner_id"], row["team_id"]):
                self.deny(module, rid, "delete" if deleted else "restore")
                raise NotFound(module, rid)
            if (row["deleted_at"] is not None) == deleted:
                continue
            changed.append(rid)
            self.audit.add(module, rid, "delete" if deleted else "restore",
                           {"deleted_at": [to_json(row["deleted_at"]), to_json(now if deleted else None)]})
        if changed:
            self.session.execute(update(table).where(table.c.id.in_(changed)).values(
                deleted_at=now if deleted else None, updated_at=now, version=table.c.version + 1))
            self.note_changes(module, [Change(rid, "deleted" if deleted else "restored", ("deleted_at",))
                                       for rid in changed])
        return len(changed)

    # -- reads ------------------------------------------------------------------------------------
    def get(self, module: str, record_id: uuid.UUID | str, include_deleted: bool = False) -> dict[str, Any]:
        return read.get(self, module, record_id, include_deleted)

    def get_many(self, module: str, ids: Sequence[uuid.UUID], include_deleted: bool = False
                 ) -> dict[uuid.UUID, dict[str, Any]]:
        """Records by id as the actor sees them; ids outside scope or missing are left out."""
        return read.get_many(self, module, ids, include_deleted)

    def query(self, module: str, where: Sequence[read.Condition] = (), **kwargs: Any) -> list[dict[str, Any]]:
        return read.select_records(self, module, where, **kwargs)

    def count(self, module: str, where: Sequence[read.Condition] = ()) -> int:
        return read.count(self, module, where)

    def iterate(self, module: str, where: Sequence[read.Condition] = (), action: str = "read"
                ) -> Iterator[dict[str, Any]]:
        return read.iterate(self, module, where, action=action)

    def search(self, module: str, text: str, limit: int = 20) -> list[dict[str, Any]]:
        return read.search(self, module, text, limit)

    # -- services the write and read paths use ----------------------------------------------------
    def deny(self, module: str, record_id: uuid.UUID, action: str) -> None:
        """Remember a denied attempt; it is audited whatever becomes of this transaction."""
        self.denials.append((module, record_id, action))
        if self.write:
            self.audit.add(module, record_id, "denied", {"attempt": [None, action]})

    def note_changes(self, module: str, changes: Sequence[Change]) -> None:
        """Tell ``record_changed`` hooks (the outbox among them) of changed records, inside this transaction."""
        if changes:
            self.store.plugins.hook.record_changed(tx=self, module=module, changes=changes)

    def load_raw(self, mod: ModuleDef, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        """Stored rows by id (ciphertext as stored), regardless of scope."""
        out: dict[uuid.UUID, dict[str, Any]] = {}
        id_list = list(dict.fromkeys(ids))
        table = table_of(mod.model)
        for start in range(0, len(id_list), 2000):
            for r in self.session.execute(select(table).where(table.c.id.in_(id_list[start:start + 2000]))).mappings():
                out[r["id"]] = dict(r)
        return out

    def plain(self, mod: ModuleDef, record_id: uuid.UUID | None, field: str, stored: Any) -> Any:
        """The plaintext of a stored value (decrypting sensitive fields), in the field's Python type."""
        f = mod.fields[field]
        if f.sensitive and is_encrypted(stored):
            stored = self.keyring.decrypt(stored, associated_data(mod.name, record_id, field))
        if f.custom and stored is not None:  # custom values are kept as JSON: give them their type back
            return f.clean(mod.name, stored)
        return stored

    def ids_by_value(self, mod: ModuleDef, field: str, values: list[Any]) -> dict[Any, list[uuid.UUID]]:
        """Record ids (including soft-deleted ones) whose ``field`` equals each value, one query per chunk."""
        f = mod.field(field)
        out: dict[Any, list[uuid.UUID]] = {}
        model = mod.model
        for start in range(0, len(values), 2000):
            chunk = values[start:start + 2000]
            if f.sensitive:
                digests = {self.keyring.blind_index(mod.name, field, str(v)): v for v in chunk}
                rows = self.session.execute(select(BlindIndex.digest, BlindIndex.record_id).where(
                    BlindIndex.module == mod.name, BlindIndex.field == field, BlindIndex.digest.in_(digests)))
                for d, rid in rows:
                    out.setdefault(digests[d], []).append(rid)
            elif f.custom:
                by_text = {str(to_json(v)): v for v in chunk}
                col = model.custom[field].as_string()
                for text, rid in self.session.execute(select(col, model.id).where(col.in_(by_text))):
                    out.setdefault(by_text[text], []).append(rid)
            else:
                col = table_of(model).c[field]
                for v, rid in self.session.execute(select(col, model.id).where(col.in_(chunk))):
                    out.setdefault(v, []).append(rid)
        return out

    def existing_ids(self, target: str, ids: Iterable[Any]) -> set[Any]:
        """Which of ``ids`` exist in ``target`` (a module, ``users`` or ``teams``)."""
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return set()
        model: Any = {"users": User, "teams": Team}.get(target) or RECORD_MODELS.get(target)
        if model is None:
            return set()
        found: set[Any] = set()
        for start in range(0, len(wanted), 2000):
            found.update(self.session.scalars(select(model.id).where(model.id.in_(wanted[start:start + 2000]))))
        return found

    def index(self, module: str, entries: Sequence[tuple[uuid.UUID | None, str, str | None]]) -> None:
        """Replace the blind-index digests of (record, field) pairs; a None digest only removes."""
        if not entries:
            return
        by_field: dict[str, list[uuid.UUID | None]] = {}
        for rid, field, _ in entries:
            by_field.setdefault(field, []).append(rid)
        for field, rids in by_field.items():
            self.session.execute(delete(BlindIndex).where(
                BlindIndex.module == module, BlindIndex.field == field, BlindIndex.record_id.in_(rids)))
        rows = [{"module": module, "field": f, "record_id": rid, "digest": d} for rid, f, d in entries if d]
        bulk_insert(self.session, table_of(BlindIndex), rows)


def _uuid(module: str, value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(module, value) from None
