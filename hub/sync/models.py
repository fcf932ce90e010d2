"""Tables of the sync engine: connector instances, routes, stream state, runs, dead letters, the outbox.

The database is the truth about every run; Celery only delivers and executes.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.crypto import DecryptionError, Keyring, associated_data, is_encrypted
from hub.core.models.base import Base
from hub.core.types import new_id, utcnow

RUN_STATUSES = ("queued", "retrying", "running", "succeeded", "failed", "dead", "cancelled")
DIRECTIONS = ("inbound", "outbound")


class ConnectorInstance(Base):
    """A configured connection to one external system. Secret config values are stored encrypted."""

    __tablename__ = "connector_instances"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    #: secret values are ciphertexts bound to (connector_instances, name, key): see hub.core.rotation
    config: Mapped[dict[str, Any]] = mapped_column(default=dict, info={"sealed_by": "name"})
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    rate_limit: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Route(Base):
    """What a stream of an instance syncs with: a hub module through a named mapping, in one direction."""

    __tablename__ = "sync_routes"
    __table_args__ = (UniqueConstraint("instance", "stream", "direction"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    instance: Mapped[str] = mapped_column(String(120), index=True)
    stream: Mapped[str] = mapped_column(String(120))
    direction: Mapped[str] = mapped_column(String(8))
    module: Mapped[str] = mapped_column(String(64), index=True)
    mapping: Mapped[str] = mapped_column(String(200))
    schedule: Mapped[str | None] = mapped_column(String(120))
    batch_size: Mapped[int] = mapped_column(Integer, default=1000)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_scheduled_at: Mapped[dt.datetime | None] = mapped_column()


class StreamState(Base):
    """The committed position of a route: its connector checkpoint, or its outbox cursor."""

    __tablename__ = "sync_stream_states"
    instance: Mapped[str] = mapped_column(String(120), primary_key=True)
    stream: Mapped[str] = mapped_column(String(120), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)
    state: Mapped[dict[str, Any] | None] = mapped_column()
    last_run_id: Mapped[uuid.UUID | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncRun(Base):
    """One run of a route: the truth about what it did, where it is, and who holds it."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("ix_sync_runs_route", "instance", "stream", "direction", "status"),
        # At most one running run per route, across all workers.
        Index("uq_sync_runs_one_running", "instance", "stream", "direction", unique=True,
              postgresql_where=text("status = 'running'"), sqlite_where=text("status = 'running'")),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    instance: Mapped[str] = mapped_column(String(120))
    stream: Mapped[str] = mapped_column(String(120))
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16), default="sync")
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column()
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()
    start_state: Mapped[dict[str, Any] | None] = mapped_column()
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column()
    mapping: Mapped[str | None] = mapped_column(String(200))
    mapping_version: Mapped[int | None] = mapped_column(Integer)
    read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    written: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    # A run waiting to retry (status retrying) holds no lease and no worker; it is not claimed before due_at.
    due_at: Mapped[dt.datetime | None] = mapped_column()
    # When its latest Celery message was sent (or is due, when sent with a delay): workers resend from this.
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    # Transient errors in a row without a committed batch, and when the first of them happened.
    retry_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_since: Mapped[dt.datetime | None] = mapped_column()


class SchedulerLease(Base):
    """The scheduler (beat) that holds this lease is the only one that schedules; a second one refuses."""

    __tablename__ = "sync_scheduler_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime] = mapped_column()
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeadLetter(Base):
    """A record a run could not land, kept with its payload and reason until it is replayed.

    The payload (the source record, or the hub record an outbound run could not send) may hold sensitive
    fields in clear, so it is stored sealed: ``{"sealed": <ciphertext>}``, encrypted with the keyring and
    bound to the letter's id (``seal_payload``, ``open_payload``).
    """

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_route", "instance", "stream", "status"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(index=True)
    instance: Mapped[str] = mapped_column(String(120))
    stream: Mapped[str] = mapped_column(String(120))
    direction: Mapped[str] = mapped_column(String(8))
    external_id: Mapped[str | None] = mapped_column(String(255))
    record_id: Mapped[uuid.UUID | None] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(info={"sealed_by": "id"})
    version: Mapped[str | None] = mapped_column(String(120))
    error_kind: Mapped[str] = mapped_column(String(32))
    error: Mapped[str] = mapped_column(Text)
    mapping: Mapped[str | None] = mapped_column(String(200))
    mapping_version: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    replayed_at: Mapped[dt.datetime | None] = mapped_column()
    replay_run_id: Mapped[uuid.UUID | None] = mapped_column()


SEALED = "sealed"


def seal_payload(keyring: Keyring, letter_id: uuid.UUID, payload: dict[str, Any]) -> dict[str, str]:
    """The stored form of a dead letter's payload: encrypted, bound to the letter."""
    text = json.dumps(payload, ensure_ascii=False, default=str)
    return {SEALED: keyring.encrypt(text, associated_data(DeadLetter.__tablename__, letter_id, SEALED))}


def open_payload(keyring: Keyring, letter: DeadLetter) -> dict[str, Any]:
    """A dead letter's payload in clear (DecryptionError if it was not sealed for this letter)."""
    token = (letter.payload or {}).get(SEALED)
    if not isinstance(token, str) or not is_encrypted(token):
        raise DecryptionError(f"dead letter {letter.id}: the payload is not sealed (written behind Hub's back?)")
    payload: dict[str, Any] = json.loads(keyring.decrypt(token, associated_data(DeadLetter.__tablename__,
                                                                                letter.id, SEALED)))
    return payload


class OutboxEntry(Base):
    """A change to a record in a module some route sends out, written in the transaction of the change."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_module_id", "module", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    module: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID] = mapped_column()
    action: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
