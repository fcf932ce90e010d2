"""What the write-path tests look at: audit events and record counts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.actor import Context
from hub.core.models import AuditEvent
from hub.core.store import Store


def events(store: Store, action: str | None = None) -> list[AuditEvent]:
    """The audit events, oldest first (optionally only one action)."""
    with Session(store.engine) as session:
        stmt = select(AuditEvent).order_by(AuditEvent.seq)
        if action is not None:
            stmt = stmt.where(AuditEvent.action == action)
        return list(session.scalars(stmt))


def count(store: Store, ctx: Context, module: str) -> int:
    with store.reading(ctx) as tx:
        return tx.count(module)
