"""Every worker sends again the runs whose message is missing: when it starts, then every few seconds.

A run is a row; its Celery message only says "work on this". A message can go missing: the broker was
down or busy when the run was queued (the embedded SQLite broker, locked while a new worker starts), a
worker holding a delayed message died, a worker died holding a run (its lease runs out). Each worker
runs a ``Resender`` thread that finds such runs (runs.stale_runs: waiting past the time their message
should have arrived, or running under an expired lease) and sends them again. Only one worker resends a
given run each time (runs.take_for_resend compares and sets its ``sent_at``); a duplicate message does
no harm, because the run's claim lets one attempt proceed and drops the rest.

HUB_SYNC_RESEND_SECONDS (default 5): how late a message may be before it is sent again; workers look
twice as often.
"""

from __future__ import annotations

import logging
import os
import threading

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.sync import dispatch, runs

log = logging.getLogger("hub.sync")


def resend_after() -> float:
    """HUB_SYNC_RESEND_SECONDS, default 5."""
    return float(os.environ.get("HUB_SYNC_RESEND_SECONDS", "5"))


def resend(engine: Engine, after: float | None = None) -> list[runs.Stale]:
    """Send again the runs whose message is missing; those this process sent."""
    with Session(engine) as session:
        stale = runs.stale_runs(session, resend_after() if after is None else after)
    sent = []
    for found in stale:
        if runs.take_for_resend(engine, found) and dispatch.send(found.run_id):
            log.info("run %s: sent again (%s)", found.run_id, found.reason)
            sent.append(found)
    return sent


class Resender(threading.Thread):
    """A daemon thread of a worker that calls ``resend`` at once and then every half ``after`` seconds."""

    def __init__(self, engine: Engine, after: float | None = None) -> None:
        super().__init__(name="hub-resender", daemon=True)
        self.engine, self.after = engine, resend_after() if after is None else after
        self._done = threading.Event()

    def run(self) -> None:
        while True:
            try:
                resend(self.engine, self.after)
            except Exception as exc:  # the database or broker briefly away: look again next time
                log.warning("could not look for runs to send again: %s", exc)
            if self._done.wait(max(self.after / 2, 0.5)):
                return

    def stop(self) -> None:
        self._done.set()
