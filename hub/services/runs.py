"""Sync runs: start (queue and send to the workers), cancel, list, show.

Permissions: ``runs.manage`` to start or cancel, ``runs.read`` to look. Each start and cancel is audited
(module ``sync_runs``, the run's id) with its before and after.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import select

from hub.core.actor import Context
from hub.core.store import Store
from hub.errors import ConfigError
from hub.services.operation import admin_change, admin_view
from hub.sync import dispatch, instances
from hub.sync import runs as sync_runs
from hub.sync.models import Route, SyncRun

TARGET = "sync_runs"
Send = Callable[[uuid.UUID], object]


def start_runs(store: Store, ctx: Context, instance: str, streams: Sequence[str] | None = None,
               direction: str = "inbound", *, full: bool = False, send: Send | None = None) -> list[SyncRun]:
    """Queue a run of each of ``streams`` of ``instance`` (default: every enabled route in ``direction``) and
    send each new one to the workers (``send``: ``hub.sync.dispatch.send`` unless given).

    A run already waiting for its route is reused (as ``hub.sync.runs.queue`` does); every start is audited,
    action ``start``, with the instance, stream, direction, full, and whether the run is new.
    ConfigError for an unknown instance, or one without such routes.
    """
    with admin_change(store, ctx, "runs.manage", TARGET, instance) as tx:
        instances.get_instance(tx.session, instance)
        wanted = list(streams) if streams else list(tx.session.scalars(select(Route.stream).where(
            Route.instance == instance, Route.direction == direction, Route.enabled.is_(True))
            .order_by(Route.stream)))
        if not wanted:
            raise ConfigError(f"{instance} has no {direction} routes; add one with `hub connector route`")
        started: list[tuple[SyncRun, bool]] = []
        for stream in wanted:
            run, new = sync_runs.queue(tx.session, instance, stream, direction, full=full)
            tx.audit.add(TARGET, run.id, "start", {
                "instance": [None, instance], "stream": [None, stream], "direction": [None, direction],
                "full": [None, full], "status": [None if new else run.status, run.status]})
            started.append((run, new))
    for run, new in started:  # after the commit: a worker must find the run it is sent
        if new:
            (send or dispatch.send)(run.id)
    return [run for run, _ in started]


def start_run(store: Store, ctx: Context, instance: str, stream: str, direction: str = "inbound", *,
              full: bool = False, send: Send | None = None) -> SyncRun:
    """Queue one run of ``stream`` of ``instance`` and send it to the workers (see ``start_runs``)."""
    return start_runs(store, ctx, instance, [stream], direction, full=full, send=send)[0]


def cancel_run(store: Store, ctx: Context, run_id: uuid.UUID) -> SyncRun:
    """Cancel a queued, retrying or running run (a running one stops at its next batch commit).

    Audited, action ``cancel``, with the status before and after. ConfigError for an unknown run or one
    that has finished.
    """
    with admin_change(store, ctx, "runs.manage", TARGET, run_id) as tx:
        run, before = sync_runs.cancel(tx.session, run_id, f"cancelled by {ctx.actor.name}")
        tx.audit.add(TARGET, run.id, "cancel", {"status": [before, run.status]})
        return run


def list_runs(store: Store, ctx: Context, *, instance: str | None = None, status: str | None = None,
              limit: int = 20) -> list[SyncRun]:
    """The latest ``limit`` runs, newest first, of ``instance`` and in ``status`` when given."""
    stmt = select(SyncRun).order_by(SyncRun.queued_at.desc()).limit(limit)
    if instance:
        stmt = stmt.where(SyncRun.instance == instance)
    if status:
        stmt = stmt.where(SyncRun.status == status)
    with admin_view(store, ctx, "runs.read", TARGET) as tx:
        return list(tx.session.scalars(stmt))


def get_run(store: Store, ctx: Context, run_id: uuid.UUID) -> SyncRun:
    """One run; ConfigError when there is none with ``run_id``."""
    with admin_view(store, ctx, "runs.read", TARGET, run_id) as tx:
        run = tx.session.get(SyncRun, run_id)
        if run is None:
            raise ConfigError(f"no sync run {run_id}")
        return run
