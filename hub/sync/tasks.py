"""Celery tasks: thin callers of the runner. The database, not Celery, records what a run did.

A task never waits for a retry: a run that meets a transient error is sent again to arrive when it is
due, and the worker takes other runs meanwhile. Each worker process also runs a Resender (see
hub.sync.resender) from the moment it is ready.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pluggy
from celery import Task
from celery.signals import setup_logging, worker_ready, worker_shutdown
from sqlalchemy.orm import Session

from hub.config import Settings
from hub.core.db import writer
from hub.core.store import Store
from hub.core.types import utcnow
from hub.errors import ConfigError
from hub.logs import Redactor, configure
from hub.plugins import plugin_manager
from hub.sync import dispatch, runs
from hub.sync.celery_app import app
from hub.sync.connector_types import connector_types
from hub.sync.resender import Resender, resend
from hub.sync.retry import RetryPolicy
from hub.sync.runner import Runner

log = logging.getLogger("hub.sync")


@lru_cache(maxsize=1)
def settings() -> Settings:
    """This worker process's settings, read once."""
    return Settings.from_env()


@lru_cache(maxsize=1)
def runner() -> Runner:
    """This worker process's runner: the store and the connector types over ONE plugin manager, the lease
    length (Settings.sync_lease_seconds), the retry policy from HUB_SYNC_RETRY_*, and where mapping runs
    (Settings.sync_mapping_process: a helper beside the worker, or the worker process itself).

    hub.root.Hub is the composition root of the interfaces; the sync layer may not import it, so the worker
    builds the same pieces the same way: one plugin manager, handed to everything that calls hooks."""
    conf = settings()
    pm = plugin_manager()
    lease = conf.sync_lease_seconds if conf.sync_lease_seconds is not None else runs.LEASE_SECONDS
    return Runner(Store.from_settings(conf, pm), connector_types(pm), lease_seconds=lease,
                  retry=RetryPolicy.from_env(), redactor=_redactor(), mapping_process=conf.sync_mapping_process)


@lru_cache(maxsize=1)
def _redactor() -> Redactor:
    conf = settings()
    return configure(conf.log_level, json_lines=conf.log_format != "text")


def periodic_jobs(pm: pluggy.PluginManager) -> dict[str, Callable[[Store, dt.datetime], Any]]:
    """Name -> job, from every ``register_periodic_jobs`` implementation; a name given twice is a ConfigError."""
    found: dict[str, Callable[[Store, dt.datetime], Any]] = {}
    for result in pm.hook.register_periodic_jobs():
        for name, job in (result or {}).items():
            if name in found:
                raise ConfigError(f"periodic job {name!r} is registered twice")
            if not callable(job):
                raise ConfigError(f"periodic job {name!r}: {job!r} is not callable")
            found[name] = job
    return found


@setup_logging.connect
def _setup_logging(**_: Any) -> None:
    """Workers log JSON lines through the redactor (instead of Celery's own set-up)."""
    _redactor()


@app.task(name="hub.sync.run", bind=True, max_retries=None)
def run_sync(self: Task, run_id: str) -> str | None:
    """One step of a run (hub.sync.runner.Runner.step); what follows is sent with a delay, never waited for.

    A run held by another worker makes this message a duplicate, dropped. A run whose route is busy (another
    run of it is running) is tried again later; waiting for the route is not an attempt.
    """
    rid = uuid.UUID(run_id)
    try:
        step = runner().step(rid)
    except runs.Busy as busy:
        if busy.held:
            return None
        countdown = min(max(busy.retry_after, 1.0), 60.0)
        runs.note_sent(runner().store.engine, rid, utcnow() + dt.timedelta(seconds=countdown))
        raise self.retry(countdown=countdown) from None
    if step.status in runs.WAITING and step.due_at is not None:  # a retry, or the next attempt after a pause
        countdown = max((step.due_at - utcnow()).total_seconds(), 0.0)
        if dispatch.send(rid, countdown=countdown):
            runs.note_sent(runner().store.engine, rid, step.due_at)
    elif step.status == "queued":
        dispatch.send(rid)
    return step.status


@app.task(name="hub.sync.tick")
def tick() -> dict[str, int]:
    """Queue scheduled runs that are due; send again runs whose worker died or whose message was lost; run
    the periodic jobs the plugins register (``register_periodic_jobs``: the offboarding sweep, ...)."""
    return run_tick(runner().store)


def run_tick(store: Store, now: dt.datetime | None = None) -> dict[str, int]:
    """One beat tick over ``store`` (its plugin manager gives the periodic jobs): what it did, by name."""
    started = 0
    with Session(writer(store.engine)) as session, session.begin():
        due = [(r.instance, r.stream, r.direction) for r in runs.due_routes(session)]
    for instance, stream, direction in due:
        try:
            dispatch.start(store, instance, stream, direction, kind="scheduled")
            started += 1
        except Exception as exc:
            log.warning("scheduled run of %s/%s not started: %s", instance, stream, exc)
    resent = resend(store.engine)
    done = {"scheduled": started, "resent": len(resent)}
    now = now or utcnow()
    for name, job in periodic_jobs(store.plugins).items():
        try:
            result = job(store, now)
        except Exception as exc:  # one job failing does not stop the others, nor the next tick
            log.warning("periodic job %s failed: %s", name, exc)
            result = 0
        done[name] = int(result or 0)
    return done


@lru_cache(maxsize=1)
def resender() -> Resender:
    """This worker process's Resender (started once), on an engine of its own without a pool."""
    from sqlalchemy.pool import NullPool

    from hub.core.db import make_engine

    thread = Resender(make_engine(settings().database_url, poolclass=NullPool))
    thread.start()
    return thread


@worker_ready.connect
def _on_worker_ready(**_: Any) -> None:
    """A worker that starts sends again the runs left behind (by one that died, or whose message was lost),
    and keeps looking every few seconds."""
    resender()


@worker_shutdown.connect
def _on_worker_shutdown(**_: Any) -> None:
    if resender.cache_info().currsize:
        resender().stop()
