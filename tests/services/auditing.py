"""What the service tests share: users holding admin permissions, and checks of the audit trail (denied
events, before/after changes, an intact chain)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core import users as accounts
from hub.core.actor import Actor, Context
from hub.core.audit import verify
from hub.core.models import AdminPermission, AuditEvent
from hub.core.store import Store
from hub.errors import AccessDenied

SYSTEM = Context.system("test")


def person(store: Store, username: str, permissions: Iterable[str] = (), *, is_admin: bool = False,
           source: str = "cli") -> Context:
    """A user holding ``permissions`` through a role of their own (their context, with ``source``)."""
    with store.writing(SYSTEM) as tx:
        user = accounts.create_user(tx.session, tx.audit, username, is_admin=is_admin)
        perms = list(permissions)
        if perms:
            role = accounts.create_role(tx.session, tx.audit, f"{username}-role")
            for p in perms:
                tx.session.add(AdminPermission(role_id=role.id, permission=p))
            tx.session.flush()
            accounts.assign_role(tx.session, tx.audit, username, role.name)
    return Context(Actor.for_user(user.id, user.username), source)


def people(store: Store, permission: str) -> tuple[Context, Context]:
    """A user without ``permission`` (``nobody``) and one holding it (``holder``)."""
    return person(store, "nobody"), person(store, "holder", [permission])


def events(store: Store, module: str, action: str) -> list[AuditEvent]:
    with Session(store.engine) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.module == module, AuditEvent.action == action)
                              .order_by(AuditEvent.seq)))


def changes(event: AuditEvent) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(event.changes)
    return found


def assert_refused(store: Store, ctx: Context, attempt: str, call: Callable[[], object],
                   message: str | None = None) -> None:
    """``call`` is refused, and a ``denied`` event by the actor (with its source) names ``attempt``."""
    with pytest.raises(AccessDenied, match=message or attempt.replace(".", r"\.")):
        call()
    with Session(store.engine) as s:
        denied = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "denied")))
    assert any(changes(e) == {"attempt": [None, attempt]} and e.actor_name == ctx.actor.name
               and e.source == ctx.source for e in denied), [(e.module, e.changes) for e in denied]


def chain_ok(store: Store) -> bool:
    with Session(store.engine) as s:
        return verify(s, store.keyring.audit_key).ok


def assert_chain_intact(store: Store) -> None:
    assert chain_ok(store)


def last_by(store: Store, module: str, action: str, ctx: Context) -> dict[str, Any]:
    """The changes of the last ``module``/``action`` event, checked to be by ``ctx``'s actor and source."""
    event = events(store, module, action)[-1]
    assert (event.actor_name, event.source) == (ctx.actor.name, ctx.source)
    return changes(event)
