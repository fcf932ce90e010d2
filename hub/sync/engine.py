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
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.core import binding as bindings
from hub.core.actor import Actor, Context
from hub.core.audit import canonical
from hub.core.bulk import bulk_insert
from hub.core.crypto import Keyring
from hub.core.db import writer
from hub.core.models.base import table_of
from hub.core.modules import catalog
from hub.core.store import Store, Tx
from hub.core.types import utcnow
from hub.core.write import Row
from hub.sync import runs
from hub.sync.committer import Committer
from hub.sync.connector import Checkpoint, Connector, Record
from hub.sync.heap import run_heap
from hub.sync.models import DeadLetter, SyncRun, seal_payload
from hub.sync.run_state import Tally, add_counts, save_state
from hub.sync.stage import MappingStage, Outcome, outcomes
from hub.sync.switching import run_switching

log = logging.getLogger("hub.sync")
def source_time(version: str | None) -> dt.datetime | None:
    """A record version that is a timestamp, as UTC (for the ``newest`` conflict policy)."""
    if not version:
        return None
    try:
        t = dt.datetime.fromisoformat(version.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


@dataclass
class Checked:
    """A batch read and checked against the bindings: what is left to map, and what is gone."""

    records: list[Record]
    position: Mapping[str, Any] | None
    live: list[tuple[Record, str, str | None]]  # to map: record, content hash, echo hash
    broken: list[Record]  # unreadable at the source
    gone: list[Record]  # deleted at the source
    tally: Tally
    #: External ids the check found no binding for, that occur once in the batch and were in no batch in
    #: flight: the write path need not look for their bindings again (``ExternalRef.unbound``).
    unbound: set[str] = field(default_factory=set)

    @property
    def external_ids(self) -> frozenset[str]:
        return frozenset(r.external_id for r in self.records)


class Lander:
    """Lands batches of source records of one route into the store (used by runs and by replays).

    A batch is first ``check``-ed (records whose content hash equals the binding's are unchanged before
    they cost a mapping), then its live records are mapped (``hub.sync.stage``), then ``write`` lands it
    in the batch's transaction.
    """

    def __init__(self, store: Store, run: SyncRun, mapping: Any, mapping_version: int | None) -> None:
        self.store, self.run, self.mapping, self.mapping_version = store, run, mapping, mapping_version
        self.instance, self.stream = run.instance, run.stream  # read once: the run is an ORM object
        self.ctx = Context(Actor.connector(run.instance), run.instance, request_id=str(run.id))
        self.keep = frozenset(mapping.only_create | mapping.hub_owned)
        self.newest = frozenset(mapping.conflict.owned_by("newest", mapping.fields))
        self.match = tuple(rule.fields for rule in mapping.match if rule.kind == "fields")
        self.salt = f"{mapping.name}:{mapping_version}:"
        self.keyring = store.keyring
        # An echo of our own write carries what we sent plus whatever the system adds (ids, versions,
        # timestamps): compare only the fields the outbound direction writes (top-level names).
        self.echo_fields = tuple(dict.fromkeys(f.split(".")[0] for f in mapping.outbound.fields))
        self.bound_fields: tuple[str, ...] = tuple(getattr(mapping, "bound_fields", ()))

    def digest(self, rec: Record, bound: bool = True) -> tuple[str, str | None]:
        """The record's content hash (keyed, salted with the mapping version) and its echo hash (only for a
        record that is ``bound``: one that has no binding yet cannot be the echo of our write)."""
        digest = self.keyring.content_hash(self.salt + canonical(rec.data))
        echo = (echo_hash(self.keyring, {k: rec.data.get(k) for k in self.echo_fields})
                if self.echo_fields and bound else None)
        return digest, echo

    def check(self, session: Session, records: list[Record], position: Mapping[str, Any] | None = None,
              in_flight: frozenset[str] = frozenset()) -> Checked:
        """Sort a batch: unchanged records (content or echo hash equal to the binding's) are counted and
        dropped, one binding lookup per batch. ``in_flight`` are the external ids of a batch that is not
        committed yet: its bindings may still change, so those records are never taken as unchanged."""
        batch = Checked(records, position, [], [], [r for r in records if r.deleted], Tally())
        readable: list[Record] = []
        for rec in records:
            if not rec.deleted:
                (readable if rec.error is None else batch.broken).append(rec)
        found = bindings.bound(session, self.instance, self.stream, [r.external_id for r in readable])
        seen: set[str] = set()
        for rec in readable:
            ext = rec.external_id
            bound = found.get(ext)
            digest, echo = self.digest(rec, bound is not None)
            if ext in seen:  # twice in the batch: the first may bind it
                batch.unbound.discard(ext)
            elif bound is None and ext not in in_flight:
                batch.unbound.add(ext)
            seen.add(ext)
            if bound is not None and ext not in in_flight and (bound.inbound_hash == digest or bound.sent(echo)):
                batch.tally.add("unchanged")
                continue
            batch.live.append((rec, digest, echo))
        return batch

    def write(self, tx: Tx, batch: Checked, mapped: Sequence[Outcome], stage_mod: Any = None) -> list[dict[str, Any]]:
        """Land a checked batch whose live records were mapped (``mapped``, in order) inside ``tx``.

        Values the stage validated are trusted only if the module's definitions are still ``stage_mod``.
        A record whose ``bound`` reference names a record of this same stream that comes in this batch
        lands in a later pass, after that record (a parent company after its subsidiary in the file, a
        manager after the employee). Returns the dead letters written.
        """
        tally, dead = batch.tally, [self.dead_letter(rec, "source", rec.error or "") for rec in batch.broken]
        mod = tx.module(self.mapping.module)
        trusted = stage_mod is not None and mod == stage_mod
        todo = list(range(len(batch.live)))
        while todo:
            outcomes_now, waiting = [mapped[i] for i in todo], list[int]()
            if self.bound_fields:
                pending = frozenset(batch.live[i][0].external_id for i in todo if mapped[i].values is not None)
                outcomes_now, waiting = self.resolve_bound(tx.session, mod.references, outcomes_now, pending)
                if len(waiting) == len(todo):  # none can go first (a cycle, or a record naming itself)
                    outcomes_now, waiting = self.resolve_bound(tx.session, mod.references, outcomes_now)
            later = frozenset(waiting)
            self.write_pass(tx, [(batch.live[i], o) for j, (i, o) in enumerate(zip(todo, outcomes_now, strict=True))
                                 if j not in later], trusted, tally, dead, batch.unbound)
            todo = [todo[j] for j in waiting]
        if batch.gone:
            found = bindings.find(tx.session, self.instance, self.stream, [r.external_id for r in batch.gone])
            ids = [found[r.external_id] for r in batch.gone if r.external_id in found]
            deleted = tx.delete_many(self.mapping.module, ids) if ids else 0
            tally.add("deleted", deleted)
            tally.add("unchanged", len(batch.gone) - deleted)  # unknown, or deleted already
        bulk_insert(tx.session, table_of(DeadLetter), [_sealed(tx.keyring, {"id": _new_id(), **d}) for d in dead])
        tally.add("quarantined", len(dead))
        tally.add("read", len(batch.records))
        return dead

    def write_pass(self, tx: Tx, items: Sequence[tuple[tuple[Record, str, str | None], Outcome]], trusted: bool,
                   tally: Tally, dead: list[dict[str, Any]], unbound: Collection[str] = ()) -> None:
        """Write mapped records through the store's write path (one ``write_many``), counting each outcome
        and adding a dead letter for each one mapping or validation refused. ``unbound``: external ids the
        batch's check found no binding for (``Checked.unbound``)."""
        pairs = []
        for (rec, digest, echo), outcome in items:
            if outcome.kind == "error":
                dead.append(self.dead_letter(rec, "mapping", outcome.error or ""))
            elif outcome.kind == "skip" or outcome.values is None:
                tally.add("skipped")
            else:
                ref = bindings.ExternalRef(self.instance, self.stream, rec.external_id, rec.version, digest, echo,
                                           rec.external_id in unbound)
                pairs.append((rec, Row(outcome.values, ref=ref, match=self.match or None, keep=self.keep,
                                       newest=self.newest, source_time=source_time(rec.version),
                                       validated=trusted and outcome.validated)))
        if pairs:
            result = tx.write_many(self.mapping.module, [row for _, row in pairs])
            for (rec, _), res in zip(pairs, result.results, strict=True):
                if res.status == "rejected":
                    dead.append(self.dead_letter(rec, "validation", res.error or "rejected"))
                else:
                    tally.add(res.status)

    def resolve_bound(self, session: Session, references: Mapping[str, str], mapped: Sequence[Outcome],
                      pending: frozenset[str] = frozenset()) -> tuple[list[Outcome], list[int]]:
        """``mapped`` with each ``bound`` reference replaced by the id of the hub record bound to it (one
        lookup per stream), and the positions of the outcomes that wait for a record of this stream still
        ``pending`` in the batch (those are returned as they were). Any other reference bound to nothing
        yet gives a mapping error, so the record waits as a dead letter until a replay after the record it
        refers to has arrived."""
        wanted: dict[str, set[str]] = {}
        for values in (o.values for o in mapped if o.values is not None):
            for key in self.bound_fields:
                ref = values.get(key)
                if type(ref) is bindings.BoundId:
                    wanted.setdefault(ref.stream, set()).add(ref.external_id)
        found = {stream: bindings.find(session, self.instance, stream, sorted(ids)) for stream, ids in wanted.items()}
        out, waiting = [], []
        for i, o in enumerate(mapped):
            resolved = self._resolved(o, references, found, pending)
            if resolved is None:
                waiting.append(i)
            out.append(o if resolved is None else resolved)
        return out, waiting

    def _resolved(self, o: Outcome, references: Mapping[str, str], found: Mapping[str, Mapping[str, Any]],
                  pending: frozenset[str]) -> Outcome | None:
        """``o`` with its references resolved, an error, or None when it waits for a pending record."""
        if o.values is None:
            return o
        values = o.values
        for key in self.bound_fields:
            ref = values.get(key)
            if type(ref) is not bindings.BoundId:
                continue
            record_id = found[ref.stream].get(ref.external_id)
            if key not in references:
                return Outcome("error", error=f"fields.{key}: 'bound' gives a record id, and {key} is not a "
                                              "reference field")
            if record_id is None:
                if ref.stream == self.stream and ref.external_id in pending:
                    return None
                return Outcome("error", error=f"fields.{key}: no record of {self.instance}/{ref.stream} with "
                                              f"external id {ref.external_id!r} has reached the hub yet")
            values = {**values, key: record_id}
        return o._replace(values=values)

    def land(self, tx: Tx, records: list[Record], tally: Tally) -> list[dict[str, Any]]:
        """Check, map and write one batch inside ``tx`` (replays); returns the dead letters written."""
        batch = self.check(tx.session, records)
        mod = tx.module(self.mapping.module)
        dead = self.write(tx, batch, outcomes(self.mapping, mod, [rec.data for rec, _, _ in batch.live]), mod)
        for k, v in batch.tally.values.items():
            tally.add(k, v)
        return dead

    def dead_letter(self, rec: Record, kind: str, error: str) -> dict[str, Any]:
        return {"run_id": self.run.id, "instance": self.run.instance, "stream": self.run.stream,
                "direction": "inbound", "external_id": storable(rec.external_id), "payload": storable(dict(rec.data)),
                "version": rec.version, "error_kind": kind, "error": storable(error), "mapping": self.mapping.name,
                "mapping_version": self.mapping_version, "attempts": self.run.attempts, "status": "open",
                "created_at": utcnow()}


def echo_hash(keyring: Keyring, values: Mapping[str, Any]) -> str:
    """The keyed hash that recognises our own outbound write when it comes back (see outbound.payload_hash)."""
    return keyring.content_hash(canonical({k: v for k, v in values.items() if v is not None}))


def _sealed(keyring: Keyring, letter: dict[str, Any]) -> dict[str, Any]:
    return {**letter, "payload": seal_payload(keyring, letter["id"], letter["payload"])}


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
    mapping_process: bool = True
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
        """Read from the last checkpoint to the end of the stream, landing batch by batch.

        Three batches are under way at once: while batch k commits (in a thread of its own on PostgreSQL,
        whose waits for the server release the interpreter), batch k+1 is mapped (in the mapping stage's
        helper process when ``mapping_process``, started once a run has a second batch) and batch k+2 is
        read and checked. Batches commit one at a time and in order, and the source is told of each commit
        in order, from this thread.
        """
        lander = Lander(self.store, self.run, self.mapping, self.mapping_version)
        total = Tally()
        with Session(writer(self.store.engine)) as session, session.begin():
            session.execute(update(SyncRun).where(SyncRun.id == self.run.id).values(
                mapping=self.mapping.name, mapping_version=self.mapping_version))
            mod = catalog(session, self.store.default_region).get(self.mapping.module)
        overlap = self.store.engine.dialect.name == "postgresql"  # SQLite: one writer, in this thread
        with run_heap() as heap, run_switching(), MappingStage(self.mapping, mod, forked=False) as stage, \
                Committer[Checked](overlap) as committer:
            previous: Checked | None = None
            forked_once = False
            reading = self.batches(self.resume_state())
            while True:
                try:
                    records, position = next(reading)
                    in_flight = committer.in_flight | (previous.external_ids if previous is not None else frozenset())
                    with Session(self.store.engine) as session:
                        batch = lander.check(session, records, position, in_flight)
                except StopIteration:
                    break
                except BaseException:  # the batches read before the failure are whole: keep them
                    self.landed(committer.settle(), total)
                    if previous is not None:
                        committer.submit(previous, partial(self.land, lander, previous, stage.result(), mod))
                        self.landed(committer.settle(), total)
                    raise
                if previous is None:
                    stage.submit([rec.data for rec, _, _ in batch.live])
                else:
                    mapped = stage.result()
                    if self.mapping_process and not forked_once:
                        forked_once = True  # once per attempt: after a helper failure the run maps here
                        stage.start()  # before any commit thread exists: the helper is forked from one thread
                    stage.submit([rec.data for rec, _, _ in batch.live])
                    self.landed(committer.settle(), total)
                    committer.submit(previous, partial(self.land, lander, previous, mapped, mod))
                previous = batch
                heap.batch_done()
            self.landed(committer.settle(), total)
            if previous is not None:
                committer.submit(previous, partial(self.land, lander, previous, stage.result(), mod))
                self.landed(committer.settle(), total)
        return total

    def land(self, lander: Lander, batch: Checked, mapped: list[Outcome], mod: Any) -> None:
        """Write one batch, its checkpoint and counts in one transaction."""
        with self.store.writing(lander.ctx) as tx:
            runs.heartbeat(tx.session, self.run, self.lease_seconds)  # first: a lost lease stops before any write
            if batch.records:
                lander.write(tx, batch, mapped, mod)
            save_state(tx.session, self.run, batch.position)
            add_counts(tx.session, self.run, batch.tally, batch.position)

    def landed(self, batch: Checked | None, total: Tally) -> None:
        """After a batch committed: count it, let the source consume it, report progress, keep the rate."""
        if batch is None:
            return
        for k, v in batch.tally.values.items():
            total.add(k, v)
        self.batches_done += 1
        try:
            self.connector.committed(self.run.stream, batch.position)
        except Exception as exc:  # the source is consumed again after the next commit
            log.warning("run %s: %s could not finish consuming its source: %s", self.run.id,
                        self.connector.type_name, exc)
        if self.on_batch:
            self.on_batch(batch.tally)
        self.throttle(len(batch.records))

    def throttle(self, n: int) -> None:
        """Keep to the instance's rate limit (records per second), if it has one."""
        self._landed += n
        if self.rate_limit:
            ahead = self._landed / self.rate_limit - (time.monotonic() - self._started)
            if ahead > 0:
                time.sleep(ahead)
