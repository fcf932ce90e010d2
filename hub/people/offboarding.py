"""Offboarding: when an employee leaves, their open records go to their manager and their user is disabled.

A *leaver* is an employee whose ``status`` is ``terminated`` or whose ``termination_date`` has passed
(today or earlier). For a leaver linked to a user (``employees.user_id``), in the transaction that made
them one (plugins/offboarding.py calls ``offboard`` from the ``record_changed`` hook) or later from
``sweep`` (a termination date that arrives with no change in the HR system):

* **open records** owned by the user move to the *successor*: deals with status ``open``; tickets not
  ``resolved`` or ``closed`` (also as assignee); activities ``planned``; leads not ``converted``; every
  account and contact (they have no closed state). Won, lost, done and closed records keep their owner:
  they are history. Soft-deleted records are left alone.
* the **successor** is the user of the employee's manager; if that person is gone too, their manager,
  and so on up the chain; failing that the user's own manager (users.manager_id) and up; failing that the
  manager of the user's team and up the team tree. With no successor the records stay where they are
  (and the audit event says so); the user is still disabled.
* the **user is disabled** (``users.set_user(active=False)``): they can no longer sign in or act
  (``load_profile`` refuses a disabled user).

Each reassignment goes through the store's write path and the disablement through hub.core.users, as the
system actor ``offboarding`` with the triggering request id (the sync run's id), plus one ``offboard``
event on the employee summarising it. It is idempotent: a leaver whose user is disabled and who owns no
open records is left alone, so a second sync does nothing. A rehired employee's user is not enabled again
automatically: that is a decision for a person.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, or_, select, true

from hub.core import users
from hub.core.actor import Actor, Context
from hub.core.models import RECORD_MODELS, Employee, Team, User
from hub.core.write import Row
from hub.people.org_sync import acting, acting_as

if TYPE_CHECKING:
    from hub.core.store import Store, Tx

log = logging.getLogger("hub.offboarding")
ACTOR = "offboarding"
MAX_CHAIN = 50


def _open(module: str) -> ColumnElement[bool]:
    """What makes a record of ``module`` still open (accounts and contacts always are)."""
    status: Any = getattr(RECORD_MODELS[module], "status", None)
    if module == "deals":
        return status == "open"
    if module == "tickets":
        return status.not_in(("resolved", "closed"))
    if module == "activities":
        return status == "planned"
    if module == "leads":
        return status != "converted"
    return true()


#: The modules whose open records a leaver hands over, in this order.
OPEN_MODULES = ("accounts", "contacts", "leads", "deals", "activities", "tickets")


@dataclass
class Handover:
    """What offboarding did for one leaver."""

    employee_id: uuid.UUID
    username: str
    successor: str | None
    reassigned: dict[str, int] = field(default_factory=dict)
    disabled: bool = False


def is_leaver(row: Mapping[str, Any], today: dt.date) -> bool:
    """Terminated, or past the termination date."""
    ended = row.get("termination_date")
    return row.get("status") == "terminated" or (ended is not None and ended <= today)


def offboard(tx: Tx, employee_ids: Sequence[uuid.UUID], today: dt.date | None = None) -> list[Handover]:
    """Offboard the leavers among ``employee_ids`` inside ``tx`` (see the module docstring)."""
    if acting(tx, ACTOR) or not employee_ids:
        return []
    today = today or dt.date.today()
    rows = tx.load_raw(tx.module("employees"), employee_ids)
    leavers = [r for r in rows.values() if r["deleted_at"] is None and r["user_id"] is not None and is_leaver(r, today)]
    done: list[Handover] = []
    for row in leavers:
        user = tx.session.get(User, row["user_id"])
        if user is None:
            continue
        open_ids = _open_records(tx, user.id)
        successor = _successor(tx, row, user, today) if open_ids else None
        if not user.active and (successor is None or not open_ids):
            continue  # already offboarded, and nothing (more) can be handed over
        with acting_as(tx, ACTOR) as sub:
            handover = Handover(row["id"], user.username, successor.username if successor else None)
            if successor is not None:
                for module, ids in open_ids.items():
                    handover.reassigned[module] = _reassign(sub, module, ids, user.id, successor.id)
            if user.active:
                users.set_user(sub.session, sub.audit, user.username, active=False)
                handover.disabled = True
            left = {m: len(ids) for m, ids in open_ids.items()} if successor is None else {}
            sub.audit.add("employees", row["id"], "offboard", {
                "user": [user.username, None], "successor": [None, handover.successor],
                "reassigned": [None, handover.reassigned], "left_with_leaver": [None, left],
                "disabled": [None, handover.disabled]})
        done.append(handover)
    return done


def sweep(store: Store, today: dt.date | None = None, request_id: str | None = None) -> list[Handover]:
    """Offboard every leaver not offboarded yet (for termination dates that pass with no HR change)."""
    today = today or dt.date.today()
    ctx = Context(Actor.system(ACTOR), ACTOR) if request_id is None else Context(Actor.system(ACTOR), ACTOR, request_id)
    with store.writing(ctx) as tx:
        ids = list(tx.session.scalars(select(Employee.id).join(User, User.id == Employee.user_id).where(
            Employee.deleted_at.is_(None),
            or_(Employee.status == "terminated", Employee.termination_date <= today))))
        return offboard(tx, ids, today)


def _open_records(tx: Tx, user_id: uuid.UUID) -> dict[str, list[uuid.UUID]]:
    out: dict[str, list[uuid.UUID]] = {}
    for module in OPEN_MODULES:
        model: Any = RECORD_MODELS[module]
        owned = model.owner_id == user_id
        if module == "tickets":
            owned = or_(owned, model.assignee_id == user_id)
        ids = list(tx.session.scalars(select(model.id).where(owned, model.deleted_at.is_(None), _open(module))
                                      .order_by(model.id)))
        if ids:
            out[module] = ids
    return out


def _reassign(tx: Tx, module: str, ids: list[uuid.UUID], leaver: uuid.UUID, successor: uuid.UUID) -> int:
    """Hand ``ids`` over through the write path (each change audited); returns how many moved."""
    rows = []
    raw = tx.load_raw(tx.module(module), ids)
    for rid in ids:
        values: dict[str, Any] = {}
        if raw[rid]["owner_id"] == leaver:
            values["owner_id"] = successor
        if module == "tickets" and raw[rid]["assignee_id"] == leaver:
            values["assignee_id"] = successor
        if values:
            rows.append(Row(values, id=rid))
    result = tx.write_many(module, rows)
    for r in result.rejected:
        log.warning("offboarding: %s %s not reassigned: %s", module, rows[r.index].id, r.error)
    return sum(1 for r in result.results if r.status == "updated")


def _successor(tx: Tx, row: Mapping[str, Any], user: User, today: dt.date) -> User | None:
    """The first active user up the employee's chain, the user's chain, then the team tree."""
    session = tx.session
    seen: set[Any] = {row["id"]}
    manager_id = row["manager_id"]
    for _ in range(MAX_CHAIN):  # the employee's reporting line
        if manager_id is None or manager_id in seen:
            break
        seen.add(manager_id)
        boss = session.get(Employee, manager_id)
        if boss is None:
            break
        candidate = session.get(User, boss.user_id) if boss.user_id else None
        if candidate is not None and candidate.active and candidate.id != user.id and boss.deleted_at is None \
                and not is_leaver({"status": boss.status, "termination_date": boss.termination_date}, today):
            return candidate
        manager_id = boss.manager_id
    seen_users: set[uuid.UUID] = {user.id}
    node = session.get(User, user.manager_id) if user.manager_id else None
    for _ in range(MAX_CHAIN):  # the user's reporting line
        if node is None or node.id in seen_users:
            break
        if node.active:
            return node
        seen_users.add(node.id)
        node = session.get(User, node.manager_id) if node.manager_id else None
    seen_teams: set[uuid.UUID] = set()
    team = session.get(Team, user.team_id) if user.team_id else None
    for _ in range(MAX_CHAIN):  # the team tree
        if team is None or team.id in seen_teams:
            break
        seen_teams.add(team.id)
        lead = session.get(User, team.manager_id) if team.manager_id else None
        if lead is not None and lead.active and lead.id != user.id:
            return lead
        team = session.get(Team, team.parent_id) if team.parent_id else None
    return None
