"""An inbound run: read -> map -> match -> upsert in batches -> checkpoint, in one transaction per batch.

Each batch goes through the store's write path as the connector (actor) with the run id (request id),
so every change is validated, access-checked and audited. The checkpoint that covers the batch, the
run's counts and its lease commit in that same transaction: a run that dies resumes from its last
checkpoint and re-reads at most one uncommitted batch, and re-reading cannot duplicate (bindings) or
re-write (content hashes). A record that cannot land (a malformed source record, a mapping error, a
validation error) becomes a dead letter with its payload and reason, and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from hub.core import binding as bindings
from hub.core.actor import Actor, Context
from hub.core.audit import canonical
from hub.core.bulk import bulk_insert
from hub.core.db import writer
from hub.core.models.base import table_of
from hub.core.store import Store, Tx
from hub.core.types import utcnow
from hub.core.write import Row
from hub.errors import MappingError
from hub.sync import runs
from hub.sync.connector import Checkpoint, Connector, Record
from hub.sync.models import DeadLetter, StreamState, SyncRun

log = logging.getLogger("hub.sync")
COUNTS = ("read", "created", "updated", "unchanged", "deleted", "skipped", "quarantined", "written", "retries")


@dataclass
class Tally:
    """Counts of one batch (or run), by outcome."""

    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    def add(self, key: str, n: int = 1) -> None:
        self.values[key] += n


def source_time(version: str | None) -> dt.datetime | None:
    """A record version that is a timestamp, as UTC (for the ``newest`` conflict policy)."""
    if not version:
        return None
    try:
        t = dt.datetime.fromisoformat(version.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


class Lander:
    """Lands batches of source records of one route into the store (used by runs and by replays)."""

    def __init__(self, store: Store, run: SyncRun, mapping: Any, mapping_version: int | None) -> None:
        self.store, self.run, self.mapping, self.mapping_version = store, run, mapping, mapping_version
        self.ctx = Context(Actor.connector(run.instance), run.instance, request_id=str(run.id))
        self.keep = frozenset(mapping.only_create | mapping.hub_owned)
        self.newest = frozenset(mapping.conflict.owned_by("newest", mapping.fields))
        self.match = tuple(rule.fields for rule in mapping.match if rule.kind == "fields")
        self.salt = f"{mapping.name}:{mapping_version}:".encode()
        # An echo of our own write carries what we sent plus whatever the system adds (ids, versions,
        # timestamps): compare only the fields the outbound direction writes (top-level names).
        self.echo_fields = tuple(dict.fromkeys(f.split(".")[0] for f in mapping.outbound.fields))

    def digest(self, rec: Record) -> tuple[str, str | None]:
        """The record's content hash (salted with the mapping version) and its echo hash."""
        digest = hashlib.sha256(self.salt + canonical(rec.data).encode()).hexdigest()
        echo = echo_hash({k: rec.data.get(k) for k in self.echo_fields}) if self.echo_fields else None
        return digest, echo

    def changed(self, records: Sequence[Record], tx: Tx, tally: Tally) -> list[Record]:
        """The records whose content differs from what was last received (or sent): the others are
        unchanged before they cost a mapping, a validation or a write (one binding lookup per batch)."""
        if not records:
            return []
        refs = [bindings.ExternalRef(self.run.instance, self.run.stream, r.external_id) for r in records]
        found = bindings.lookup(tx.session, refs)
        out = []
        for rec, ref in zip(records, refs, strict=True):
            bound = found.get(ref.key)
            if bound is not None and rec.error is None:
                digest, echo = self.digest(rec)
                if bound.inbound_hash == digest or (echo is not None and bound.outbound_hash == echo):
                    tally.add("unchanged")
                    continue
            out.append(rec)
        return out

    def rows(self, records: Sequence[Record], tally: Tally, dead: list[dict[str, Any]]) -> list[tuple[Record, Row]]:
        """Map records to write-path rows; failures become dead letters, filtered records are skipped."""
        out = []
        for rec in records:
            if rec.error is not None:
                dead.append(self.dead_letter(rec, "source", rec.error))
                continue
            try:
                values = self.mapping(rec.data)
            except MappingError as exc:
                dead.append(self.dead_letter(rec, "mapping", str(exc)))
                continue
            if values is None:
                tally.add("skipped")
                continue
            digest, echo = self.digest(rec)
            ref = bindings.ExternalRef(self.run.instance, self.run.stream, rec.external_id, rec.version, digest, echo)
            out.append((rec, Row(values, ref=ref, match=self.match or None, keep=self.keep, newest=self.newest,
                                 source_time=source_time(rec.version))))
        return out

    def dead_letter(self, rec: Record, kind: str, error: str) -> dict[str, Any]:
        return {"run_id": self.run.id, "instance": self.run.instance, "stream": self.run.stream,
                "direction": "inbound", "external_id": storable(rec.external_id), "payload": storable(dict(rec.data)),
                "version": rec.version, "error_kind": kind, "error": storable(error), "mapping": self.mapping.name,
                "mapping_version": self.mapping_version, "attempts": self.run.attempts, "status": "open",
                "created_at": utcnow()}

    def land(self, tx: Tx, records: Sequence[Record], tally: Tally) -> list[dict[str, Any]]:
        """Write one batch inside ``tx``; returns the dead letters written."""
        dead: list[dict[str, Any]] = []
        live = self.changed([r for r in records if not r.deleted], tx, tally)
        gone = [r for r in records if r.deleted]
        pairs = self.rows(live, tally, dead)
        if pairs:
            result = tx.write_many(self.mapping.module, [row for _, row in pairs])
            for (rec, _), res in zip(pairs, result.results, strict=True):
                if res.status == "rejected":
                    dead.append(self.dead_letter(rec, "validation", res.error or "rejected"))
                else:
                    tally.add(res.status)
        if gone:
            found = bindings.find(tx.session, self.run.instance, self.run.stream, [r.external_id for r in gone])
            ids = [found[r.external_id] for r in gone if r.external_id in found]
            deleted = tx.delete_many(self.mapping.module, ids) if ids else 0
            tally.add("deleted", deleted)
            tally.add("unchanged", len(gone) - deleted)  # unknown, or deleted already
        bulk_insert(tx.session, table_of(DeadLetter), [{"id": _new_id(), **d} for d in dead])
        tally.add("quarantined", len(dead))
        tally.add("read", len(records))
        return dead


