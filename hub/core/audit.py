"""The audit trail: gap-free, MAC-chained events written in the same transaction as the change.

Each event's hash is HMAC-SHA256, under the audit-chain key (derived from the keyring, never stored in the
database), over its own fields and the previous event's hash: changing, removing or reordering a row breaks
the chain at that row, and someone who can write to the database but has not got the key cannot compute a
valid link, so neither re-chaining a forgery nor appending an event passes. ``verify`` walks the chain and
names the first broken sequence number; given a signed checkpoint (``hub.core.audit_checkpoint``) it also
finds events cut off the end and counts those written since. Writers lock the single ``audit_head`` row,
which makes sequence numbers gap-free and the chain linear. There is deliberately no function here, or
anywhere in Hub, that updates or deletes an event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from hub.core.actor import Context
from hub.core.bulk import bulk_insert
from hub.core.crypto import Mac
from hub.core.models import AuditEvent, AuditHead
from hub.core.models.base import table_of
from hub.core.types import utcnow

GENESIS = "0" * 64
MASK = "***"


_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def canonical(value: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, UTF-8 kept, anything else as ``str()``.

    orjson writes it (about 7 times faster than the json module: every synced record and audit event is
    hashed); what orjson refuses (keys that are not text, integers beyond 64 bits) goes to the json module,
    which writes the same text for everything else, floats in exponent form and NaN aside.
    """
    try:
        return orjson.dumps(value, default=str, option=_ORJSON).decode()
    except TypeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


_HASHED = ("actor_kind", "actor_id", "actor_name", "source", "request_id", "module", "record_id", "action", "changes")


def event_hash(key: bytes, row: dict[str, Any], prev_hash: str) -> str:
    """The hash (MAC under ``key``) of one event given the hash before it.

    Each field is length-prefixed (``len:text``; ``-`` for null), so no shifting of text between
    fields can produce the same input.
    """
    return _link(Mac(key), row, prev_hash)


def _link(mac: Mac, row: dict[str, Any], prev_hash: str) -> str:
    fields = "|".join(_field(row[k]) for k in _HASHED)
    return _chained(mac, row["seq"], row["at"].isoformat(timespec="microseconds"), fields, prev_hash)


def _field(text: str | None) -> str:
    return "-" if text is None else f"{len(text)}:{text}"


def _chained(mac: Mac, seq: int, at: str, fields: str, prev_hash: str) -> str:
    """The one place a link of the chain is computed (writers and ``verify`` alike)."""
    return mac.hexdigest(f"{seq}|{at}|{fields}|{prev_hash}".encode())


def lock_head(session: Session) -> tuple[int, str]:
    """Lock the chain head for this transaction and return (last seq, last hash).

    On SQLite the lock is a no-op write (the database write lock); on PostgreSQL a row lock.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
        row = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    else:
        row = session.execute(
            select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
        ).first()
    if row is None:
        session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
        return 0, GENESIS
    return int(row[0]), str(row[1])


@dataclass
class Event:
    """An event not yet written."""

    module: str
    record_id: str | None
    action: str
    changes: dict[str, Any]
    text: str | None = None  # ``canonical(changes)``, when the writer worked it out already


class AuditLog:
    """Collects one transaction's events and appends them to the chain at flush.

    ``prepare`` chains the events added so far (sequence numbers and hashes) ahead of the flush, so a writer
    can do that work while the database is busy with its rows; ``flush`` chains the rest and writes them all.
    """

    def __init__(self, session: Session, ctx: Context, key: bytes) -> None:
        self.session = session
        self.ctx = ctx
        self.mac = Mac(key)  # under the audit-chain key (Keyring.audit_key)
        self.pending: list[Event] = []
        self._head: tuple[int, str] | None = None  # the chain's last link: locked, or as prepared
        self._ready: list[dict[str, Any]] = []  # chained, not written yet

    def lock(self) -> None:
        """Take the head lock now (writers call this first, before any read)."""
        if self._head is None:
            self._head = lock_head(self.session)

    def add(self, module: str, record_id: object, action: str, changes: dict[str, Any],
            text: str | None = None) -> None:
        """Add an event; ``text`` is ``canonical(changes)`` if the caller has it."""
        self.pending.append(Event(module, None if record_id is None else str(record_id), action, changes, text))

    def prepare(self) -> None:
        """Chain the pending events after the locked head, without writing them (or using the connection:
        nothing is done before the head is locked)."""
        if not self.pending or self._head is None:
            return
        seq, prev = self._head
        at = utcnow()
        actor = self.ctx.actor
        at_text = at.isoformat(timespec="microseconds")
        who = "|".join(map(_field, (actor.kind, actor.id, actor.name, self.ctx.source, self.ctx.request_id)))
        common = {"at": at, "actor_kind": actor.kind, "actor_id": actor.id, "actor_name": actor.name,
                  "source": self.ctx.source, "request_id": self.ctx.request_id}
        rows, mac = self._ready, self.mac
        for ev in self.pending:  # the same hashes as event_hash, with what all events share worked out once
            seq += 1
            changes = canonical(ev.changes) if ev.text is None else ev.text
            fields = f"{who}|{_field(ev.module)}|{_field(ev.record_id)}|{_field(ev.action)}|{_field(changes)}"
            prev_hash, prev = prev, _chained(mac, seq, at_text, fields, prev)
            rows.append({**common, "seq": seq, "module": ev.module, "record_id": ev.record_id, "action": ev.action,
                         "changes": changes, "prev_hash": prev_hash, "hash": prev})
        self._head = (seq, prev)
        self.pending.clear()

    def flush(self) -> int:
        """Write the events (chaining those not prepared yet) and move the head; return how many."""
        if not self.pending and not self._ready:
            return 0
        self.lock()
        self.prepare()
        assert self._head is not None
        rows, self._ready = self._ready, []
        bulk_insert(self.session, table_of(AuditEvent), rows)
        seq, prev = self._head
        self.session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
        return len(rows)


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: the head, the first broken sequence number if any, and how many events came after
    the head or checkpoint the caller kept (new events: not a fault unless the caller asked for none)."""

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str = ""
    since: int = 0


