"""The life of a sync run, kept in the database: queue, claim under a lease, heartbeat, finish, give up.

A worker *claims* a run before working on it: in one transaction it counts the attempt, takes a lease
(owner and expiry) and marks it running. The partial unique index on running runs allows one per route
across all workers. A run whose attempts reach its limit is dead and is never started again, so a run
that kills its worker every time cannot loop. A run whose worker died keeps its lease only until the
lease expires; then any worker may claim it again and it resumes from its last committed checkpoint.
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
FINISHED = ("succeeded", "failed", "dead")


class Busy(HubError):
    """Another worker holds this run or another run of its route; try again after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


def queue(session: Session, instance: str, stream: str, direction: str = "inbound", *, full: bool = False,
          kind: str = "sync") -> tuple[SyncRun, bool]:
    """A queued run of the route (an already queued one is reused); returns (run, newly created)."""
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
        SyncRun.status == "queued", SyncRun.full.is_(full)))
    if waiting is not None:
        return waiting, False
    state = None if full else session.scalar(select(StreamState.state).where(
        StreamState.instance == instance, StreamState.stream == stream, StreamState.direction == direction))
    run = SyncRun(instance=instance, stream=stream, direction=direction, kind=kind, full=full,
                  max_attempts=route.max_attempts, mapping=route.mapping, start_state=state, status="queued")
    session.add(run)
    session.flush()
    return run, True


def claim(engine: Engine, run_id: uuid.UUID, worker: str, lease_seconds: float = LEASE_SECONDS) -> SyncRun | None:
    """Take the run for ``worker``; None if it is finished or has just died of too many attempts.

    Raises Busy when another worker holds it (or another run of its route) under a live lease.
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
        raise Busy(f"run {run_id} is held by {run.lease_owner}", (run.lease_until - now).total_seconds())
    # Free the route from runs whose workers died (their leases ran out).
    session.execute(update(SyncRun).where(
        SyncRun.instance == run.instance, SyncRun.stream == run.stream, SyncRun.direction == run.direction,
        SyncRun.status == "running", SyncRun.lease_until < now, SyncRun.id != run.id,
    ).values(status="queued", lease_owner=None, lease_until=None))
    if run.attempts >= run.max_attempts:
        run.status, run.finished_at = "dead", now
        run.lease_owner = run.lease_until = None
        run.error = (f"gave up after {run.attempts} attempts" +
                     (f"; last error: {run.error}" if run.error else ": each attempt ended without finishing "
                      "(the worker died or lost its lease)"))
        return None
    run.status, run.attempts = "running", run.attempts + 1
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


@dataclass(frozen=True)
class Stale:
    """A run that needs a (new) message: its lease ran out, or it has waited too long in the queue."""

    run_id: uuid.UUID
    reason: str


def stale_runs(session: Session, queued_for: float = 120.0) -> list[Stale]:
    """Runs whose worker died (expired lease) and queued runs whose message may have been lost."""
    now = utcnow()
    out = [Stale(r, "lease expired") for r in session.scalars(
        select(SyncRun.id).where(SyncRun.status == "running", SyncRun.lease_until < now))]
    out += [Stale(r, "waiting") for r in session.scalars(
        select(SyncRun.id).where(SyncRun.status == "queued",
                                 SyncRun.queued_at < now - dt.timedelta(seconds=queued_for)))]
    return out


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
