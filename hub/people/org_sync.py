"""Org sync: employees and org units from an HR system become users' teams and managers and a team tree.

The reporting lines and teams kept here are what the ``subordinates`` access scope follows (users.manager_id,
teams.parent_id and teams.manager_id), so an HR sync keeps who-sees-what in step with the org chart.

**Employees** land through the sync engine (any connector, any mapping that writes ``employees``). In the
same transaction, ``on_employees_changed`` (the ``record_changed`` hook of plugins/org_sync.py) does:

1. *link*: an employee with no ``user_id`` whose e-mail is exactly one user's (and no other employee's
   user) is linked to that user;
2. *reporting line*: the custom field ``manager_number`` (the manager's employee number, written by the
   mapping; ``install`` defines it) sets ``manager_id``; it works both ways, so a manager who lands after
   their reports is linked to them too; a cleared ``manager_number`` clears ``manager_id``;
3. *users*: the user of each linked employee joins the team named after the employee's ``department``
   (created when missing) and reports to the user of the employee's manager.

**Org units** (``apply_org_units``; hub.people.org_units reads them from a connector) become teams: a unit
is bound to its team through the bindings table (so a renamed unit renames its team), an existing team
of the same name is adopted, a missing one is created; then parents (by the parent's id, or its name)
and managers (the user of the unit manager's employee record) are set. A parent that would make a cycle
is refused and reported.

Every change is audited: employees through the store's write path, users and teams through
hub.core.users and ``set_team``, all as the system actor ``org-sync`` with the triggering request id.
Nothing changes when nothing differs, so syncing again writes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from hub.core import binding as bindings
from hub.core import users
from hub.core.actor import Actor, Context
from hub.core.audit import AuditLog
from hub.core.change import Change
from hub.core.models import Binding, Employee, Team, User
from hub.core.modules import define_custom_field
from hub.core.types import new_id, utcnow
from hub.core.write import Row

if TYPE_CHECKING:
    from hub.core.store import Tx

log = logging.getLogger("hub.org_sync")
ACTOR = "org-sync"
MANAGER_FIELD = "manager_number"
ORG_STREAM = "org_units"
EMPLOYEE_STREAM = "employees"
_UNSET: Any = object()


# -- acting as the system inside another writer's transaction ------------------------------------------
@contextmanager
def acting_as(tx: Tx, name: str) -> Iterator[Tx]:
    """A Tx in ``tx``'s transaction acting as the system actor ``name`` (same request id).

    It shares the session (so its changes commit or roll back with the caller's) and the audit log, whose
    actor is switched for the block: the caller's events so far are flushed first under the caller's
    actor, the block's under ``name``. While the block runs, ``acting(tx, name)`` is true, so a hook that
    the block's own writes trigger can tell and not react to itself.
    """
    from hub.core.store import Tx as StoreTx

    ctx = Context(Actor.system(name), name, request_id=tx.ctx.request_id)
    audit = tx.audit
    audit.flush()
    before = audit.ctx
    audit.ctx = ctx
    sub = StoreTx(tx.store, tx.session, ctx, write=True)
    sub.audit = audit
    flag = f"hub.acting_as.{name}"
    nested = tx.session.info.get(flag, 0)
    tx.session.info[flag] = nested + 1
    try:
        yield sub
        audit.flush()
    finally:
        audit.ctx = before
        tx.session.info[flag] = nested


def acting(tx: Tx, name: str) -> bool:
    """Whether ``tx``'s transaction is inside ``acting_as(..., name)``."""
    return bool(tx.session.info.get(f"hub.acting_as.{name}"))


def install(session: Any, audit: AuditLog) -> bool:
    """Define the custom field ``employees.manager_number`` (idempotent); True when it was added."""
    from hub.core.modules import module_def

    if MANAGER_FIELD in module_def("employees", session).fields:
        return False
    row = define_custom_field(session, "employees", MANAGER_FIELD, "text",
                              label="Manager's employee number (from the HR system)")
    audit.add("custom_fields", row.id, "create",
              {"field": [None, f"employees.{MANAGER_FIELD}"], "kind": [None, "text"]})
    return True


# -- employees -> links, reporting lines, users' teams and managers ------------------------------------
def on_employees_changed(tx: Tx, changes: Sequence[Change]) -> None:
    """React to employees created or updated in ``tx`` (see the module docstring)."""
    if acting(tx, ACTOR):
        return
    mod = tx.module("employees")
    touched = {c.record_id: c.fields for c in changes if c.action in ("created", "updated", "restored")}
    rows = {i: r for i, r in tx.load_raw(mod, touched).items() if r["deleted_at"] is None}
    if not rows:
        return
    updates: dict[uuid.UUID, dict[str, Any]] = {}
    _link_users(tx, rows, updates)
    if MANAGER_FIELD in mod.fields:
        _reporting_lines(tx, rows, touched, updates)
    with acting_as(tx, ACTOR) as sub:
        if updates:
            result = sub.write_many("employees", [Row(values, id=rid) for rid, values in updates.items()])
            for r in result.rejected:
                log.warning("org sync: employee %s not updated: %s", list(updates)[r.index], r.error)
        assign_users(sub, set(rows) | set(updates))


def _link_users(tx: Tx, rows: Mapping[uuid.UUID, Mapping[str, Any]], updates: dict[uuid.UUID, dict[str, Any]]) -> None:
    wanted = {str(r["email"]).lower(): rid for rid, r in rows.items() if r["user_id"] is None and r["email"]}
    if not wanted:
        return
    found: dict[str, list[uuid.UUID]] = {}
    for uid, email in tx.session.execute(select(User.id, func.lower(User.email)).where(
            func.lower(User.email).in_(list(wanted)))):
        found.setdefault(email, []).append(uid)
    candidates = {email: ids[0] for email, ids in found.items() if len(ids) == 1}
    taken = set(tx.session.scalars(select(Employee.user_id).where(
        Employee.user_id.in_(list(candidates.values())), Employee.deleted_at.is_(None))))
    for email, uid in candidates.items():
        if uid not in taken:
            updates.setdefault(wanted[email], {})["user_id"] = uid


def _reporting_lines(tx: Tx, rows: Mapping[uuid.UUID, Mapping[str, Any]], touched: Mapping[uuid.UUID, Sequence[str]],
                     updates: dict[uuid.UUID, dict[str, Any]]) -> None:
    mod = tx.module("employees")
    wants = {rid: (r.get("custom") or {}).get(MANAGER_FIELD) for rid, r in rows.items()}
    by_number = tx.ids_by_value(mod, "employee_number", sorted({n for n in wants.values() if n}))
    for rid, number in wants.items():
        current = rows[rid]["manager_id"]
        if number:
            hits = by_number.get(number, [])
            if len(hits) == 1 and hits[0] not in (rid, current):
                updates.setdefault(rid, {})["manager_id"] = hits[0]
        elif current is not None and MANAGER_FIELD in touched.get(rid, ()):
            updates.setdefault(rid, {})["manager_id"] = None  # HR cleared the manager
    mine = {r["employee_number"]: rid for rid, r in rows.items()}
    reports = tx.ids_by_value(mod, MANAGER_FIELD, sorted(mine))
    report_rows = tx.load_raw(mod, [i for ids in reports.values() for i in ids if i not in rows])
    for number, ids in reports.items():
        for rep in ids:
            row = rows.get(rep) or report_rows.get(rep)
            if row is not None and row["deleted_at"] is None and rep != mine[number] \
                    and row["manager_id"] != mine[number] and "manager_id" not in updates.get(rep, {}):
                updates.setdefault(rep, {})["manager_id"] = mine[number]


def assign_users(tx: Tx, employee_ids: set[uuid.UUID]) -> None:
    """Give the users of these employees (and of their direct reports) their team and manager."""
    mod = tx.module("employees")
    session, audit = tx.session, tx.audit
    reports = set(session.scalars(select(Employee.id).where(
        Employee.manager_id.in_(list(employee_ids)), Employee.user_id.is_not(None), Employee.deleted_at.is_(None))))
    rows = tx.load_raw(mod, employee_ids | reports)
    managers = tx.load_raw(mod, {r["manager_id"] for r in rows.values() if r["manager_id"] is not None})
    user_ids = {r["user_id"] for r in rows.values()} | {r["user_id"] for r in managers.values()}
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_([u for u in user_ids if u])))}
    teams = {t.name: t for t in session.scalars(select(Team))}
    for row in rows.values():
        user = people.get(row["user_id"])
        if user is None or row["deleted_at"] is not None:
            continue
        department = (row["department"] or "").strip()
        if department:
            team = teams.get(department)
            if team is None:
                team = teams[department] = users.create_team(session, audit, department)
            if user.team_id != team.id:
                users.set_user(session, audit, user.username, team=department)
        boss_row = managers.get(row["manager_id"]) if row["manager_id"] is not None else None
        boss = people.get(boss_row["user_id"]) if boss_row is not None else None
        if boss is not None and boss.id != user.id and user.manager_id != boss.id:
            users.set_user(session, audit, user.username, manager=boss.username)


