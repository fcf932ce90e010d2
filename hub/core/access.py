"""The access model applied inside the store: module permissions, record scope, hidden and masked fields.

A user's roles are combined permissively: an action is allowed if any role allows it, the widest scope
wins, and a field is hidden (or masked) only if every role that may read the module hides (or masks) it.
Admin permissions (``users.manage``, ``connectors.read``, ...) guard everything besides records; a user
flagged ``is_admin`` holds them all. No actor is unrestricted by default: an actor that is not a user acts
under a system role declared through the ``register_system_roles`` hook (built-in: ``system``, full access
for Hub's own processes and the operator at the shell; ``connector``, records only), and one with no
declared role may read and write nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from hub.core.actor import Actor
from hub.core.models import RECORD_MODELS, AdminPermission, FieldRule, Permission, Record, Team, User, UserRole
from hub.core.models.access import ACTIONS, ADMIN_PERMISSIONS, SCOPES
from hub.errors import AccessDenied, ConfigError

MASK_CHAR = "•"


@dataclass(frozen=True)
class ModuleAccess:
    """What one user may do in one module."""

    actions: frozenset[str]
    scope: str
    hidden: frozenset[str] = frozenset()
    masked: frozenset[str] = frozenset()


FULL = ModuleAccess(frozenset(ACTIONS), "all")
NONE = ModuleAccess(frozenset(), "own")
ALL_ADMIN = frozenset(ADMIN_PERMISSIONS)


@dataclass(frozen=True)
class SystemRole:
    """What an actor that is not a user may do: every record (or none) and a set of admin permissions."""

    records: bool
    admin: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = self.admin - ALL_ADMIN
        if unknown:
            raise ValueError(f"unknown admin permissions {sorted(unknown)}; known: {', '.join(ADMIN_PERMISSIONS)}")


def merge_system_roles(declared: Iterable[Mapping[str, SystemRole]]) -> dict[str, SystemRole]:
    """The system roles declared by every ``register_system_roles`` implementation; a name twice is an error."""
    roles: dict[str, SystemRole] = {}
    for batch in declared:
        for name, role in batch.items():
            if name in roles:
                raise ConfigError(f"system role {name!r} is declared twice")
            if not isinstance(role, SystemRole):
                raise ConfigError(f"system role {name!r} is not a hub.core.access.SystemRole")
            roles[name] = role
    return roles


@dataclass(frozen=True)
class AccessProfile:
    """Everything needed to filter one actor's reads and check its writes, loaded once per transaction."""

    actor: Actor
    unrestricted: bool
    admin: frozenset[str] = frozenset()
    user_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    modules: dict[str, ModuleAccess] = field(default_factory=dict)
    team_ids: frozenset[uuid.UUID] = frozenset()
    subordinate_team_ids: frozenset[uuid.UUID] = frozenset()
    subordinate_user_ids: frozenset[uuid.UUID] = frozenset()

    def module(self, module: str) -> ModuleAccess:
        if self.unrestricted:
            return FULL
        return self.modules.get(module, NONE)

    def require(self, module: str, action: str) -> ModuleAccess:
        """The module access, or AccessDenied when ``action`` is not allowed."""
        access = self.module(module)
        if action not in access.actions:
            raise AccessDenied(f"{self.actor.name} may not {action} {module}")
        return access

    def may(self, permission: str) -> bool:
        """Whether the actor holds admin permission ``permission`` (``area.manage`` includes ``area.read``)."""
        if permission not in ALL_ADMIN:
            raise ValueError(f"{permission!r} is not an admin permission; known: {', '.join(ADMIN_PERMISSIONS)}")
        area, _, action = permission.partition(".")
        return permission in self.admin or (action == "read" and f"{area}.manage" in self.admin)

    def require_admin(self, permission: str) -> None:
        """AccessDenied unless the actor holds admin permission ``permission``."""
        if not self.may(permission):
            area, _, action = permission.partition(".")
            raise AccessDenied(f"{self.actor.name} may not {'see' if action == 'read' else action} "
                               f"{area.replace('_', ' ')} (needs admin permission {permission})")

    def scope_clause(self, model: type[Record]) -> ColumnElement[bool]:
        """A WHERE clause limiting ``model`` rows to this actor's scope."""
        if self.unrestricted:
            return true()
        access = self.module(model.module)
        if "read" not in access.actions:
            return false()
        return self._scope(access.scope, model.owner_id, model.team_id)

    def _scope(self, scope: str, owner: Any, team: Any) -> ColumnElement[bool]:
        if scope == "all":
            return true()
        own = owner == self.user_id
        if scope == "own":
            return own
        if scope == "team":
            return or_(own, team.in_(self.team_ids)) if self.team_ids else own
        users = self.subordinate_user_ids | ({self.user_id} if self.user_id else set())
        teams = self.team_ids | self.subordinate_team_ids
        return or_(owner.in_(users), team.in_(teams)) if teams else owner.in_(users)

    def in_scope(self, module: str, owner_id: uuid.UUID | None, team_id: uuid.UUID | None) -> bool:
        """Whether a record with this owner and team is within scope (for writes and new records)."""
        if self.unrestricted:
            return True
        scope = self.module(module).scope
        if scope == "all" or owner_id == self.user_id:
            return True
        if scope == "team":
            return team_id is not None and team_id in self.team_ids
        if scope == "subordinates":
            return (owner_id in self.subordinate_user_ids
                    or (team_id is not None and team_id in self.team_ids | self.subordinate_team_ids))
        return False


