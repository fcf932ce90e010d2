"""Tables of the store's own bookkeeping: the audit chain, external-id bindings, custom fields, blind index."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.models.base import Base
from hub.core.types import new_id, utcnow


class AuditEvent(Base):
    """One change (or denied attempt), hash-chained to the event before it.

    ``changes`` holds canonical JSON text, ``{"field": [before, after]}``, exactly as hashed.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_module_record", "module", "record_id"),)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column()
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(120))
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    module: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row naming the chain's last sequence number and hash; writers lock it."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


class Binding(Base):
    """(connector instance, stream, external id) <-> (module, record id), with sync bookkeeping."""

    __tablename__ = "bindings"
    __table_args__ = (
        UniqueConstraint("external_id", "connector", "stream"),  # selective column first: IN-list lookups
        Index("ix_bindings_module_record", "module", "record_id"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    connector: Mapped[str] = mapped_column(String(120))
    stream: Mapped[str] = mapped_column(String(120))
    external_id: Mapped[str] = mapped_column(String(255))
    module: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID] = mapped_column()
    inbound_hash: Mapped[str | None] = mapped_column(String(64))
    outbound_hash: Mapped[str | None] = mapped_column(String(64))
    #: the hashes sent before ``outbound_hash``, newest first, space-separated (see binding.EARLIER_OUTBOUND)
    earlier_outbound_hashes: Mapped[str | None] = mapped_column(String(300))
    remote_version: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CustomField(Base):
    """A field added to a module at run time; its values live in the record's ``custom`` column."""

    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("module", "name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    module: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    choices: Mapped[list[Any]] = mapped_column(default=list)
    pattern: Mapped[str | None] = mapped_column(String(500))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BlindIndex(Base):
    """A keyed hash of a sensitive field's normalised value, so equality search works on ciphertext."""

    __tablename__ = "blind_index"
    __table_args__ = (Index("ix_blind_index_lookup", "module", "field", "digest"),)
    module: Mapped[str] = mapped_column(String(64), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
