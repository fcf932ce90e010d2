"""Celery tasks: thin callers of the runner. The database, not Celery, records what a run did."""

from __future__ import annotations

import logging
import os
import uuid
from functools import lru_cache
from typing import Any

from celery import Task
from celery.signals import setup_logging, worker_ready
from sqlalchemy.orm import Session

from hub.core.db import writer
from hub.core.store import Store
from hub.logs import Redactor, configure
from hub.sync import dispatch, runs
from hub.sync.celery_app import app
from hub.sync.connector_types import connector_types
from hub.sync.runner import Runner

log = logging.getLogger("hub.sync")


@lru_cache(maxsize=1)
def runner() -> Runner:
    """This worker process's runner (store, connector types, lease length from HUB_SYNC_LEASE_SECONDS;
    HUB_SYNC_MAPPING_PROCESS=0 maps in the worker process itself instead of a helper beside it)."""
    lease = float(os.environ.get("HUB_SYNC_LEASE_SECONDS", runs.LEASE_SECONDS))
    forked = os.environ.get("HUB_SYNC_MAPPING_PROCESS", "1").strip().lower() not in ("0", "false", "no", "off")
    return Runner(Store.from_settings(), connector_types(), lease_seconds=lease, redactor=_redactor(),
                  mapping_process=forked)


@lru_cache(maxsize=1)
def _redactor() -> Redactor:
    return configure(os.environ.get("HUB_LOG_LEVEL", "INFO"), json_lines=os.environ.get("HUB_LOG_FORMAT") != "text")


@setup_logging.connect
def _setup_logging(**_: Any) -> None:
    """Workers log JSON lines through the redactor (instead of Celery's own set-up)."""
    _redactor()


@app.task(name="hub.sync.run", bind=True, max_retries=None)
def run_sync(self: Task, run_id: str) -> str | None:
    """One attempt of a run. Busy (held elsewhere) is retried later and is not an attempt."""
    try:
        status = runner().execute(uuid.UUID(run_id))
    except runs.Busy as busy:
        raise self.retry(countdown=min(max(busy.retry_after, 1.0), 60.0)) from None
    if status == "queued":  # this attempt failed and attempts remain: try again after a pause
        dispatch.send(uuid.UUID(run_id), countdown=min(5.0 * 2 ** min(self.request.retries, 4), 60.0))
    return status


@app.task(name="hub.sync.tick")
def tick() -> dict[str, int]:
    """Queue scheduled runs that are due; send again runs whose worker died or whose message was lost."""
    store = runner().store
    started = 0
    with Session(writer(store.engine)) as session, session.begin():
        due = [(r.instance, r.stream, r.direction) for r in runs.due_routes(session)]
    for instance, stream, direction in due:
        try:
            dispatch.start(store, instance, stream, direction, kind="scheduled")
            started += 1
        except Exception as exc:
            log.warning("scheduled run of %s/%s not started: %s", instance, stream, exc)
    with Session(store.engine) as session:
        stale = runs.stale_runs(session)
    for s in stale:
        dispatch.send(s.run_id)
    offboarded = 0
    try:  # termination dates that pass with no HR change
        from hub.core.offboarding import sweep

        offboarded = len(sweep(store))
    except Exception as exc:
        log.warning("offboarding sweep failed: %s", exc)
    return {"scheduled": started, "resent": len(stale), "offboarded": offboarded}


@worker_ready.connect
def _on_worker_ready(**_: Any) -> None:
    """A worker that starts picks up runs left behind by one that died."""
    try:
        tick.delay()
    except Exception as exc:
        log.warning("could not queue the start-up tick: %s", exc)
