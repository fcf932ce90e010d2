"""External-id bindings: which hub record a connector's record is, and what was last synced."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sqlalchemy import Text, any_, cast, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from hub.core.models import Binding

#: How many outbound writes before the last one are still recognised when their echo comes back late: an
#: inbound read that started before our last writes (a paged export, a queued webhook) may carry any of them.
EARLIER_OUTBOUND = 4


class BoundRecord(NamedTuple):
    """The parts of a binding the write path needs."""

    id: uuid.UUID
    record_id: uuid.UUID
    inbound_hash: str | None
    remote_version: str | None
    outbound_hash: str | None
    earlier_outbound_hashes: str | None = None

    def sent(self, echo_hash: str | None) -> bool:
        """Whether ``echo_hash`` is the hash of one of our recent outbound writes of this record."""
        if echo_hash is None:
            return False
        return echo_hash == self.outbound_hash or (
            self.earlier_outbound_hashes is not None and echo_hash in self.earlier_outbound_hashes.split())


def after_sending(binding: Binding, outbound_hash: str) -> None:
    """Record ``outbound_hash`` as the last hash sent, keeping the previous ones as earlier hashes."""
    if binding.outbound_hash is not None and binding.outbound_hash != outbound_hash:
        earlier = [binding.outbound_hash, *(binding.earlier_outbound_hashes or "").split()]
        kept = [h for h in dict.fromkeys(earlier) if h != outbound_hash][:EARLIER_OUTBOUND]
        binding.earlier_outbound_hashes = " ".join(kept)
    binding.outbound_hash = outbound_hash


class BoundId(NamedTuple):
    """A reference by external id: the hub record bound to ``external_id`` in ``stream`` of the connector
    instance a run reads from (what the ``bound`` mapping transform gives; the run resolves it to the
    record's id before writing)."""

    stream: str
    external_id: str

    def __repr__(self) -> str:  # as previews show it: short, and plainly not a record id
        return f"{self.stream}:{self.external_id!r}"


class ExternalRef(NamedTuple):
    """A record's identity in an external system: connector instance, stream and external id (a named
    tuple: a sync run makes one per record).

    ``unbound`` says the caller has just looked for its binding and found none (a sync run's check of the
    batch), so the write path does not look again. Should another writer bind it in between, inserting the
    new binding breaks the bindings' unique key and the transaction rolls back, as when two writers race.
    """

    connector: str
    stream: str
    external_id: str
    remote_version: str | None = None
    content_hash: str | None = None
    echo_hash: str | None = None
    unbound: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.connector, self.stream, self.external_id)


def lookup(session: Session, refs: Iterable[ExternalRef]) -> dict[tuple[str, str, str], BoundRecord]:
    """The existing bindings of ``refs`` by key, in one query per connector and stream (and 5000 ids)."""
    by_stream: dict[tuple[str, str], set[str]] = {}
    for ref in refs:
        by_stream.setdefault((ref.connector, ref.stream), set()).add(ref.external_id)
    return {(connector, stream, ext): rec for (connector, stream), ids in by_stream.items()
            for ext, rec in bound(session, connector, stream, ids).items()}


def bound(session: Session, connector: str, stream: str, external_ids: Iterable[str]) -> dict[str, BoundRecord]:
    """The existing bindings of one connector and stream's ``external_ids``, by external id (one query per
    5000 ids)."""
    ids_list = sorted(set(external_ids))
    found: dict[str, BoundRecord] = {}
    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(ids_list), 5000):
        chunk = ids_list[start:start + 5000]
        # PostgreSQL takes the ids as one array parameter: no statement with thousands of placeholders
        wanted = (Binding.external_id == any_(cast(chunk, ARRAY(Text))) if postgres
                  else Binding.external_id.in_(chunk))
        rows = session.execute(select(
            Binding.external_id, Binding.id, Binding.record_id, Binding.inbound_hash, Binding.remote_version,
            Binding.outbound_hash, Binding.earlier_outbound_hashes,
        ).where(wanted, Binding.connector == connector, Binding.stream == stream))
        for ext, bid, rid, inbound, version, outbound, earlier in rows:
            found[ext] = BoundRecord(bid, rid, inbound, version, outbound, earlier)
    return found


def for_records(session: Session, module: str, record_ids: Sequence[uuid.UUID]) -> list[Binding]:
    """Every binding of the given records (for outbound sync and lineage)."""
    if not record_ids:
        return []
    return list(session.scalars(select(Binding).where(Binding.module == module, Binding.record_id.in_(record_ids))))


def find(session: Session, connector: str, stream: str, external_ids: Sequence[str]) -> dict[str, uuid.UUID]:
    """External id -> record id for one connector and stream."""
    rows = session.execute(select(Binding.external_id, Binding.record_id).where(
        tuple_(Binding.connector, Binding.stream) == (connector, stream), Binding.external_id.in_(external_ids)
    ))
    return {str(e): r for e, r in rows}


def record_outbound(session: Session, connector: str, stream: str, external_id: str, module: str,
                    record_id: uuid.UUID, outbound_hash: str, remote_version: str | None) -> None:
    """Remember what was last sent for a record (creating the binding when the system gave it an id)."""
    from hub.core.types import new_id, utcnow

    now = utcnow()
    existing = session.scalar(select(Binding).where(Binding.external_id == external_id,
                                                    Binding.connector == connector, Binding.stream == stream))
    if existing is None:
        session.add(Binding(id=new_id(), connector=connector, stream=stream, external_id=external_id, module=module,
                            record_id=record_id, outbound_hash=outbound_hash, remote_version=remote_version,
                            created_at=now, updated_at=now))
    else:
        existing.record_id, existing.updated_at = record_id, now
        after_sending(existing, outbound_hash)
        if remote_version is not None:
            existing.remote_version = remote_version
    session.flush()
