"""Starting runs: create the run row (the truth), then send its Celery message.

If the message cannot be sent (the broker is down, or the embedded SQLite broker stays locked), the run
stays queued and a worker sends it again within seconds (hub.sync.resender); if a message is delivered
twice, the run's claim lets only one attempt proceed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session

from hub.core.db import writer
from hub.core.store import Store
from hub.sync import runs
from hub.sync.models import SyncRun

log = logging.getLogger("hub.sync")


def send(run_id: uuid.UUID, countdown: float | None = None, tries: int = 3) -> bool:
    """Send the Celery message for a run (to arrive ``countdown`` seconds from now); False (and logged) when
    the broker cannot be reached after ``tries`` tries."""
    from kombu import Connection

    from hub.config import Settings
    from hub.sync.celery_app import broker_url, transport_options
    from hub.sync.tasks import run_sync

    url = broker_url(Settings.from_env())
    for attempt in range(1, tries + 1):
        try:  # a connection of its own, to the broker the settings name now, with that broker's options
            with Connection(url, transport_options=transport_options(url)) as connection:
                run_sync.apply_async((str(run_id),), countdown=countdown, connection=connection)
            return True
        except Exception as exc:  # e.g. the embedded broker locked by a worker that is starting
            if attempt == tries:  # a worker sends it again (hub.sync.resender)
                log.warning("run %s: could not send to the broker (%s); it stays queued", run_id, exc)
            else:
                time.sleep(0.2 * attempt)
    return False


def start(store: Store, instance: str, stream: str, direction: str = "inbound", *, full: bool = False,
          kind: str = "sync") -> SyncRun:
    """Queue a run of the route (reusing one already queued) and send it to the workers."""
    with Session(writer(store.engine), expire_on_commit=False) as session, session.begin():
        run, created = runs.queue(session, instance, stream, direction, full=full, kind=kind)
    if created:
        send(run.id)
    return run


FINISHED = runs.FINISHED


def wait(store: Store, run_id: uuid.UUID, timeout: float, on_poll: Callable[[SyncRun], None] | None = None,
         interval: float = 0.5) -> SyncRun:
    """The run once it has finished, polling the database (its truth); TimeoutError naming where it stands."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(store.engine) as session:
            run = session.get(SyncRun, run_id)
        if run is None:
            raise LookupError(f"no sync run {run_id}")
        if on_poll is not None:
            on_poll(run)
        if run.status in FINISHED:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} is still {run.status} after {timeout:.0f}s (is a worker running?)")
        time.sleep(interval)


def counts(run: SyncRun) -> str:
    """A run's counts in one line, for people."""
    return (f"read {run.read}, created {run.created}, updated {run.updated}, unchanged {run.unchanged}, "
            f"deleted {run.deleted}, quarantined {run.quarantined}, written {run.written}, retries {run.retries}")
