"""Offboarding: an employee terminated in the HR system (a real SCIM server) hands their open records to their
manager on the next sync and loses access, every step audited; a second sync changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.core import users
from hub.core.access import load_profile
from hub.core.actor import Actor
from hub.core.models import AuditEvent, User
from hub.core.store import Store
from hub.errors import AccessDenied
from hub.people import offboarding
from hub.testing.scim_server import ScimServer
from tests.people.test_org_sync import SYSTEM, hr, scim, sync  # noqa: F401  (fixtures)

STAGES = [{"name": "Talking", "probability": 20, "outcome": "open"}, {"name": "Signed", "probability": 100,
                                                                       "outcome": "won"}]


def ids(store: Store) -> dict[str, uuid.UUID]:
    with Session(store.engine) as s:
        return {u.username: u.id for u in s.scalars(select(User))}


def give(store: Store, owner: str, other: str = "li.wei") -> dict[str, tuple[str, uuid.UUID]]:
    """Records of every kind owned by ``owner``, open and closed, plus one of ``other``: name -> (module, id)."""
    who = ids(store)
    o = who[owner]
    made: dict[str, tuple[str, uuid.UUID]] = {}
    with store.writing(SYSTEM) as tx:
        pipe = tx.create("pipelines", {"name": "Standard", "stages": STAGES})["id"]
        rows: list[tuple[str, str, dict[str, Any]]] = [
            ("account", "accounts", {"name": "Leaver's account", "owner_id": o}),
            ("contact", "contacts", {"last_name": "Leaver's contact", "owner_id": o}),
            ("open lead", "leads", {"last_name": "Open lead", "status": "qualified", "owner_id": o}),
            ("converted lead", "leads", {"last_name": "Done lead", "status": "converted", "owner_id": o}),
            ("open deal", "deals", {"name": "Open deal", "pipeline_id": pipe, "stage": "Talking", "owner_id": o}),
            ("won deal", "deals", {"name": "Won deal", "pipeline_id": pipe, "stage": "Signed", "owner_id": o}),
            ("planned call", "activities", {"kind": "call", "subject": "Call back", "owner_id": o}),
            ("done call", "activities", {"kind": "call", "subject": "Called", "status": "done", "owner_id": o}),
            ("assigned ticket", "tickets", {"subject": "Help", "owner_id": who[other], "assignee_id": o}),
            ("closed ticket", "tickets", {"subject": "Fixed", "status": "closed", "owner_id": o}),
            ("other's deal", "deals", {"name": "Other deal", "pipeline_id": pipe, "stage": "Talking",
                                       "owner_id": who[other]}),
        ]
        for label, module, data in rows:
            made[label] = (module, tx.create(module, data)["id"])
    return made


def owners(store: Store, made: dict[str, tuple[str, uuid.UUID]]) -> dict[str, tuple[str | None, str | None]]:
    """Label -> (owner, assignee) usernames."""
    names: dict[Any, str] = {v: k for k, v in ids(store).items()}
    out = {}
    with store.reading(SYSTEM) as tx:
        for label, (module, rid) in made.items():
            r = tx.get(module, rid)
            out[label] = (names.get(r["owner_id"]), names.get(r.get("assignee_id")))
    return out


def audit_count(store: Store) -> int:
    with Session(store.engine) as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_a_leaver_hands_over_open_records_and_loses_access(hr: Store, scim: ScimServer) -> None:  # noqa: F811
    sync(hr)
    made = give(hr, "zhang.min")
    scim.terminate("E1005", "2024-06-30")
    run, _ = sync(hr)
    assert run.updated == 1
    assert owners(hr, made) == {
        "account": ("wang.fang", None), "contact": ("wang.fang", None), "open lead": ("wang.fang", None),
        "open deal": ("wang.fang", None), "planned call": ("wang.fang", None),
        "assigned ticket": ("li.wei", "wang.fang"),
        # history keeps its owner
        "converted lead": ("zhang.min", None), "won deal": ("zhang.min", None), "done call": ("zhang.min", None),
        "closed ticket": ("zhang.min", None), "other's deal": ("li.wei", None),
    }
    with Session(hr.engine) as s:
        zhang = users.user_by_name(s, "zhang.min")
        assert zhang.active is False
        with pytest.raises(AccessDenied, match="disabled"):
            load_profile(s, Actor.for_user(zhang.id, zhang.username))
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.actor_name == offboarding.ACTOR)
                                .order_by(AuditEvent.seq)))
    assert {(e.actor_kind, e.request_id) for e in events} == {("system", str(run.id))}
    moved = {str(rid) for label, (_, rid) in made.items() if owners(hr, made)[label][0] == "wang.fang"
             or label == "assigned ticket"}
    assert {e.record_id for e in events if e.action == "update" and e.module != "users"} == moved
    assert [(e.module, e.action, e.record_id) for e in events if e.module in ("users", "employees")] == [
        ("users", "update", str(zhang.id)), ("employees", "offboard", events[-1].record_id)]
    assert '"active":[true,false]' in next(e.changes for e in events if e.module == "users")
    before = audit_count(hr)
    again, _ = sync(hr, full=True)
    assert (again.updated, again.created) == (0, 0)
    assert audit_count(hr) == before, "a second sync changes nothing"
    assert offboarding.sweep(hr) == []


def test_the_successor_skips_a_manager_who_left_too(hr: Store, scim: ScimServer) -> None:  # noqa: F811
    sync(hr)
    made = give(hr, "li.wei", other="emma.schmidt")
    with scim.same_time():
        scim.terminate("E1003", "2024-06-30")  # Wang Fang, Li Wei's manager, leaves with him
        scim.terminate("E1004", "2024-06-30")
    sync(hr)
    assert owners(hr, made)["open deal"] == ("chen.jing", None)
    with Session(hr.engine) as s:
        assert not users.user_by_name(s, "li.wei").active and not users.user_by_name(s, "wang.fang").active


def test_a_termination_date_that_passes_is_picked_up_by_the_sweep(hr: Store, scim: ScimServer) -> None:  # noqa: F811
    sync(hr)
    made = give(hr, "emma.schmidt")
    last_day = dt.date.today() + dt.timedelta(days=30)
    scim.update_user("E1007", termination_date=last_day.isoformat())  # still Active until then
    sync(hr)
    with Session(hr.engine) as s:
        assert users.user_by_name(s, "emma.schmidt").active
    assert offboarding.sweep(hr, today=last_day - dt.timedelta(days=1)) == []
    done = offboarding.sweep(hr, today=last_day)
    assert [(h.username, h.successor, h.disabled) for h in done] == [("emma.schmidt", "james.miller", True)]
    assert owners(hr, made)["open deal"] == ("james.miller", None)
    assert offboarding.sweep(hr, today=last_day) == []


def test_a_leaver_without_anyone_above_is_disabled_and_keeps_the_records(hr: Store) -> None:  # noqa: F811
    with hr.writing(SYSTEM) as tx:
        users.create_user(tx.session, tx.audit, "solo", email="solo@hub.example")
    made = give(hr, "solo")
    with hr.writing(SYSTEM) as tx:  # an employee terminated by hand, not by a sync: the same reaction
        tx.create("employees", {"employee_number": "S1", "last_name": "Solo", "email": "solo@hub.example",
                                "status": "terminated"})
    assert owners(hr, made)["open deal"] == ("solo", None)
    with Session(hr.engine) as s:
        assert not users.user_by_name(s, "solo").active
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "offboard"))
    assert event is not None and '"successor":[null,null]' in event.changes and '"deals":1' in event.changes
    before = audit_count(hr)
    with hr.writing(SYSTEM) as tx:
        emp = next(r for r in tx.query("employees") if r["employee_number"] == "S1")
        tx.update("employees", emp["id"], {"job_title": "Former engineer"})
    assert audit_count(hr) == before + 1, "only the edit itself: nothing left to offboard"