def mask(value: Any) -> Any:
    """A masked rendering that keeps at most the last four characters."""
    if value is None:
        return None
    text = str(value)
    return MASK_CHAR * 4 + (text[-4:] if len(text) > 8 else "")


def _descendants(session: Session, roots: Iterable[uuid.UUID], parent_col: Any, id_col: Any) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    frontier = set(roots)
    while frontier:
        children = set(session.scalars(select(id_col).where(parent_col.in_(frontier)))) - found
        found |= children
        frontier = children
    return found


def load_profile(session: Session, actor: Actor, system_roles: Mapping[str, SystemRole] | None = None
                 ) -> AccessProfile:
    """The access profile of ``actor``.

    A user gets their roles' access (all of it if ``is_admin``); any other actor gets its declared system
    role's, and an actor with neither gets none: every read finds nothing and every write is refused.
    """
    if actor.user_id is None:
        role = (system_roles or {}).get(actor.role or "") if actor.kind in ("system", "connector") else None
        if role is None:
            return AccessProfile(actor, unrestricted=False)
        return AccessProfile(actor, unrestricted=role.records, admin=role.admin)
    user = session.get(User, actor.user_id)
    if user is None or not user.active:
        raise AccessDenied(f"user {actor.name} does not exist or is disabled")
    if user.is_admin:
        return AccessProfile(actor, unrestricted=True, admin=ALL_ADMIN, user_id=user.id, team_id=user.team_id)
    admin = frozenset(session.scalars(
        select(AdminPermission.permission).join(UserRole, UserRole.role_id == AdminPermission.role_id)
        .where(UserRole.user_id == user.id)))
    perms = session.execute(
        select(Permission).join(UserRole, UserRole.role_id == Permission.role_id).where(UserRole.user_id == user.id)
    ).scalars().all()
    rules = session.execute(
        select(FieldRule).join(UserRole, UserRole.role_id == FieldRule.role_id).where(UserRole.user_id == user.id)
    ).scalars().all()
    modules: dict[str, ModuleAccess] = {}
    by_module: dict[str, list[Permission]] = {}
    for p in perms:
        by_module.setdefault(p.module, []).append(p)
    everywhere = by_module.pop("*", [])
    # A grant on "*" applies to every module, combined with that module's own grants.
    for module in RECORD_MODELS if everywhere else list(by_module):
        plist = by_module.get(module, []) + everywhere
        actions = {a for p in plist for a in ACTIONS if getattr(p, f"can_{a}")}
        scope = max((p.scope for p in plist), key=SCOPES.index)
        readers = {p.role_id for p in plist if p.can_read}
        role_rules: dict[str, dict[uuid.UUID, str]] = {}
        for r in rules:
            if r.module in (module, "*"):
                role_rules.setdefault(r.field, {})[r.role_id] = r.rule
        hidden: set[str] = set()
        masked: set[str] = set()
        for fname, per_role in role_rules.items():
            if readers and readers <= per_role.keys():
                kinds = {per_role[rid] for rid in readers}
                (hidden if kinds == {"hidden"} else masked).add(fname)
        modules[module] = ModuleAccess(frozenset(actions), scope, frozenset(hidden), frozenset(masked))
    team_ids = {user.team_id} if user.team_id else set()
    managed = set(session.scalars(select(Team.id).where(Team.manager_id == user.id)))
    sub_teams = managed | _descendants(session, managed, Team.parent_id, Team.id)
    sub_users = _descendants(session, [user.id], User.manager_id, User.id)
    if sub_teams:
        sub_users |= set(session.scalars(select(User.id).where(User.team_id.in_(sub_teams))))
    return AccessProfile(
        actor, unrestricted=False, admin=admin, user_id=user.id, team_id=user.team_id, modules=modules,
        team_ids=frozenset(team_ids), subordinate_team_ids=frozenset(sub_teams),
        subordinate_user_ids=frozenset(sub_users),
    )
