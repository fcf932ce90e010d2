"""Roles: create them, grant module permissions and admin permissions, set field rules, give them to users.

Permissions: ``roles.manage`` to change, ``roles.read`` to list. Giving a role to a user (or taking it away)
is a roles change too: a role carries permissions, so ``users.manage`` alone must not let anyone hand out
(or take for themself) access they do not hold. Granting admin permissions to a role likewise needs
``roles.manage``, which is what lets an actor give permissions beyond their own.

The domain functions of ``hub.core.users`` do the module grants, field rules and role assignments and audit
them; admin permissions (``AdminPermission`` rows) are granted and revoked here, audited on module ``roles``
with the role's admin permissions before and after.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core import users as accounts
from hub.core.actor import Context
from hub.core.audit import AuditLog
from hub.core.models import AdminPermission, FieldRule, Permission, Role
from hub.core.models.access import ACTIONS, ADMIN_PERMISSIONS
from hub.core.store import Store
from hub.errors import ValidationError
from hub.services.operation import admin_change, admin_view

Grant = accounts.Grant


@dataclass(frozen=True)
class ModuleGrant:
    module: str
    actions: tuple[str, ...]
    scope: str


@dataclass(frozen=True)
class FieldRuleInfo:
    module: str
    field: str
    rule: str


@dataclass(frozen=True)
class RoleInfo:
    """A role with its module grants (by module), field rules and admin permissions (sorted)."""

    id: uuid.UUID
    name: str
    description: str | None
    grants: tuple[ModuleGrant, ...] = ()
    field_rules: tuple[FieldRuleInfo, ...] = ()
    admin: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdminGrant:
    """What ``grant_admin`` or ``revoke_admin`` did to a role's admin permissions (sorted, before and after)."""

    role: str
    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def describe(self) -> str:
        """``role: admin: before -> after`` for people."""
        return f"{self.role}: admin: {','.join(self.before) or 'nothing'} -> {','.join(self.after) or 'nothing'}"


def create_role(store: Store, ctx: Context, name: str, description: str | None = None) -> RoleInfo:
    """An empty role (``roles.manage``)."""
    with admin_change(store, ctx, "roles.manage", "roles", name) as tx:
        role = accounts.create_role(tx.session, tx.audit, name, description)
        return RoleInfo(role.id, role.name, role.description)


def grant(store: Store, ctx: Context, role: str, module: str, actions: Iterable[str], scope: str | None = None,
          *, replace: bool = False) -> Grant:
    """Let ``role`` do ``actions`` in ``module`` (see ``hub.core.users.grant``; ``roles.manage``)."""
    with admin_change(store, ctx, "roles.manage", "roles", role) as tx:
        return accounts.grant(tx.session, tx.audit, role, module, actions, scope, replace=replace)


def field_rule(store: Store, ctx: Context, role: str, module: str, field: str, rule: str | None) -> None:
    """Make ``field`` of ``module`` hidden or masked for ``role`` (``rule=None``: visible again;
    ``roles.manage``). The field must exist in the module (custom fields included)."""
    with admin_change(store, ctx, "roles.manage", "roles", role) as tx:
        if module != "*":
            tx.module(module).field(field)
        accounts.field_rule(tx.session, tx.audit, role, module, field, rule)


def assign_role(store: Store, ctx: Context, username: str, role: str) -> None:
    """Give ``username`` the ``role`` (``roles.manage``)."""
    with admin_change(store, ctx, "roles.manage", "users", username) as tx:
        accounts.assign_role(tx.session, tx.audit, username, role)


def revoke_role(store: Store, ctx: Context, username: str, role: str) -> None:
    """Take ``role`` away from ``username`` (``roles.manage``)."""
    with admin_change(store, ctx, "roles.manage", "users", username) as tx:
        accounts.revoke_role(tx.session, tx.audit, username, role)


def grant_admin(store: Store, ctx: Context, role: str, permissions: Iterable[str]) -> AdminGrant:
    """Give ``role`` admin ``permissions`` (from ADMIN_PERMISSIONS) beside those it holds (``roles.manage``)."""
    with admin_change(store, ctx, "roles.manage", "roles", role) as tx:
        return _set_admin(tx.session, tx.audit, role, add=_checked(permissions), drop=frozenset())


def revoke_admin(store: Store, ctx: Context, role: str, permissions: Iterable[str]) -> AdminGrant:
    """Take admin ``permissions`` away from ``role`` (``roles.manage``)."""
    with admin_change(store, ctx, "roles.manage", "roles", role) as tx:
        return _set_admin(tx.session, tx.audit, role, add=frozenset(), drop=_checked(permissions))


def list_roles(store: Store, ctx: Context) -> list[RoleInfo]:
    """Every role, by name, with its module grants, field rules and admin permissions (``roles.read``)."""
    with admin_view(store, ctx, "roles.read", "roles") as tx:
        s = tx.session
        grants: dict[uuid.UUID, list[ModuleGrant]] = {}
        for p in s.scalars(select(Permission).order_by(Permission.module)):
            grants.setdefault(p.role_id, []).append(
                ModuleGrant(p.module, tuple(a for a in ACTIONS if getattr(p, f"can_{a}")), p.scope))
        rules: dict[uuid.UUID, list[FieldRuleInfo]] = {}
        for fr in s.scalars(select(FieldRule).order_by(FieldRule.module, FieldRule.field)):
            rules.setdefault(fr.role_id, []).append(FieldRuleInfo(fr.module, fr.field, fr.rule))
        admin: dict[uuid.UUID, list[str]] = {}
        for ap in s.scalars(select(AdminPermission).order_by(AdminPermission.permission)):
            admin.setdefault(ap.role_id, []).append(ap.permission)
        return [RoleInfo(r.id, r.name, r.description, tuple(grants.get(r.id, [])), tuple(rules.get(r.id, [])),
                         tuple(admin.get(r.id, [])))
                for r in s.scalars(select(Role).order_by(Role.name))]


def _checked(permissions: Iterable[str]) -> frozenset[str]:
    perms = frozenset(p.strip() for p in permissions if p.strip())
    if not perms:
        raise ValidationError("admin", f"name at least one admin permission; known: {', '.join(ADMIN_PERMISSIONS)}")
    bad = perms - set(ADMIN_PERMISSIONS)
    if bad:
        raise ValidationError("admin", f"{', '.join(sorted(bad))}: not an admin permission; known: "
                              f"{', '.join(ADMIN_PERMISSIONS)}")
    return perms


def _set_admin(session: Session, log: AuditLog, role: str, *, add: frozenset[str], drop: frozenset[str]
               ) -> AdminGrant:
    r = accounts.role_by_name(session, role)
    rows = {ap.permission: ap for ap in session.scalars(select(AdminPermission)
                                                        .where(AdminPermission.role_id == r.id))}
    before = tuple(sorted(rows))
    after = tuple(sorted((set(rows) | add) - drop))
    result = AdminGrant(role, before, after)
    if not result.changed:
        return result
    for perm in sorted(add - set(rows)):
        session.add(AdminPermission(role_id=r.id, permission=perm))
    for perm in sorted(drop & set(rows)):
        session.delete(rows[perm])
    session.flush()
    log.add("roles", r.id, "grant_admin" if add else "revoke_admin", {"admin": [list(before), list(after)]})
    return result
