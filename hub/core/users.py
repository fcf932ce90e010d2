"""Users, teams and roles: creating them, hashing passwords (argon2id), granting permissions. All audited."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.audit import MASK, AuditLog
from hub.core.fields import FieldDef
from hub.core.models import RECORD_MODELS, FieldRule, Permission, Role, Team, User, UserRole
from hub.core.models.access import ACTIONS, FIELD_RULES, SCOPES
from hub.errors import ValidationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,120}$")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (at least 8 characters)."""
    if len(password) < 8:
        raise ValidationError("users.password", "must be at least 8 characters long")
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    """Whether ``password`` is the user's; disabled users never pass."""
    if not user.active or not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _one(session: Session, model: Any, name_col: Any, name: str, what: str) -> Any:
    row = session.scalar(select(model).where(name_col == name))
    if row is None:
        raise ValidationError(what, f"no {what.rstrip('s')} called {name!r}")
    return row


def user_by_name(session: Session, username: str) -> User:
    return _one(session, User, User.username, username, "users")


def team_by_name(session: Session, name: str) -> Team:
    return _one(session, Team, Team.name, name, "teams")


def role_by_name(session: Session, name: str) -> Role:
    return _one(session, Role, Role.name, name, "roles")


def create_team(session: Session, log: AuditLog, name: str, parent: str | None = None,
                manager: str | None = None) -> Team:
    """A new team, optionally under a parent team and led by a manager."""
    if session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise ValidationError("teams.name", f"a team called {name!r} exists")
    team = Team(id=uuid.uuid4(), name=name,
                parent_id=team_by_name(session, parent).id if parent else None,
                manager_id=user_by_name(session, manager).id if manager else None)
    session.add(team)
    session.flush()
    log.add("teams", team.id, "create", {"name": [None, name], "parent": [None, parent], "manager": [None, manager]})
    return team


def create_user(session: Session, log: AuditLog, username: str, password: str | None = None, *,
                email: str | None = None, full_name: str | None = None, team: str | None = None,
                manager: str | None = None, is_admin: bool = False, roles: Iterable[str] = ()) -> User:
    """A new user with an argon2id password hash; roles by name."""
    if not USERNAME.match(username):
        raise ValidationError("users.username", f"{username!r}: use 2-120 letters, digits or . _ @ -")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationError("users.username", f"a user called {username!r} exists")
    clean_email = FieldDef("email", kind="email").clean("users", email) if email else None
    user = User(id=uuid.uuid4(), username=username, email=clean_email, full_name=full_name,
                password_hash=hash_password(password) if password else None, is_admin=is_admin, active=True,
                team_id=team_by_name(session, team).id if team else None,
                manager_id=user_by_name(session, manager).id if manager else None)
    session.add(user)
    session.flush()
    log.add("users", user.id, "create", {"username": [None, username], "email": [None, clean_email],
                                         "team": [None, team], "manager": [None, manager],
                                         "is_admin": [None, is_admin], "password": [None, MASK if password else None]})
    for role in roles:
        assign_role(session, log, username, role)
    return user


def set_user(session: Session, log: AuditLog, username: str, *, active: bool | None = None,
             team: str | None = None, manager: str | None = None, password: str | None = None) -> User:
    """Change a user's status, team, manager or password."""
    user = user_by_name(session, username)
    changes: dict[str, list[Any]] = {}
    if active is not None and active != user.active:
        changes["active"] = [user.active, active]
        user.active = active
    if team is not None:
        new_team = team_by_name(session, team).id
        if new_team != user.team_id:
            changes["team_id"] = [str(user.team_id) if user.team_id else None, str(new_team)]
            user.team_id = new_team
    if manager is not None:
        new_manager = user_by_name(session, manager).id
        if new_manager == user.id:
            raise ValidationError("users.manager", "a user cannot manage themself")
        changes["manager_id"] = [str(user.manager_id) if user.manager_id else None, str(new_manager)]
        user.manager_id = new_manager
    if password is not None:
        user.password_hash = hash_password(password)
        changes["password"] = [MASK, MASK]
    if changes:
        session.flush()
        log.add("users", user.id, "update", changes)
    return user


def create_role(session: Session, log: AuditLog, name: str, description: str | None = None) -> Role:
    if session.scalar(select(Role.id).where(Role.name == name)) is not None:
        raise ValidationError("roles.name", f"a role called {name!r} exists")
    role = Role(id=uuid.uuid4(), name=name, description=description)
    session.add(role)
    session.flush()
    log.add("roles", role.id, "create", {"name": [None, name]})
    return role