# -- org units -> teams --------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrgUnit:
    """One org unit as an HR system gives it: its id and name, its parent and its manager."""

    external_id: str
    name: str
    parent_id: str | None = None
    parent_name: str | None = None
    manager_number: str | None = None
    manager_ref: str | None = None

    @classmethod
    def from_data(cls, external_id: str, data: Mapping[str, Any]) -> OrgUnit:
        """From an ``org_units`` record: ``displayName`` (or ``name``), ``parent: {value, display}`` and
        ``manager: {value, employeeNumber}`` (the SCIM connector's shape)."""
        parent: Mapping[str, Any] = data["parent"] if isinstance(data.get("parent"), Mapping) else {}
        manager: Mapping[str, Any] = data["manager"] if isinstance(data.get("manager"), Mapping) else {}
        text = lambda v: str(v).strip() if v not in (None, "") else None  # noqa: E731
        return cls(external_id, str(data.get("displayName") or data.get("name") or external_id).strip(),
                   text(parent.get("value")), text(parent.get("display")),
                   text(manager.get("employeeNumber")), text(manager.get("value")))


@dataclass
class OrgReport:
    """What applying org units did."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def set_team(session: Any, audit: AuditLog, team: Team, *, name: str | None = None, parent: Any = _UNSET,
             manager: Any = _UNSET) -> bool:
    """Rename a team or change its parent or manager (team or user ids; None clears); audited. True if changed."""
    changes: dict[str, list[Any]] = {}
    if name is not None and name != team.name:
        changes["name"] = [team.name, name]
        team.name = name
    for column, value in (("parent_id", parent), ("manager_id", manager)):
        if value is not _UNSET and getattr(team, column) != value:
            old = getattr(team, column)
            changes[column] = [None if old is None else str(old), None if value is None else str(value)]
            setattr(team, column, value)
    if changes:
        session.flush()
        audit.add("teams", team.id, "update", changes)
    return bool(changes)


def apply_org_units(tx: Tx, source: str, units: Sequence[OrgUnit]) -> OrgReport:
    """Make the teams match ``units`` of connector instance ``source`` (see the module docstring)."""
    session, audit, report = tx.session, tx.audit, OrgReport()
    bound = bindings.find(session, source, ORG_STREAM, [u.external_id for u in units]) if units else {}
    teams = {t.id: t for t in session.scalars(select(Team))}
    by_name = {t.name: t for t in teams.values()}
    resolved: dict[str, Team] = {}
    changed: set[str] = set()
    for u in units:
        team = teams.get(bound[u.external_id]) if u.external_id in bound else None
        if team is None:
            team = by_name.get(u.name)
            if team is None:
                team = users.create_team(session, audit, u.name)
                teams[team.id], by_name[team.name] = team, team
                report.created.append(u.name)
            _bind(session, source, u.external_id, team.id, exists=u.external_id in bound)
        elif team.name != u.name:
            if u.name in by_name:
                report.problems.append(f"{u.name}: cannot rename team {team.name!r}, the name is taken")
            else:
                del by_name[team.name]
                set_team(session, audit, team, name=u.name)
                by_name[u.name] = team
                changed.add(u.name)
        resolved[u.external_id] = team
    bosses = _manager_users(tx, source, units)
    for u in units:
        team = resolved[u.external_id]
        parent: Any = _UNSET
        if u.parent_id is None and u.parent_name is None:
            parent = None
        else:
            found = resolved.get(u.parent_id or "") or by_name.get(u.parent_name or "")
            if found is None:
                report.problems.append(f"{u.name}: parent {u.parent_name or u.parent_id!r} is not a known org unit")
            elif _ancestor(teams, found, team):
                report.problems.append(f"{u.name}: parent {found.name!r} would make a cycle; left as it was")
            else:
                parent = found.id
        boss = bosses.get(u.external_id, _UNSET)
        if set_team(session, audit, team, parent=parent, manager=boss):
            changed.add(u.name)
    for u in units:
        if u.name not in report.created:
            (report.updated if u.name in changed else report.unchanged).append(u.name)
    return report


def _bind(session: Any, source: str, external_id: str, team_id: uuid.UUID, exists: bool) -> None:
    if exists:
        row = session.scalar(select(Binding).where(Binding.connector == source, Binding.stream == ORG_STREAM,
                                                   Binding.external_id == external_id))
        row.record_id, row.updated_at = team_id, utcnow()
        return
    now = utcnow()
    session.add(Binding(id=new_id(), connector=source, stream=ORG_STREAM, external_id=external_id, module="teams",
                        record_id=team_id, created_at=now, updated_at=now))
    session.flush()


def _ancestor(teams: Mapping[uuid.UUID, Team], candidate: Team, team: Team) -> bool:
    """Whether ``team`` is ``candidate`` or one of its ancestors (so it cannot be ``team``'s parent)."""
    seen: set[uuid.UUID] = set()
    node: Team | None = candidate
    while node is not None and node.id not in seen:
        if node.id == team.id:
            return True
        seen.add(node.id)
        node = teams.get(node.parent_id) if node.parent_id is not None else None
    return False


def _manager_users(tx: Tx, source: str, units: Sequence[OrgUnit]) -> dict[str, uuid.UUID]:
    """Unit id -> the user of its manager's employee record (units whose manager has no user are left out)."""
    mod = tx.module("employees")
    by_number = tx.ids_by_value(mod, "employee_number", sorted({u.manager_number for u in units if u.manager_number}))
    refs = sorted({u.manager_ref for u in units if u.manager_ref})
    by_ref = bindings.find(tx.session, source, EMPLOYEE_STREAM, refs) if refs else {}
    employee_of: dict[str, uuid.UUID] = {}
    for u in units:
        hits = by_number.get(u.manager_number or "", [])
        if len(hits) == 1:
            employee_of[u.external_id] = hits[0]
        elif u.manager_ref in by_ref:
            employee_of[u.external_id] = by_ref[u.manager_ref]
    rows = tx.load_raw(mod, set(employee_of.values()))
    return {unit: rows[e]["user_id"] for unit, e in employee_of.items()
            if e in rows and rows[e]["user_id"] is not None and rows[e]["deleted_at"] is None}
