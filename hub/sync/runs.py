"""The life of a sync run, kept in the database: queue, claim under a lease, heartbeat, finish, give up.

A worker *claims* a run before working on it: in one transaction it counts the attempt, takes a lease
(owner and expiry) and marks it running. The partial unique index on running runs allows one per route
across all workers. A run whose attempts reach its limit is dead and is never started again, so a run
that kills its worker every time cannot loop. A run whose worker died keeps its lease only until the
lease expires; then any worker may claim it again and it resumes from its last committed checkpoint.

A transient error does not keep the worker: the run *waits to retry* (status ``retrying``, no lease) until
its ``due_at``, and the claim that follows goes on with the same attempt. Its retry budget (errors in a
row without a committed batch, and since when) is kept on the row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from croniter import croniter
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.core.db import writer
from hub.core.types import utcnow
from hub.errors import ConfigError, HubError
from hub.sync.models import ConnectorInstance, Route, StreamState, SyncRun

LEASE_SECONDS = 300
FINISHED = ("succeeded", "failed", "dead", "cancelled")
WAITING = ("queued", "retrying")
CANCELLABLE = (*WAITING, "running")


class Busy(HubError):
    """Another worker holds this run (``held``) or another run of its route; try again after ``retry_after`` s.

    When the run itself is held, a message for it is a duplicate: the holder finishes the run, and if the
    holder dies, its lease runs out and the run is sent again.
    """

    def __init__(self, message: str, retry_after: float, held: bool = False) -> None:
        self.retry_after, self.held = retry_after, held
        super().__init__(message)


def queue(session: Session, instance: str, stream: str, direction: str = "inbound", *, full: bool = False,
          kind: str = "sync") -> tuple[SyncRun, bool]:
    """A queued run of the route (an already waiting one is reused); returns (run, to be sent).

    A run waiting to retry is reused too, so a connector that is down gathers one run per route, not one
    per schedule tick; a start by a person (not the schedule) makes it due now.
    """
    route = session.scalar(select(Route).where(Route.instance == instance, Route.stream == stream,
                                               Route.direction == direction))
    if route is None or not route.enabled:
        raise ConfigError(f"{instance}: no enabled {direction} route for stream {stream!r}")
    inst = session.scalar(select(ConnectorInstance).where(ConnectorInstance.name == instance))
    if inst is None or not inst.enabled:
        raise ConfigError(f"connector instance {instance!r} is missing or disabled")
    if inst.paused and kind == "scheduled":
        raise ConfigError(f"connector instance {instance!r} is paused")
    waiting = session.scalar(select(SyncRun).where(
        SyncRun.instance == instance, SyncRun.stream == stream, SyncRun.direction == direction,
        SyncRun.status.in_(WAITING), SyncRun.full.is_(full)).order_by(SyncRun.queued_at).limit(1))
    if waiting is not None:
        if waiting.status == "retrying" and kind != "scheduled" and waiting.due_at is not None \
                and waiting.due_at > utcnow():
            waiting.due_at = waiting.sent_at = utcnow()
            return waiting, True
        return waiting, False
    state = None if full else session.scalar(select(StreamState.state).where(
        StreamState.instance == instance, StreamState.stream == stream, StreamState.direction == direction))
    run = SyncRun(instance=instance, stream=stream, direction=direction, kind=kind, full=full,
                  max_attempts=route.max_attempts, mapping=route.mapping, start_state=state, status="queued",
                  sent_at=utcnow())
    session.add(run)
    session.flush()
    return run, True


def cancel(session: Session, run_id: uuid.UUID, reason: str = "cancelled") -> tuple[SyncRun, str]:
    """Cancel a queued, retrying or running run (inside the caller's transaction); returns (run, status before).

    A cancelled run is finished: no claim starts it again and no worker resends it. A running run loses its
    lease with the cancel, so its worker stops at its next batch commit (the heartbeat that opens every commit
    finds the run no longer running) and writes nothing more; its finish cannot overwrite the cancel either.
    ConfigError for a run that is finished already, or a dead-letter replay (it runs in the caller's process).
    """
    run = session.get(SyncRun, run_id, with_for_update=True)
    if run is None:
        raise ConfigError(f"no sync run {run_id}")
    if run.status not in CANCELLABLE:
        raise ConfigError(f"run {run_id} is {run.status}; only a queued, retrying or running run can be cancelled")
    if run.kind == "replay":
        raise ConfigError(f"run {run_id} replays dead letters in the process that started it; it cannot be "
                          "cancelled")
    before = run.status
    run.status, run.finished_at, run.error = "cancelled", utcnow(), reason
    run.lease_owner = run.lease_until = run.due_at = None
    session.flush()
    return run, before


def claim(engine: Engine, run_id: uuid.UUID, worker: str, lease_seconds: float = LEASE_SECONDS) -> SyncRun | None:
    """Take the run for ``worker``; None if it is finished, not due yet, or has just died of too many attempts.

    Raises Busy when another worker holds it (or another run of its route) under a live lease. A run that
    was waiting to retry goes on with its attempt; any other claim starts a new attempt.
    """
    now = utcnow()
    session = Session(writer(engine), expire_on_commit=False)
    try:
        outcome = _claim(session, run_id, worker, lease_seconds, now)
        session.commit()
        return outcome
    except IntegrityError:  # the partial unique index: another run of this route is running
        session.rollback()
        raise Busy(f"another run of the route of {run_id} is running", 5.0) from None
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _claim(session: Session, run_id: uuid.UUID, worker: str, lease_seconds: float, now: dt.datetime
           ) -> SyncRun | None:
    run = session.get(SyncRun, run_id, with_for_update=True)
    if run is None:
        raise ConfigError(f"no sync run {run_id}")
    if run.status in FINISHED:
        return None
    if run.status == "running" and run.lease_until is not None and run.lease_until > now:
        if run.lease_owner == worker:
            return run
        raise Busy(f"run {run_id} is held by {run.lease_owner}", (run.lease_until - now).total_seconds(),
                   held=True)
    if run.status in WAITING and run.due_at is not None and run.due_at > now:
        return None  # too early: its delayed message, or a worker's resend, brings it back when due
    # Free the route from runs whose workers died (their leases ran out).
    session.execute(update(SyncRun).where(
        SyncRun.instance == run.instance, SyncRun.stream == run.stream, SyncRun.direction == run.direction,
        SyncRun.status == "running", SyncRun.lease_until < now, SyncRun.id != run.id,
    ).values(status="queued", lease_owner=None, lease_until=None))
    if run.status != "retrying":  # a new attempt (a run waiting to retry goes on with its attempt)
        if run.attempts >= run.max_attempts:
            run.status, run.finished_at = "dead", now
            run.lease_owner = run.lease_until = run.due_at = None
            run.error = (f"gave up after {run.attempts} attempts" +
                         (f"; last error: {run.error}" if run.error else ": each attempt ended without "
                          "finishing (the worker died or lost its lease)"))
            return None
        run.attempts, run.retry_streak, run.retry_since = run.attempts + 1, 0, None
    run.status, run.due_at = "running", None
    run.lease_owner, run.lease_until, run.heartbeat_at = worker, now + dt.timedelta(seconds=lease_seconds), now
    run.started_at = run.started_at or now
    session.flush()
    return run


def heartbeat(session: Session, run: SyncRun, lease_seconds: float = LEASE_SECONDS) -> None:
    """Extend the lease (inside the caller's transaction; a lost lease aborts the caller)."""
    now = utcnow()
    result = session.execute(update(SyncRun).where(SyncRun.id == run.id, SyncRun.lease_owner == run.lease_owner,
                                                   SyncRun.status == "running")
                             .values(lease_until=now + dt.timedelta(seconds=lease_seconds), heartbeat_at=now))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"run {run.id}: the lease was taken over; stopping this attempt")


def count_retry(engine: Engine, run: SyncRun, lease_seconds: float = LEASE_SECONDS) -> None:
    """Count one retried transient error on the run (in a transaction of its own), renewing its lease."""
    with Session(writer(engine)) as session, session.begin():
        session.execute(update(SyncRun).where(SyncRun.id == run.id).values(retries=SyncRun.retries + 1))
        heartbeat(session, run, lease_seconds)


class LeaseLost(HubError):
    """This worker no longer holds the run (its lease expired and another worker took it)."""


def finish(engine: Engine, run: SyncRun, status: str, error: str | None = None) -> None:
    """Mark a run finished (or back to queued for another attempt), if this worker still holds it."""
    now = utcnow()
    values: dict[str, object] = {"status": status, "lease_owner": None, "lease_until": None, "error": error}
    if status in FINISHED:
        values["finished_at"] = now
    with Session(writer(engine)) as session, session.begin():
        session.execute(update(SyncRun).where(SyncRun.id == run.id, SyncRun.lease_owner == run.lease_owner)
                        .values(**values))


def release_for_retry(engine: Engine, run: SyncRun, error: str) -> str:
    """After a failed attempt: queued again while attempts remain, else dead. Returns the new status."""
    status = "queued" if run.attempts < run.max_attempts else "dead"
    finish(engine, run, status, error if status == "queued" else f"gave up after {run.attempts} attempts: {error}")
    return status


def wait_to_retry(engine: Engine, run: SyncRun, error: str, delay: float, streak: int,
                  since: dt.datetime) -> dt.datetime | None:
    """After a transient error: the run lets go of its lease and waits (status ``retrying``) ``delay`` seconds.

    Counts the retry (``retries``) and keeps the retry budget (``streak`` errors in a row since ``since``).
    Returns when it is due, or None if this worker no longer held the run.
    """
    due = utcnow() + dt.timedelta(seconds=delay)
    with Session(writer(engine)) as session, session.begin():
        result = session.execute(update(SyncRun).where(
            SyncRun.id == run.id, SyncRun.lease_owner == run.lease_owner, SyncRun.status == "running").values(
            status="retrying", lease_owner=None, lease_until=None, due_at=due, sent_at=due, error=error,
            retries=SyncRun.retries + 1, retry_streak=streak, retry_since=since))
    return due if result.rowcount == 1 else None  # type: ignore[attr-defined]


def note_sent(engine: Engine, run_id: uuid.UUID, at: dt.datetime) -> None:
    """Record that the run's message was sent to arrive at ``at`` (so workers do not send it again before)."""
    with Session(writer(engine)) as session, session.begin():
        session.execute(update(SyncRun).where(SyncRun.id == run_id, SyncRun.status.in_(WAITING))
                        .values(sent_at=at))


@dataclass(frozen=True)
class Stale:
    """A run that needs a (new) message: its lease ran out, or it has waited too long for its message."""

    run_id: uuid.UUID
    reason: str
    last_sent: dt.datetime | None = None


def stale_runs(session: Session, after: float = 5.0, now: dt.datetime | None = None) -> list[Stale]:
    """Runs whose worker died (expired lease), and waiting runs whose message may have been lost.

    A waiting run (queued, or due to retry) counts when its latest message should have arrived ``after``
    seconds ago; for a queued run that time doubles with each resend (up to 5 minutes), so a run that only
    waits for a free worker gathers few duplicate messages.
    """
    now = now or utcnow()
    out = []
    rows = session.execute(select(SyncRun.id, SyncRun.status, SyncRun.queued_at, SyncRun.sent_at, SyncRun.due_at,
                                  SyncRun.lease_until).where(SyncRun.status.in_(("running", *WAITING)))).all()
    for run_id, status, queued_at, sent_at, due_at, lease_until in rows:
        last = sent_at or queued_at
        if status == "running":  # sent again at once when its lease ran out, then every ``after`` seconds
            if lease_until is not None and lease_until < now and (
                    last < lease_until or now - last >= dt.timedelta(seconds=after)):
                out.append(Stale(run_id, "lease expired", sent_at))
            continue
        wait = after if status == "retrying" else min(max((last - queued_at).total_seconds(), after), 300.0)
        if now - last >= dt.timedelta(seconds=wait) and (due_at is None or due_at <= now):
            out.append(Stale(run_id, "waiting", sent_at))
    return out


def take_for_resend(engine: Engine, stale: Stale, now: dt.datetime | None = None) -> bool:
    """Mark the run as sent now unless another worker did since it was found stale; True if this one may send."""
    with Session(writer(engine)) as session, session.begin():
        same = (SyncRun.sent_at.is_(None) if stale.last_sent is None else SyncRun.sent_at == stale.last_sent)
        result = session.execute(update(SyncRun).where(SyncRun.id == stale.run_id, same,
                                                       SyncRun.status.not_in(FINISHED))
                                 .values(sent_at=now or utcnow()))
    return result.rowcount == 1  # type: ignore[attr-defined]


def due_routes(session: Session, now: dt.datetime | None = None) -> Sequence[Route]:
    """Enabled routes of enabled, unpaused instances whose cron schedule has come round since last time."""
    now = now or utcnow()
    due = []
    active = set(session.scalars(select(ConnectorInstance.name).where(
        ConnectorInstance.enabled.is_(True), ConnectorInstance.paused.is_(False))))
    for route in session.scalars(select(Route).where(Route.enabled.is_(True), Route.schedule.is_not(None))):
        if route.instance not in active or route.schedule is None:
            continue
        last = route.last_scheduled_at or now
        nxt = croniter(route.schedule, last).get_next(dt.datetime)
        if nxt <= now:
            route.last_scheduled_at = now
            due.append(route)
    return due
