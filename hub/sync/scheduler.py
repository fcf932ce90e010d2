"""The one scheduler: a lease row in the database lets a single beat schedule, and a second one refuses.

Celery's beat has no notion of a second beat: two of them both send every periodic task, so routes run
twice as often (and five of them, five times). Hub's beat (``LeasedScheduler``, set as
``beat_scheduler``) takes the lease ``sync_scheduler_leases.beat`` when it starts and renews it while it
ticks. A beat that finds the lease held by a live owner refuses to start; the lease of an owner that
died is free when it runs out, at once when the owner was a process on this host that no longer exists.
The schedule itself is kept in memory (the tick is its only entry; route schedules live in the
database), so beat writes no ``celerybeat-schedule`` file anywhere.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
from typing import Any

from celery.beat import Scheduler
from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from hub.core.db import writer
from hub.core.types import utcnow
from hub.errors import HubError
from hub.sync.models import SchedulerLease

log = logging.getLogger("hub.sync")
NAME = "beat"


class SchedulerRunning(HubError):
    """Another scheduler holds the lease: this one must not schedule."""


def lease_seconds() -> float:
    """How long the lease lasts unrenewed (HUB_SYNC_SCHEDULER_LEASE_SECONDS, default 30)."""
    return float(os.environ.get("HUB_SYNC_SCHEDULER_LEASE_SECONDS", "30"))


def owner_id() -> str:
    """This process as a lease owner: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _gone(owner: str) -> bool:
    """Whether ``owner`` was a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie (killed, not yet reaped) is gone too
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def holder(engine: Engine, now: dt.datetime | None = None) -> SchedulerLease | None:
    """The live lease of the running scheduler, or None when none runs."""
    now = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(SchedulerLease, NAME)
    if row is None or row.lease_until <= now or _gone(row.owner):
        return None
    return row


def describe(row: SchedulerLease) -> str:
    return f"{row.owner} (lease until {row.lease_until:%Y-%m-%d %H:%M:%S}Z)"


def acquire(engine: Engine, owner: str, seconds: float) -> None:
    """Take or renew the lease for ``owner``; SchedulerRunning when another live scheduler holds it."""
    now = utcnow()
    until = now + dt.timedelta(seconds=seconds)
    try:
        with Session(writer(engine)) as session, session.begin():
            row = session.get(SchedulerLease, NAME, with_for_update=True)
            if row is None:
                session.add(SchedulerLease(name=NAME, owner=owner, lease_until=until, heartbeat_at=now))
            elif row.owner == owner or row.lease_until <= now or _gone(row.owner):
                row.owner, row.lease_until, row.heartbeat_at = owner, until, now
            else:
                raise SchedulerRunning(f"another scheduler is running: {describe(row)}")
    except IntegrityError:  # two took a free lease at once; the other one won
        raise SchedulerRunning("another scheduler took the lease just now") from None


def release(engine: Engine, owner: str) -> None:
    """Give the lease up, if ``owner`` still holds it."""
    with Session(writer(engine)) as session, session.begin():
        session.execute(delete(SchedulerLease).where(SchedulerLease.name == NAME, SchedulerLease.owner == owner))


class LeasedScheduler(Scheduler):
    """Celery's in-memory scheduler, run only while it holds the scheduler lease (see the module)."""

    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        from sqlalchemy.pool import NullPool

        from hub.config import Settings
        from hub.core.db import make_engine

        self.lease_owner, self.lease_for = owner_id(), lease_seconds()
        self.lease_engine = make_engine(Settings.from_env().database_url, poolclass=NullPool)
        for tries in range(1, 11):
            try:
                acquire(self.lease_engine, self.lease_owner, self.lease_for)
                break
            except SchedulerRunning as exc:
                log.error("beat does not start: %s", exc)
                raise SystemExit(f"beat does not start: {exc}") from None
            except OperationalError as exc:  # e.g. SQLite busy while the worker beside starts: try again
                if tries == 10:
                    raise
                log.warning("beat: could not take the scheduler lease yet: %s", exc)
                time.sleep(0.5 * tries)
        self.renewed = time.monotonic()
        log.info("beat: holds the scheduler lease as %s", self.lease_owner)
        super().__init__(app, *args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if time.monotonic() - self.renewed >= self.lease_for / 3:
            try:
                acquire(self.lease_engine, self.lease_owner, self.lease_for)
                self.renewed = time.monotonic()
            except SchedulerRunning as exc:
                log.error("beat stops: the scheduler lease was taken over: %s", exc)
                raise SystemExit(f"beat stops: {exc}") from None
            except Exception as exc:  # the database briefly away: try again at the next tick
                log.warning("beat: could not renew the scheduler lease: %s", exc)
        return min(float(super().tick(*args, **kwargs)), self.lease_for / 3)

    def close(self) -> None:
        super().close()
        try:
            release(self.lease_engine, self.lease_owner)
        except Exception as exc:
            log.warning("beat: could not release the scheduler lease: %s", exc)

    @property
    def info(self) -> str:
        return f"    . scheduler lease -> {NAME} as {self.lease_owner}"
