"""The outbox: changes to records of modules that some route sends out, written in the change's transaction.

A built-in plugin of the ``record_changed`` hook. Only modules with an enabled outbound route get
entries, so a store without outbound sync pays one small query per writing transaction and nothing
else. Writers are serialised (the audit-head lock), so outbox ids grow in commit order and an outbound
run can follow them with a simple cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from hub.core.bulk import bulk_insert
from hub.core.change import Change
from hub.core.models.base import table_of
from hub.core.types import utcnow
from hub.hookspecs import hookimpl
from hub.sync.models import OutboxEntry, Route


def outbound_modules(tx: Any) -> frozenset[str]:
    """Modules with an enabled outbound route (looked up once per transaction)."""
    cached = tx.cache.get("outbound_modules")
    if cached is None:
        cached = frozenset(tx.session.scalars(
            select(Route.module).where(Route.direction == "outbound", Route.enabled.is_(True)).distinct()))
        tx.cache["outbound_modules"] = cached
    return cached


@hookimpl
def record_changed(tx: Any, module: str, changes: Sequence[Change]) -> None:
    """Append an outbox entry per changed record of a module that is synced out."""
    if module not in outbound_modules(tx):
        return
    actor = tx.ctx.actor
    origin = actor.name if actor.kind == "connector" else None
    now = utcnow()
    bulk_insert(tx.session, table_of(OutboxEntry), [
        {"module": module, "record_id": c.record_id, "action": c.action, "origin": origin, "created_at": now}
        for c in changes
    ])