def _check_module(module: str) -> None:
    if module != "*" and module not in RECORD_MODELS:
        raise ValidationError("module", f"{module!r} is not a module (or *); modules: {', '.join(RECORD_MODELS)}")


@dataclass(frozen=True)
class Grant:
    """What ``grant`` did to a role's permission in a module: its actions and scope before (None: it had
    none) and after."""

    role: str
    module: str
    before: tuple[tuple[str, ...], str] | None
    after: tuple[tuple[str, ...], str]

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def describe(self) -> str:
        """``role: module: before -> after`` for people."""
        def show(p: tuple[tuple[str, ...], str] | None) -> str:
            return "nothing" if p is None else f"{','.join(p[0]) or 'nothing'} on {p[1]} records"
        return f"{self.role}: {self.module}: {show(self.before)} -> {show(self.after)}"


def grant(session: Session, log: AuditLog, role: str, module: str, actions: Iterable[str], scope: str | None = None,
          *, replace: bool = False) -> Grant:
    """Let ``role`` do ``actions`` in ``module`` (``*`` for all), over the records of ``scope``.

    The actions are added to those the role has in the module; its scope (``own`` for a new permission) stays
    unless ``scope`` names another. Taking actions away or changing the scope needs ``replace=True``, which
    sets exactly ``actions`` and ``scope``; without it such a change is a ValidationError saying what it
    would replace. Returns the permission before and after.
    """
    _check_module(module)
    acts = set(actions)
    bad = acts - set(ACTIONS)
    if bad:
        raise ValidationError("actions", f"{', '.join(sorted(bad))}: not one of {', '.join(ACTIONS)}")
    if scope is not None and scope not in SCOPES:
        raise ValidationError("scope", f"{scope!r} is not one of {', '.join(SCOPES)}")
    r = role_by_name(session, role)
    perm = session.get(Permission, (r.id, module))
    before = None if perm is None else (tuple(a for a in ACTIONS if getattr(perm, f"can_{a}")), perm.scope)
    if before is None or replace:
        wanted = acts
        new_scope = scope or (before[1] if before is not None else "own")
    else:
        if scope is not None and scope != before[1]:
            raise ValidationError("scope", f"{role} has {module} on {before[1]} records; granting on {scope} records "
                                  "would replace that: pass --replace (replace=True) to change the scope")
        wanted, new_scope = acts | set(before[0]), before[1]
    after = (tuple(a for a in ACTIONS if a in wanted), new_scope)
    result = Grant(role, module, before, after)
    if not result.changed:
        return result
    if perm is None:
        perm = Permission(role_id=r.id, module=module)
        session.add(perm)
    for a in ACTIONS:
        setattr(perm, f"can_{a}", a in wanted)
    perm.scope = new_scope
    session.flush()
    log.add("roles", r.id, "grant", {module: [None if before is None else {"actions": list(before[0]),
                                                                           "scope": before[1]},
                                              {"actions": list(after[0]), "scope": new_scope}]})
    return result


def field_rule(session: Session, log: AuditLog, role: str, module: str, field: str, rule: str | None) -> None:
    """Hide or mask a field for a role (``rule=None`` removes the rule)."""
    _check_module(module)
    if rule is not None and rule not in FIELD_RULES:
        raise ValidationError("rule", f"{rule!r} is not one of {', '.join(FIELD_RULES)}")
    r = role_by_name(session, role)
    existing = session.get(FieldRule, (r.id, module, field))
    if rule is None:
        if existing is not None:
            session.delete(existing)
    elif existing is None:
        session.add(FieldRule(role_id=r.id, module=module, field=field, rule=rule))
    else:
        existing.rule = rule
    session.flush()
    log.add("roles", r.id, "field_rule", {f"{module}.{field}": [existing.rule if existing else None, rule]})


def assign_role(session: Session, log: AuditLog, username: str, role: str) -> None:
    """Give a user a role."""
    user, r = user_by_name(session, username), role_by_name(session, role)
    if session.get(UserRole, (user.id, r.id)) is None:
        session.add(UserRole(user_id=user.id, role_id=r.id))
        session.flush()
        log.add("users", user.id, "assign_role", {"role": [None, role]})


def revoke_role(session: Session, log: AuditLog, username: str, role: str) -> None:
    """Take a role away from a user."""
    user, r = user_by_name(session, username), role_by_name(session, role)
    link = session.get(UserRole, (user.id, r.id))
    if link is not None:
        session.delete(link)
        session.flush()
        log.add("users", user.id, "revoke_role", {"role": [role, None]})
