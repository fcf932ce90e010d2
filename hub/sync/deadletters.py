"""Dead letters: list, show, and replay through the pinned or the latest mapping version.

Payloads are stored sealed (encrypted, bound to the letter: ``hub.sync.models.seal_payload``) and opened
here. Replaying an inbound dead letter lands its stored payload through the same path as a run (as the
connector, under a replay run id). A record that lands marks its letter ``replayed``; one that fails
again stays open with the new reason and one more attempt. Replaying an outbound letter puts its record
back in the outbox, so the next outbound run sends it again. A letter nobody will replay is ``discarded``:
kept, with its payload, but no longer open.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.bulk import bulk_insert
from hub.core.db import writer
from hub.core.models import Binding
from hub.core.models.base import table_of
from hub.core.store import Store
from hub.core.types import utcnow
from hub.errors import ConfigError
from hub.mappings.compiled import load_mapping
from hub.sync.connector import Record
from hub.sync.engine import Lander
from hub.sync.instances import get_route
from hub.sync.models import DeadLetter, OutboxEntry, SyncRun, open_payload
from hub.sync.run_state import Tally


@dataclass
class ReplayReport:
    replayed: int = 0
    failed: int = 0
    requeued: int = 0
    superseded: int = 0
    run_id: uuid.UUID | None = None


def open_letters(session: Session, *, run_id: uuid.UUID | None = None, ids: Sequence[uuid.UUID] = ()
                 ) -> list[DeadLetter]:
    """Open dead letters of a run, or with the given ids."""
    stmt = select(DeadLetter).where(DeadLetter.status == "open").order_by(DeadLetter.created_at)
    if run_id is not None:
        stmt = stmt.where(DeadLetter.run_id == run_id)
    if ids:
        stmt = stmt.where(DeadLetter.id.in_(ids))
    return list(session.scalars(stmt))


def discard(session: Session, ids: Sequence[uuid.UUID]) -> list[tuple[DeadLetter, str]]:
    """Mark open dead letters ``discarded`` (kept, never replayed); returns each letter with its status before.

    ConfigError naming the letters that do not exist or are not open (nothing is discarded then).
    """
    found = {d.id: d for d in session.scalars(select(DeadLetter).where(DeadLetter.id.in_(ids)).with_for_update())}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ConfigError(f"no dead letter {', '.join(missing)}")
    closed = [f"{d.id} ({d.status})" for d in found.values() if d.status != "open"]
    if closed:
        raise ConfigError(f"only open dead letters can be discarded; these are not: {', '.join(closed)}")
    out = []
    for i in dict.fromkeys(ids):
        letter = found[i]
        out.append((letter, letter.status))
        letter.status = "discarded"
    session.flush()
    return out


def replay(store: Store, letters: Sequence[DeadLetter], mapping: str = "pinned") -> ReplayReport:
    """Replay open dead letters; ``mapping`` is ``pinned`` (the route's current choice) or ``latest``."""
    if mapping not in ("pinned", "latest"):
        raise ConfigError(f"--mapping: {mapping!r} is not pinned or latest")
    report = ReplayReport()
    by_route: dict[tuple[str, str, str], list[DeadLetter]] = {}
    for letter in letters:
        by_route.setdefault((letter.instance, letter.stream, letter.direction), []).append(letter)
    for (instance, stream, direction), group in by_route.items():
        if direction == "outbound":
            _requeue_outbound(store, group, report)
        else:
            _replay_inbound(store, instance, stream, group, mapping, report)
    return report


def _requeue_outbound(store: Store, letters: list[DeadLetter], report: ReplayReport) -> None:
    with Session(writer(store.engine)) as session, session.begin():
        route = get_route(session, letters[0].instance, letters[0].stream, "outbound")
        bulk_insert(session, table_of(OutboxEntry), [
            {"module": route.module, "record_id": d.record_id, "action": "replay", "origin": None,
             "created_at": utcnow()} for d in letters if d.record_id is not None])
        for d in letters:
            live = session.get(DeadLetter, d.id)
            if live is not None:
                live.status, live.replayed_at = "replayed", utcnow()
    report.requeued += len(letters)


def _drop_superseded(store: Store, instance: str, stream: str, letters: list[DeadLetter],
                     report: ReplayReport) -> list[DeadLetter]:
    """Letters whose record has since landed in a newer version are superseded, not replayed: replaying
    them would overwrite the newer data with the old."""
    ids = [d.external_id for d in letters if d.external_id]
    with Session(writer(store.engine)) as session, session.begin():
        landed = {b.external_id: b for b in session.scalars(select(Binding).where(
            Binding.connector == instance, Binding.stream == stream, Binding.external_id.in_(ids)))}
        keep = []
        for d in letters:
            b = landed.get(d.external_id or "")
            if b is not None and b.updated_at > d.created_at:
                live = session.get(DeadLetter, d.id)
                assert live is not None
                live.status, live.replayed_at = "superseded", utcnow()
                report.superseded += 1
            else:
                keep.append(d)
    return keep


def _replay_inbound(store: Store, instance: str, stream: str, letters: list[DeadLetter], which: str,
                    report: ReplayReport) -> None:
    now = utcnow()
    with Session(writer(store.engine), expire_on_commit=False) as session, session.begin():
        route = get_route(session, instance, stream, "inbound")
        if which == "latest":
            from hub.mappings.versions import latest

            newest = latest(session, route.mapping)
            compiled, version = load_mapping(session, route.mapping, newest.version if newest else None)
        else:
            compiled, version = load_mapping(session, route.mapping)
        run = SyncRun(instance=instance, stream=stream, direction="inbound", kind="replay", status="running",
                      attempts=1, max_attempts=1, mapping=route.mapping, mapping_version=version, started_at=now,
                      lease_owner="replay")
        session.add(run)
    report.run_id = run.id
    lander = Lander(store, run, compiled, version)
    letters = _drop_superseded(store, instance, stream, letters, report)
    records = [Record(d.stream, d.external_id or "", open_payload(store.keyring, d), d.version) for d in letters]
    tally = Tally()
    with store.writing(lander.ctx) as tx:
        fresh = lander.land(tx, records, tally)
        by_external = {f["external_id"]: f for f in fresh}
        tx.session.execute(table_of(DeadLetter).delete().where(DeadLetter.run_id == run.id))
        for d in letters:
            live = tx.session.get(DeadLetter, d.id)
            assert live is not None
            failure = by_external.get(d.external_id)
            if failure is None:
                live.status, live.replayed_at, live.replay_run_id = "replayed", now, run.id
                report.replayed += 1
            else:
                live.error, live.error_kind, live.attempts = failure["error"], failure["error_kind"], live.attempts + 1
                live.mapping_version, live.replay_run_id = version, run.id
                report.failed += 1
        live_run = tx.session.get(SyncRun, run.id)
        assert live_run is not None
        for k, v in tally.values.items():
            setattr(live_run, k, v)
        live_run.quarantined = report.failed
        live_run.status, live_run.finished_at, live_run.lease_owner = "succeeded", utcnow(), None