@dataclass(frozen=True)
class Anchor:
    """A point of the chain the caller kept outside the database: the event ``seq`` had ``hash``."""

    seq: int
    hash: str


def _events(session: Session, chunk: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


_ROW = ("seq", "at", "actor_kind", "actor_id", "actor_name", "source", "request_id", "module", "record_id",
        "action", "changes")


def verify(session: Session, key: bytes, expect_head: str | None = None, anchor: Anchor | None = None,
           strict: bool = False) -> Verdict:
    """Walk the whole chain; the first sequence number whose row was changed, removed or reordered breaks it.

    ``expect_head`` is a head hash kept from an earlier verify, ``anchor`` a (signed) checkpoint: each must
    still be in the chain, so events cut off the end are found (reported at the first one missing). Events
    after them are counted in ``since``; with ``strict`` there must be none.
    """
    prev, expected_seq, count, mac = GENESIS, 1, 0, Mac(key)
    expect_seq: int | None = 0 if expect_head is None or expect_head == GENESIS else None
    for ev in _events(session):
        if ev.seq != expected_seq:
            return Verdict(False, count, expected_seq - 1, prev, expected_seq,
                           f"event {expected_seq} is missing (next present is {ev.seq})")
        if ev.prev_hash != prev:
            return Verdict(False, count, ev.seq - 1, prev, ev.seq, f"event {ev.seq} does not follow {ev.seq - 1}")
        if _link(mac, {c: getattr(ev, c) for c in _ROW}, prev) != ev.hash:
            return Verdict(False, count, ev.seq - 1, prev, ev.seq,
                           f"event {ev.seq} was changed or forged after it was written (its MAC does not match)")
        if anchor is not None and ev.seq == anchor.seq and ev.hash != anchor.hash:
            return Verdict(False, count, ev.seq - 1, prev, ev.seq,
                           f"event {ev.seq} is not the event the checkpoint signed")
        prev, expected_seq, count = ev.hash, expected_seq + 1, count + 1
        if expect_seq is None and ev.hash == expect_head:
            expect_seq = ev.seq
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    head_seq = count
    if head is not None and (int(head[0]), str(head[1])) != (head_seq, prev):
        return Verdict(False, count, head_seq, prev, head_seq + 1,
                       f"the chain ends at {head_seq} but the recorded head is {head[0]}: events were cut off")
    if anchor is not None and anchor.seq > head_seq:
        return Verdict(False, count, head_seq, prev, head_seq + 1,
                       f"the checkpoint covers events up to {anchor.seq} but the chain ends at {head_seq}: "
                       f"events {head_seq + 1} to {anchor.seq} were removed")
    if expect_seq is None:
        return Verdict(False, count, head_seq, prev, head_seq + 1,
                       "the expected head hash is not in the chain: events were cut off or rewritten")
    kept = max(expect_seq, anchor.seq if anchor is not None else 0)
    since = head_seq - kept if (anchor is not None or expect_head is not None) else 0
    if strict and since:
        return Verdict(False, count, head_seq, prev, kept + 1,
                       f"{since} events were written after the kept head (--strict allows none)", since)
    return Verdict(True, count, head_seq, prev, since=since)


def history(session: Session, module: str, record_id: str) -> Sequence[AuditEvent]:
    """Every event of one record, oldest first."""
    return session.scalars(
        select(AuditEvent).where(AuditEvent.module == module, AuditEvent.record_id == record_id)
        .order_by(AuditEvent.seq)
    ).all()
