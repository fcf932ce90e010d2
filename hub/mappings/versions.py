"""Mapping versions in the store: every saved spec kept, diffed, pinned and rolled back.

Each save of changed content adds a ``MappingVersion`` (name, version 1, 2, ...; canonical YAML text;
its sha256; who; when; a comment). A ``MappingPin`` row names the version sync runs must use; without
a pin they use the latest. Rollback adds a new version whose content equals an old one, so history is
never rewritten.

This module imports only SQLAlchemy and hub.core (the models are collected for Alembic without
pulling in the mapping language); validation and the error types are imported where they are used.
"""

from __future__ import annotations

import datetime as dt
import difflib
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKeyConstraint, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.core.models.base import Base
from hub.core.types import new_id, utcnow

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pluggy

    from hub.mappings.registry import TransformRegistry
    from hub.mappings.spec import Catalog


class MappingVersion(Base):
    """One saved version of a mapping spec."""

    __tablename__ = "mapping_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[str] = mapped_column(Text)
    spec_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<MappingVersion {self.name} v{self.version}>"


class MappingPin(Base):
    """The version of a mapping that sync runs use, when it is not simply the latest."""

    __tablename__ = "mapping_pins"
    __table_args__ = (ForeignKeyConstraint(["name", "version"], ["mapping_versions.name", "mapping_versions.version"]),)

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    pinned_by: Mapped[str] = mapped_column(String(200))
    pinned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def _not_found(session: Session, name: str, version: int | None) -> Exception:
    """NotFound saying "no mapping named NAME" (with close names), or which versions NAME has."""
    from hub.errors import NotFound

    error = NotFound("mappings", name if version is None else f"{name} v{version}")
    have = [v.version for v in versions(session, name)]
    if have:
        error.args = (f"mapping {name!r} has no version {version}; versions: {', '.join(map(str, have))}",)
    else:
        close = difflib.get_close_matches(name, names(session), n=3)
        error.args = (f"no mapping named {name!r}" + (f"; did you mean {', '.join(close)}?" if close else ""),)
    return error


def versions(session: Session, name: str) -> list[MappingVersion]:
    """Every version of ``name``, oldest first (empty when there is none)."""
    query = select(MappingVersion).where(MappingVersion.name == name).order_by(MappingVersion.version)
    return list(session.scalars(query))


def names(session: Session) -> list[str]:
    """The names of all stored mappings."""
    return list(session.scalars(select(MappingVersion.name).distinct().order_by(MappingVersion.name)))


def latest(session: Session, name: str) -> MappingVersion | None:
    query = select(MappingVersion).where(MappingVersion.name == name).order_by(MappingVersion.version.desc()).limit(1)
    return session.scalars(query).first()


def pinned(session: Session, name: str) -> int | None:
    """The pinned version number of ``name``, or None."""
    pin = session.get(MappingPin, name)
    return None if pin is None else pin.version


def get(session: Session, name: str, version: int | None = None) -> MappingVersion:
    """Version ``version`` of ``name``; None means the pinned one if pinned, else the latest. NotFound."""
    if version is None:
        version = pinned(session, name)
    if version is None:
        found = latest(session, name)
    else:
        query = select(MappingVersion).where(MappingVersion.name == name, MappingVersion.version == version)
        found = session.scalars(query).first()
    if found is None:
        raise _not_found(session, name, version)
    return found


def _add(session: Session, name: str, text: str, digest: str, actor: str, comment: str | None) -> MappingVersion:
    current = latest(session, name)
    if current is not None and current.spec_hash == digest:
        return current
    row = MappingVersion(
        name=name,
        version=1 if current is None else current.version + 1,
        spec=text,
        spec_hash=digest,
        created_by=actor,
        created_at=utcnow(),
        comment=comment,
    )
    session.add(row)
    session.flush()
    return row


def save(
    session: Session,
    spec_text: str,
    actor: str,
    *,
    comment: str | None = None,
    catalog: Catalog | None = None,
    tables: Mapping[str, Mapping[Any, Any]] | None = None,
    plugins: pluggy.PluginManager | TransformRegistry | None = None,
    force: bool = False,
) -> MappingVersion:
    """Validate and store a spec; a new version only when its canonical content changed.

    ``actor`` is the name of who saves (the acting Context's ``actor.name``); ``plugins`` (a plugin manager
    or transform registry) supplies plugin transforms. Returns the new version, or the latest one
    unchanged. SpecError when the spec is invalid; TestsFailed
    (listing each failing test) when one of its embedded tests fails, unless ``force``.
    """
    from hub.mappings.compiler import compile_mapping
    from hub.mappings.testcases import check_tests

    compiled = compile_mapping(spec_text, catalog=catalog, tables=tables, plugins=plugins)
    if not force:
        check_tests(compiled)
    spec = compiled.spec
    return _add(session, spec.name, spec.text, spec.hash, actor, comment)


def diff(session: Session, name: str, v1: int, v2: int) -> str:
    """A unified diff of two versions' spec text (empty when they are equal)."""
    old, new = get(session, name, v1), get(session, name, v2)
    lines = difflib.unified_diff(
        old.spec.splitlines(keepends=True),
        new.spec.splitlines(keepends=True),
        fromfile=f"{name} v{v1}",
        tofile=f"{name} v{v2}",
    )
    return "".join(lines)


def pin(session: Session, name: str, version: int, actor: str) -> MappingPin:
    """Make sync runs use ``version`` of ``name`` until unpinned (or pinned again); ``actor`` is who pins
    (the acting Context's ``actor.name``)."""
    get(session, name, version)
    row = session.get(MappingPin, name)
    if row is None:
        row = MappingPin(name=name, version=version, pinned_by=actor, pinned_at=utcnow())
        session.add(row)
    else:
        row.version, row.pinned_by, row.pinned_at = version, actor, utcnow()
    session.flush()
    return row


def unpin(session: Session, name: str) -> bool:
    """Remove the pin of ``name``; False when it was not pinned."""
    row = session.get(MappingPin, name)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def rollback(session: Session, name: str, version: int, actor: str, comment: str | None = None) -> MappingVersion:
    """A new version with the content of ``version`` (the latest itself when already equal).

    A pin is left as it is: while ``name`` is pinned, sync runs keep using the pinned version.
    """
    old = get(session, name, version)
    return _add(session, name, old.spec, old.spec_hash, actor, comment or f"rollback to v{version}")
