"""An outbound run: follow the outbox, map hub records back to the system's fields, write, bind.

Entries made by this same instance's inbound runs are skipped (they came from there). A record whose
outbound payload hashes the same as what was last sent is not sent again. Each batch is written with
an idempotency key built from the outbox ids it covers, so a retry after a crash or a transient error
cannot write twice; the bindings and the outbox cursor then commit in one transaction.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core import binding as bindings
from hub.core.actor import Actor, Context
from hub.core.bulk import bulk_insert
from hub.core.crypto import Keyring
from hub.core.models import Binding
from hub.core.models.base import table_of
from hub.core.store import Store
from hub.core.types import new_id, utcnow
from hub.errors import MappingError, RetryableError
from hub.sync import runs
from hub.sync.connector import Connector, Record
from hub.sync.engine import echo_hash
from hub.sync.models import DeadLetter, OutboxEntry, StreamState, SyncRun, seal_payload
from hub.sync.retry import NO_RETRY, RetryPolicy
from hub.sync.run_state import Tally, add_counts, save_state

log = logging.getLogger("hub.sync")


def payload_hash(keyring: Keyring, values: dict[str, Any]) -> str:
    """The keyed hash of an outbound payload; an inbound record with the same values in these fields is its echo."""
    return echo_hash(keyring, json.loads(json.dumps(values, default=str)))


@dataclass
class OutboundRun:
    """Execute one attempt of an outbound run (already claimed by this worker)."""

    store: Store
    run: SyncRun
    connector: Connector
    mapping: Any
    mapping_version: int | None
    module: str
    batch_size: int = 500
    lease_seconds: float = runs.LEASE_SECONDS
    retry: RetryPolicy = NO_RETRY
    tally: Tally = field(default_factory=Tally)
    batches_done: int = 0

    def position(self, session: Session) -> tuple[int, int | None]:
        """The outbox cursor, and the end of a batch that was being written when an attempt died."""
        state = session.scalar(select(StreamState.state).where(
            StreamState.instance == self.run.instance, StreamState.stream == self.run.stream,
            StreamState.direction == "outbound")) or {}
        pending = state.get("pending_to")
        return int(state.get("outbox_id", 0)), None if pending is None else int(pending)

    def execute(self) -> Tally:
        ctx = Context(Actor.connector(self.run.instance), self.run.instance, request_id=str(self.run.id))
        while True:
            with Session(self.store.engine) as session:
                cursor, pending_to = self.position(session)
                stmt = select(OutboxEntry).where(OutboxEntry.module == self.module, OutboxEntry.id > cursor)
                if pending_to is not None:  # redo exactly the batch that was in flight: same ids, same key
                    stmt = stmt.where(OutboxEntry.id <= pending_to)
                entries = list(session.scalars(stmt.order_by(OutboxEntry.id).limit(self.batch_size)))
            if not entries:
                if pending_to is not None:
                    with self.store.writing(ctx) as tx:
                        save_state(tx.session, self.run, {"outbox_id": max(cursor, pending_to)})
                    continue
                return self.tally
            if pending_to is None:
                # Write ahead: the batch's range is committed before the connector writes, so a retry after a
                # crash covers the same entries with the same idempotency key, whatever arrived meanwhile.
                with self.store.writing(ctx) as tx:
                    save_state(tx.session, self.run, {"outbox_id": cursor, "pending_to": entries[-1].id})
            self.batch(ctx, entries)

    def batch(self, ctx: Context, entries: list[OutboxEntry]) -> None:
        instance, stream = self.run.instance, self.run.stream
        latest: dict[uuid.UUID, OutboxEntry] = {}
        for e in entries:
            if e.origin != instance:
                latest[e.record_id] = e
        tally, dead = Tally(), []
        with self.store.reading(ctx) as tx:
            records = tx.get_many(self.module, list(latest), include_deleted=True)
            bound = {b.record_id: b for b in bindings.for_records(tx.session, self.module, list(latest))
                     if b.connector == instance and b.stream == stream}
        outgoing: list[tuple[uuid.UUID, Record, str]] = []
        for rid, record in records.items():
            binding: Binding | None = bound.get(rid)
            if record.get("deleted_at") is not None:
                if binding is not None:
                    outgoing.append((rid, Record(stream, binding.external_id, {}, deleted=True), "deleted"))
                continue
            try:
                values = self.mapping.outbound(record)
            except MappingError as exc:
                dead.append(self.dead_letter(rid, record, "mapping", str(exc)))
                continue
            if values is None:
                tally.add("skipped")
                continue
            digest = payload_hash(self.store.keyring, values)
            if binding is not None and binding.outbound_hash == digest:
                tally.add("unchanged")
                continue
            outgoing.append((rid, Record(stream, binding.external_id if binding else "", values), digest))
        key = f"{instance}:{stream}:outbox:{entries[0].id}-{entries[-1].id}"
        results = self.write([r for _, r, _ in outgoing], key) if outgoing else []
        with self.store.writing(ctx) as tx:
            runs.heartbeat(tx.session, self.run, self.lease_seconds)
            for (rid, rec, digest), res in zip(outgoing, results, strict=True):
                if res.ok and res.external_id and not rec.deleted:
                    bindings.record_outbound(tx.session, instance, stream, res.external_id, self.module, rid,
                                             digest, res.version)
                    tally.add("written")
                elif res.ok:
                    tally.add("deleted" if rec.deleted else "written")
                else:
                    dead.append(self.dead_letter(rid, dict(rec.data), "permanent", res.error or "refused"))
            bulk_insert(tx.session, table_of(DeadLetter), dead)
            tally.add("quarantined", len(dead))
            tally.add("read", len(entries))
            save_state(tx.session, self.run, {"outbox_id": entries[-1].id})
            add_counts(tx.session, self.run, tally, {"outbox_id": entries[-1].id})
        for k, v in tally.values.items():
            self.tally.add(k, v)
        self.batches_done += 1

    def write(self, records: list[Record], key: str) -> list[Any]:
        """``connector.write`` with retries of transient failures, the same idempotency key each time."""
        def attempt() -> list[Any]:
            results = self.connector.write(self.run.stream, records, key)
            if len(results) != len(records):
                raise RetryableError(f"{self.connector.type_name} returned {len(results)} results for "
                                     f"{len(records)} records")
            if any(not r.ok and r.retryable for r in results):
                raise RetryableError(next(r.error for r in results if not r.ok and r.retryable) or "retryable")
            return results

        def count(n: int, exc: RetryableError) -> None:
            log.info("run %s: transient write error, retry %s with key %s: %s", self.run.id, n, key, exc)
            runs.count_retry(self.store.engine, self.run, self.lease_seconds)

        return self.retry.call(attempt, on_retry=count)

    def dead_letter(self, rid: uuid.UUID, payload: dict[str, Any], kind: str, error: str) -> dict[str, Any]:
        from hub.core.fields import to_json

        letter_id = new_id()
        sealed = seal_payload(self.store.keyring, letter_id, {k: to_json(v) for k, v in payload.items()})
        return {"id": letter_id, "run_id": self.run.id, "instance": self.run.instance, "stream": self.run.stream,
                "direction": "outbound", "external_id": None, "record_id": rid,
                "payload": sealed, "version": None, "error_kind": kind,
                "error": error, "mapping": self.mapping.name, "mapping_version": self.mapping_version,
                "attempts": self.run.attempts, "status": "open", "created_at": utcnow()}
