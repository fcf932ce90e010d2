"""Org sync: employees and org units synced from a real SCIM server through the sync engine become users'
teams and managers and a team tree, and the ``subordinates`` scope then follows the org chart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.hr.scim_demo import configure, sync_employees, with_hr_plugins
from hub.core import users
from hub.core.actor import Actor, Context
from hub.core.models import AuditEvent, Employee, Team, User
from hub.core.store import Store
from hub.people import org_sync
from hub.people.org_units import sync_org_units
from hub.sync.models import SyncRun
from hub.sync.retry import RetryPolicy
from hub.testing.scim_server import SEED_PEOPLE, ScimServer

FAST = RetryPolicy(attempts=5, max_seconds=20, initial=0.05, cap=0.5)
#: Hub users (who sign in) for some employees; none has a team or manager until the HR sync.
HUB_USERS = {"chen.jing": "manager", "wang.fang": "manager", "li.wei": "rep", "zhang.min": "rep",
             "james.miller": "manager", "emma.schmidt": "rep", "olivia.brown": "rep"}
SYSTEM = Context.system("test")


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with ScimServer() as server:
        yield server


@pytest.fixture
def hr(store: Store, scim: ScimServer) -> Store:
    """The store with the HR plugins, hub users and roles, and the ``hr`` SCIM instance configured."""
    hr_store = with_hr_plugins(store)
    with hr_store.writing(SYSTEM) as tx:
        s, log = tx.session, tx.audit
        users.create_role(s, log, "manager")
        users.create_role(s, log, "rep")
        for module in ("deals", "accounts", "contacts", "leads", "activities", "tickets"):
            users.grant(s, log, "manager", module, ["read", "create", "update"], "subordinates")
            users.grant(s, log, "rep", module, ["read", "create", "update"], "own")
        for name, role in HUB_USERS.items():
            users.create_user(s, log, name, email=f"{name}@hub.example", roles=[role])
    configure(hr_store, scim.url, scim.token, instance="hr", config={"allow_internal": ["127.0.0.1"], "page_size": 4},
              batch_size=3)
    return hr_store


def sync(store: Store, full: bool = False) -> tuple[SyncRun, org_sync.OrgReport]:
    run = sync_employees(store, "hr", retry=FAST, full=full)
    assert run.status == "succeeded", run.error
    return run, sync_org_units(store, "hr", retry=FAST)


def chart(store: Store) -> dict[str, Any]:
    """Users (team, manager), teams (parent, manager) and employees (manager, user), by name."""
    with Session(store.engine) as s:
        people = {u.id: u for u in s.scalars(select(User))}
        teams = {t.id: t for t in s.scalars(select(Team))}
        staff = {e.id: e for e in s.scalars(select(Employee))}
    name = lambda table, key, attr: getattr(table[key], attr) if key in table else None  # noqa: E731
    return {
        "users": {u.username: (name(teams, u.team_id, "name"), name(people, u.manager_id, "username"))
                  for u in people.values()},
        "teams": {t.name: (name(teams, t.parent_id, "name"), name(people, t.manager_id, "username"))
                  for t in teams.values()},
        "employees": {e.employee_number: (name(staff, e.manager_id, "employee_number"),
                                          name(people, e.user_id, "username")) for e in staff.values()},
    }


def as_user(store: Store, username: str) -> Context:
    with Session(store.engine) as s:
        user = users.user_by_name(s, username)
        return Context(Actor.for_user(user.id, user.username), "test")


def test_employees_and_org_units_become_teams_and_reporting_lines(hr: Store) -> None:
    run, report = sync(hr)
    assert (run.created, run.quarantined) == (len(SEED_PEOPLE), 0)
    # the employees run made teams of its users' departments; the org units adopt them and add the rest
    assert report.created == ["Executive Board"]
    assert sorted(report.updated) == ["Sales", "Sales China", "Sales Europe", "Support"]
    assert report.problems == []
    org = chart(hr)
    assert org["users"] == {
        "chen.jing": ("Sales", None),  # her manager, the CEO, has no hub user
        "wang.fang": ("Sales China", "chen.jing"), "li.wei": ("Sales China", "wang.fang"),
        "zhang.min": ("Sales China", "wang.fang"), "james.miller": ("Sales Europe", "chen.jing"),
        "emma.schmidt": ("Sales Europe", "james.miller"), "olivia.brown": ("Support", None),
    }
    assert org["teams"] == {
        "Executive Board": (None, None), "Sales": ("Executive Board", "chen.jing"),
        "Sales China": ("Sales", "wang.fang"), "Sales Europe": ("Sales", "james.miller"),
        "Support": ("Executive Board", "olivia.brown"),
    }
    assert org["employees"]["E1004"] == ("E1003", "li.wei")
    assert org["employees"]["E1008"] == ("E1006", None)  # no hub user: linked to nobody
    assert org["employees"]["E1001"] == (None, None)
    with Session(hr.engine) as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.actor_name == org_sync.ACTOR)))
    assert {(e.actor_kind, e.request_id) for e in events} == {("system", str(run.id))}
    assert {e.module for e in events} == {"employees", "users", "teams"}


def test_the_subordinates_scope_follows_the_synced_org_chart(hr: Store) -> None:
    sync(hr)
    with Session(hr.engine) as s:
        ids = {u.username: u.id for u in s.scalars(select(User))}
    with hr.writing(SYSTEM) as tx:
        for name in HUB_USERS:
            tx.create("accounts", {"name": f"Account of {name}", "owner_id": ids[name]})

    def visible(username: str) -> set[str]:
        with hr.reading(as_user(hr, username)) as tx:
            return {r["name"].removeprefix("Account of ") for r in tx.query("accounts")}

    assert visible("wang.fang") == {"wang.fang", "li.wei", "zhang.min"}
    assert visible("james.miller") == {"james.miller", "emma.schmidt"}
    assert visible("chen.jing") == {"chen.jing", "wang.fang", "li.wei", "zhang.min", "james.miller", "emma.schmidt"}
    assert visible("li.wei") == {"li.wei"}


def test_syncing_again_changes_nothing(hr: Store) -> None:
    sync(hr)
    with Session(hr.engine) as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    run, report = sync(hr, full=True)
    assert (run.unchanged, run.created, run.updated) == (len(SEED_PEOPLE), 0, 0)
    assert report.created == report.updated == []
    with Session(hr.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_a_move_in_the_hr_system_moves_the_user_and_their_records(hr: Store, scim: ScimServer) -> None:
    sync(hr)
    with Session(hr.engine) as s:
        li = users.user_by_name(s, "li.wei").id
    with hr.writing(SYSTEM) as tx:
        tx.create("accounts", {"name": "Li's account", "owner_id": li})
    scim.update_user("E1004", unit="Sales Europe", manager="E1006")
    run, _ = sync(hr)
    assert run.updated == 1
    org = chart(hr)
    assert org["users"]["li.wei"] == ("Sales Europe", "james.miller")
    assert org["employees"]["E1004"] == ("E1006", "li.wei")
    for manager, sees in (("wang.fang", False), ("james.miller", True)):
        with hr.reading(as_user(hr, manager)) as tx:
            assert any(r["name"] == "Li's account" for r in tx.query("accounts")) is sees


def test_a_manager_who_lands_after_their_reports_is_linked_to_them(hr: Store) -> None:
    with hr.writing(SYSTEM) as tx:  # any writer of employees, not only a sync
        users.create_user(tx.session, tx.audit, "mei.lin", email="mei.lin@hub.example")
        tx.create("employees", {"employee_number": "R1", "last_name": "Report", "email": "li.wei@hub.example",
                                "manager_number": "M1", "department": "Labs"})
    with hr.writing(SYSTEM) as tx:
        tx.create("employees", {"employee_number": "M1", "last_name": "Lin", "email": "MEI.LIN@hub.example",
                                "department": "Labs"})
    org = chart(hr)
    assert org["employees"]["R1"] == ("M1", "li.wei")
    assert org["employees"]["M1"] == (None, "mei.lin")
    assert org["users"]["li.wei"] == ("Labs", "mei.lin")
    assert org["teams"]["Labs"] == (None, None)  # made from the department; no org unit says more
    with hr.writing(SYSTEM) as tx:  # HR clears the manager: the reporting line goes too
        rid = _employee_id(tx, "R1")
        tx.update("employees", rid, {"manager_number": None})
    assert chart(hr)["employees"]["R1"] == (None, "li.wei")


def _employee_id(tx: Any, number: str) -> uuid.UUID:
    return next(r["id"] for r in tx.query("employees") if r["employee_number"] == number)


def test_org_units_renamed_moved_and_cycles(hr: Store, scim: ScimServer) -> None:
    sync(hr)
    with Session(hr.engine) as s:
        europe = s.scalar(select(Team.id).where(Team.name == "Sales Europe"))
    scim.update_group("Sales Europe", display_name="Sales EMEA")
    scim.update_group("Support", parent="Sales")
    scim.update_group("Executive Board", parent="Sales China")  # would make a cycle
    report = sync_org_units(hr, "hr", retry=FAST)
    assert sorted(report.updated) == ["Sales EMEA", "Support"]
    assert report.problems == ["Executive Board: parent 'Sales China' would make a cycle; left as it was"]
    teams = chart(hr)["teams"]
    assert teams["Sales EMEA"] == ("Sales", "james.miller") and "Sales Europe" not in teams
    assert teams["Support"] == ("Sales", "olivia.brown") and teams["Executive Board"] == (None, None)
    with Session(hr.engine) as s:
        assert s.scalar(select(Team.id).where(Team.name == "Sales EMEA")) == europe


def test_install_is_idempotent(store: Store) -> None:
    with store.writing(SYSTEM) as tx:
        assert org_sync.install(tx.session, tx.audit) is True
    with store.writing(SYSTEM) as tx:
        assert org_sync.install(tx.session, tx.audit) is False
