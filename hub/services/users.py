"""Users and teams: create, change, list.

Permissions: ``users.manage`` to change, ``users.read`` to list. Giving a new user roles needs ``roles.manage``
as well (a role carries permissions; see ``hub.services.roles``). Only an actor holding every admin
permission (an ``--admin`` user or the system operator) may create an ``is_admin`` user or change one: anyone
less could otherwise make or take over an account with more power than their own. Such a refusal is an
AccessDenied and a ``denied`` audit event whose attempt is ``is_admin``.

The domain functions of ``hub.core.users`` do the work and audit each change with its before and after
(passwords masked).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core import users as accounts
from hub.core.access import ALL_ADMIN
from hub.core.actor import Context
from hub.core.models import Role, Team, User, UserRole
from hub.core.store import Store, Tx
from hub.errors import AccessDenied
from hub.services.operation import admin_change, admin_view, require

#: What a refusal to make or change an ``is_admin`` user names as the attempt in its ``denied`` event.
ADMIN_FLAG = "is_admin"


@dataclass(frozen=True)
class UserInfo:
    """A user as people may see it (no password hash)."""

    id: uuid.UUID
    username: str
    email: str | None
    full_name: str | None
    active: bool
    is_admin: bool
    team: str | None
    manager: str | None
    roles: tuple[str, ...]


@dataclass(frozen=True)
class TeamInfo:
    id: uuid.UUID
    name: str
    parent: str | None
    manager: str | None


def _require_full_admin(tx: Tx, username: str, doing: str) -> None:
    """AccessDenied (audited, attempt ``is_admin``) unless the actor holds every admin permission."""
    if tx.profile.admin != ALL_ADMIN:
        tx.denials.append(("users", username, ADMIN_FLAG))
        raise AccessDenied(f"{tx.ctx.actor.name} may not {doing} (needs every admin permission)")


def create_user(store: Store, ctx: Context, username: str, password: str | None = None, *,
                email: str | None = None, full_name: str | None = None, team: str | None = None,
                manager: str | None = None, is_admin: bool = False, roles: Iterable[str] = ()) -> UserInfo:
    """A new user (``users.manage``; with roles also ``roles.manage``; ``is_admin`` only by a full admin)."""
    roles = tuple(roles)
    with admin_change(store, ctx, "users.manage", "users", username) as tx:
        if roles:
            require(tx, "roles.manage", "users", username)
        if is_admin:
            _require_full_admin(tx, username, f"create the admin user {username}")
        user = accounts.create_user(tx.session, tx.audit, username, password, email=email, full_name=full_name,
                                    team=team, manager=manager, is_admin=is_admin, roles=roles)
        return _user_infos(tx.session, [user])[0]


def set_user(store: Store, ctx: Context, username: str, *, active: bool | None = None, team: str | None = None,
             manager: str | None = None, password: str | None = None) -> UserInfo:
    """Change a user's status, team, manager or password (``users.manage``; an admin user only by a full
    admin)."""
    with admin_change(store, ctx, "users.manage", "users", username) as tx:
        if accounts.user_by_name(tx.session, username).is_admin:
            _require_full_admin(tx, username, f"change the admin user {username}")
        user = accounts.set_user(tx.session, tx.audit, username, active=active, team=team, manager=manager,
                                 password=password)
        return _user_infos(tx.session, [user])[0]


def create_team(store: Store, ctx: Context, name: str, parent: str | None = None,
                manager: str | None = None) -> TeamInfo:
    """A new team, optionally under a parent team and led by a manager (``users.manage``)."""
    with admin_change(store, ctx, "users.manage", "teams", name) as tx:
        team = accounts.create_team(tx.session, tx.audit, name, parent, manager)
        return TeamInfo(team.id, team.name, parent, manager)


def list_users(store: Store, ctx: Context) -> list[UserInfo]:
    """Every user, by username, with team, manager and roles (``users.read``)."""
    with admin_view(store, ctx, "users.read", "users") as tx:
        return _user_infos(tx.session, list(tx.session.scalars(select(User).order_by(User.username))))


def list_teams(store: Store, ctx: Context) -> list[TeamInfo]:
    """Every team, by name, with parent and manager (``users.read``)."""
    with admin_view(store, ctx, "users.read", "teams") as tx:
        all_teams = list(tx.session.scalars(select(Team).order_by(Team.name)))
        names = {t.id: t.name for t in all_teams}
        people = {u.id: u.username for u in tx.session.scalars(select(User))}
        return [TeamInfo(t.id, t.name, names.get(t.parent_id) if t.parent_id else None,
                         people.get(t.manager_id) if t.manager_id else None) for t in all_teams]


def _user_infos(session: Session, rows: list[User]) -> list[UserInfo]:
    teams = {t.id: t.name for t in session.scalars(select(Team))}
    names = {u.id: u.username for u in session.scalars(select(User))}
    role_names = {r.id: r.name for r in session.scalars(select(Role))}
    links: dict[uuid.UUID, list[str]] = {}
    for link in session.scalars(select(UserRole)):
        links.setdefault(link.user_id, []).append(role_names[link.role_id])
    return [UserInfo(u.id, u.username, u.email, u.full_name, u.active, u.is_admin,
                     teams.get(u.team_id) if u.team_id else None,
                     names.get(u.manager_id) if u.manager_id else None,
                     tuple(sorted(links.get(u.id, [])))) for u in rows]
