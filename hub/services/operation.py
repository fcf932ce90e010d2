"""An admin operation's transaction: refuse (and audit the refusal) unless the actor holds the permission.

    with admin_change(store, ctx, "users.manage", "users", username) as tx:
        user = users.create_user(tx.session, tx.audit, username, ...)   # audits its own before/after

A refusal is an AccessDenied naming the permission, and a ``denied`` audit event (module = the object kind,
record id = the object's id or name, changes = ``{"attempt": [None, permission]}``) written in a
transaction of its own, so it survives the rollback of the refused one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hub.core.actor import Context
from hub.core.store import Store, Tx


def require(tx: Tx, permission: str, target: str, target_id: object = None) -> None:
    """AccessDenied (audited when ``tx`` ends) unless the actor holds admin permission ``permission``."""
    if not tx.profile.may(permission):
        tx.denials.append((target, target_id, permission))
        tx.profile.require_admin(permission)


@contextmanager
def admin_change(store: Store, ctx: Context, permission: str, target: str, target_id: object = None
                 ) -> Iterator[Tx]:
    """A writing transaction for one admin change, after checking ``permission``."""
    with store.writing(ctx) as tx:
        require(tx, permission, target, target_id)
        yield tx


@contextmanager
def admin_view(store: Store, ctx: Context, permission: str, target: str, target_id: object = None
               ) -> Iterator[Tx]:
    """A reading transaction over admin objects, after checking ``permission`` (``area.read``)."""
    with store.reading(ctx) as tx:
        require(tx, permission, target, target_id)
        yield tx