def echo_hash(values: Mapping[str, Any]) -> str:
    """The hash that recognises our own outbound write when it comes back (see outbound.payload_hash)."""
    return hashlib.sha256(canonical({k: v for k, v in values.items() if v is not None}).encode()).hexdigest()


def storable(value: Any) -> Any:
    """``value`` with NUL characters replaced: PostgreSQL text and JSON cannot hold them (a quarantined
    record must still be storable, whatever bytes the source sent)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def _new_id() -> Any:
    from hub.core.types import new_id

    return new_id()


def save_state(session: Session, run: SyncRun, state: Mapping[str, Any] | None) -> None:
    """Upsert the route's committed position (inside the batch transaction)."""
    key = {"instance": run.instance, "stream": run.stream, "direction": run.direction}
    row = session.get(StreamState, key)
    if row is None:
        session.execute(insert(StreamState).values(**key, state=state, last_run_id=run.id, updated_at=utcnow()))
    else:
        session.execute(update(StreamState).where(*(getattr(StreamState, k) == v for k, v in key.items()))
                        .values(state=state, last_run_id=run.id, updated_at=utcnow()))


def add_counts(session: Session, run: SyncRun, tally: Tally, checkpoint: Mapping[str, Any] | None,
               set_checkpoint: bool = True) -> None:
    """Add a batch's counts to the run row (and move its checkpoint) inside the batch transaction."""
    values: dict[str, Any] = {k: getattr(SyncRun, k) + v for k, v in tally.values.items() if v}
    if set_checkpoint:
        values["checkpoint"] = checkpoint
    if values:
        session.execute(update(SyncRun).where(SyncRun.id == run.id).values(**values))


@dataclass
class InboundRun:
    """Execute one attempt of an inbound run (the run is already claimed by this worker)."""

    store: Store
    run: SyncRun
    connector: Connector
    mapping: Any
    mapping_version: int | None
    batch_size: int = 1000
    lease_seconds: float = runs.LEASE_SECONDS
    rate_limit: float | None = None
    on_batch: Callable[[Tally], None] | None = None
    batches_done: int = 0
    _landed: int = 0
    _started: float = field(default_factory=time.monotonic)

    def resume_state(self) -> Mapping[str, Any] | None:
        """Where this attempt starts: the run's last committed checkpoint, else where the route stood."""
        with Session(self.store.engine) as session:
            row = session.execute(select(SyncRun.checkpoint, SyncRun.start_state)
                                  .where(SyncRun.id == self.run.id)).one()
        return row.checkpoint if row.checkpoint is not None else row.start_state

    def batches(self, state: Mapping[str, Any] | None) -> Iterator[tuple[list[Record], Mapping[str, Any] | None]]:
        """Records grouped in batches that end at a checkpoint (the last may end at the stream's end)."""
        buffer: list[Record] = []
        position = state
        for item in self.connector.read(self.run.stream, state):
            if isinstance(item, Checkpoint):
                position = item.state
                if len(buffer) >= self.batch_size:
                    yield buffer, position
                    buffer = []
            else:
                buffer.append(item)
        yield buffer, position

    def execute(self) -> Tally:
        """Read from the last checkpoint to the end of the stream, landing batch by batch."""
        lander = Lander(self.store, self.run, self.mapping, self.mapping_version)
        total = Tally()
        with Session(writer(self.store.engine)) as session, session.begin():
            session.execute(update(SyncRun).where(SyncRun.id == self.run.id).values(
                mapping=self.mapping.name, mapping_version=self.mapping_version))
        for records, position in self.batches(self.resume_state()):
            tally = Tally()
            with self.store.writing(lander.ctx) as tx:
                runs.heartbeat(tx.session, self.run, self.lease_seconds)
                if records:
                    lander.land(tx, records, tally)
                save_state(tx.session, self.run, position)
                add_counts(tx.session, self.run, tally, position)
            for k, v in tally.values.items():
                total.add(k, v)
            self.batches_done += 1
            try:
                self.connector.committed(self.run.stream, position)
            except Exception as exc:  # the source is consumed again after the next commit
                log.warning("run %s: %s could not finish consuming its source: %s", self.run.id,
                            self.connector.type_name, exc)
            if self.on_batch:
                self.on_batch(tally)
            self.throttle(len(records))
        return total

    def throttle(self, n: int) -> None:
        """Keep to the instance's rate limit (records per second), if it has one."""
        self._landed += n
        if self.rate_limit:
            ahead = self._landed / self.rate_limit - (time.monotonic() - self._started)
            if ahead > 0:
                time.sleep(ahead)
