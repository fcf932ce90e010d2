"""Mapping versions: save, pin, unpin, roll back (``mappings.manage``); list, show, diff (``mappings.read``).

Who saved or pinned a version is the acting Context's ``actor.name`` (no free text). Each change is an
audit event of module ``mapping_versions`` with the mapping's name as record id:

- ``save``: ``{"version": [previous latest, new], "spec_hash": [previous, new]}`` (and the comment);
- ``rollback``: the same, plus ``{"content_of": [None, the version rolled back to]}``;
- ``pin`` / ``unpin``: ``{"pinned": [previous pin, new pin]}`` (None when not pinned).

A save of unchanged content, a rollback to the content that is already the latest and an unpin of a mapping
that is not pinned change nothing and write no event. The storage is ``hub.mappings.versions``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.core.actor import Context
from hub.core.audit import AuditLog
from hub.core.store import Store
from hub.mappings import versions
from hub.mappings.versions import MappingVersion
from hub.services.operation import admin_change, admin_view

TARGET = "mapping_versions"
MANAGE = "mappings.manage"
READ = "mappings.read"


@dataclass(frozen=True)
class VersionInfo:
    """One stored version of a mapping spec."""

    name: str
    version: int
    spec: str
    spec_hash: str
    created_by: str
    created_at: dt.datetime
    comment: str | None


@dataclass(frozen=True)
class Saved:
    """The outcome of a save or a rollback: the version now latest, whether it is new, and the pin."""

    version: VersionInfo
    created: bool
    pinned: int | None


@dataclass(frozen=True)
class History:
    """Every version of a mapping, oldest first, and the pinned version number (None: the latest is used)."""

    name: str
    versions: list[VersionInfo]
    pinned: int | None


def _info(row: MappingVersion) -> VersionInfo:
    return VersionInfo(row.name, row.version, row.spec, row.spec_hash, row.created_by, row.created_at, row.comment)


def spec_name(spec_text: str) -> str | None:
    """The ``mapping:`` name in a spec's text, or None when it is unreadable or has none."""
    from hub.errors import HubError
    from hub.mappings.spec import parse_text

    try:
        name = parse_text(spec_text).get("mapping")
    except HubError:
        return None
    return name if isinstance(name, str) else None


def _audit_new(log: AuditLog, action: str, before: MappingVersion | None, after: MappingVersion,
               extra: Mapping[str, list[Any]]) -> None:
    changes: dict[str, Any] = {
        "version": [None if before is None else before.version, after.version],
        "spec_hash": [None if before is None else before.spec_hash, after.spec_hash],
        **extra,
    }
    log.add(TARGET, after.name, action, changes)


def save(store: Store, ctx: Context, spec_text: str, *, comment: str | None = None, check_fields: bool = True,
         tables: Mapping[str, Mapping[Any, Any]] | None = None, force: bool = False) -> Saved:
    """Validate ``spec_text`` (target fields checked against the module catalog, custom fields included,
    unless not ``check_fields``), run its embedded tests (TestsFailed unless ``force``) and store it as the
    mapping's next version; nothing new when its canonical content is unchanged. SpecError when invalid."""
    from hub.core.modules import field_names

    with admin_change(store, ctx, MANAGE, TARGET, spec_name(spec_text)) as tx:
        catalog = field_names(tx.session) if check_fields else None
        name = spec_name(spec_text)
        before = versions.latest(tx.session, name) if name is not None else None
        row = versions.save(tx.session, spec_text, ctx.actor.name, comment=comment, catalog=catalog, tables=tables,
                            plugins=store.plugins, force=force)
        created = before is None or row.version != before.version
        if created:
            _audit_new(tx.audit, "save", before, row, {"comment": [None, comment]} if comment else {})
        return Saved(_info(row), created, versions.pinned(tx.session, row.name))


def rollback(store: Store, ctx: Context, name: str, version: int, comment: str | None = None) -> Saved:
    """A new version of ``name`` with the content of ``version`` (the latest itself when already equal).
    A pin is left as it is (``Saved.pinned`` says which version sync runs use). NotFound."""
    with admin_change(store, ctx, MANAGE, TARGET, name) as tx:
        before = versions.latest(tx.session, name)
        row = versions.rollback(tx.session, name, version, ctx.actor.name, comment)
        created = before is None or row.version != before.version
        if created:
            _audit_new(tx.audit, "rollback", before, row, {"content_of": [None, version]})
        return Saved(_info(row), created, versions.pinned(tx.session, name))


def pin(store: Store, ctx: Context, name: str, version: int) -> int | None:
    """Make sync runs use ``version`` of ``name``; returns the version pinned before (None). NotFound."""
    with admin_change(store, ctx, MANAGE, TARGET, name) as tx:
        before = versions.pinned(tx.session, name)
        versions.pin(tx.session, name, version, ctx.actor.name)
        tx.audit.add(TARGET, name, "pin", {"pinned": [before, version]})
        return before


def unpin(store: Store, ctx: Context, name: str) -> bool:
    """Let sync runs use the latest version of ``name`` again; False when it was not pinned."""
    with admin_change(store, ctx, MANAGE, TARGET, name) as tx:
        before = versions.pinned(tx.session, name)
        removed = versions.unpin(tx.session, name)
        if removed:
            tx.audit.add(TARGET, name, "unpin", {"pinned": [before, None]})
        return removed


def names(store: Store, ctx: Context) -> list[str]:
    """The names of all stored mappings."""
    with admin_view(store, ctx, READ, TARGET) as tx:
        return versions.names(tx.session)


def history(store: Store, ctx: Context, name: str) -> History:
    """Every version of ``name`` (an empty list when there is none) and its pin."""
    with admin_view(store, ctx, READ, TARGET, name) as tx:
        rows = versions.versions(tx.session, name)
        return History(name, [_info(r) for r in rows], versions.pinned(tx.session, name))


def show(store: Store, ctx: Context, name: str, version: int | None = None) -> VersionInfo:
    """Version ``version`` of ``name``; None: the pinned one if pinned, else the latest. NotFound."""
    with admin_view(store, ctx, READ, TARGET, name) as tx:
        return _info(versions.get(tx.session, name, version))


def diff(store: Store, ctx: Context, name: str, v1: int, v2: int) -> str:
    """A unified diff of two versions' spec text (empty when they are equal). NotFound."""
    with admin_view(store, ctx, READ, TARGET, name) as tx:
        return versions.diff(tx.session, name, v1, v2)
