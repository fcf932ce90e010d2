"""Access inside the store (hub.core.access): module permissions, record scopes, hidden and masked fields."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core import audit, users
from hub.core.access import mask
from hub.core.actor import Actor, Context
from hub.core.models import AuditEvent, User
from hub.core.read import Condition
from hub.core.store import Store
from hub.errors import AccessDenied, NotFound, ValidationError
from hub.imports.csv_export import export_csv

ALL_ACTIONS = ("read", "create", "update", "delete", "export")
LABELS = ("boss", "alice", "bob", "carol", "dave", "erin", "north", "orphan")


@dataclass
class Org:
    """Teams sales > north and support; boss leads sales; alice reports to boss, bob to alice, erin to bob."""

    users: dict[str, User]
    teams: dict[str, uuid.UUID]
    contacts: dict[str, uuid.UUID]

    def ctx(self, username: str) -> Context:
        user = self.users[username]
        return Context(Actor.for_user(user.id, user.username), "test", request_id=f"req-{username}")


def as_user(user: User) -> Context:
    return Context(Actor.for_user(user.id, user.username), "test")


def denied_events(store: Store) -> list[AuditEvent]:
    with Session(store.engine) as session:
        stmt = select(AuditEvent).where(AuditEvent.action == "denied").order_by(AuditEvent.seq)
        return list(session.scalars(stmt))


@pytest.fixture
def org(store: Store, ctx: Context) -> Org:
    with store.writing(ctx) as tx:
        s, log = tx.session, tx.audit
        users.create_user(s, log, "boss")
        sales = users.create_team(s, log, "sales", manager="boss")
        north = users.create_team(s, log, "north", parent="sales")
        support = users.create_team(s, log, "support")
        users.set_user(s, log, "boss", team="sales")
        users.create_user(s, log, "alice", team="north", manager="boss", email="alice@example.com")
        users.create_user(s, log, "bob", team="north", manager="alice")
        users.create_user(s, log, "carol", team="sales")
        users.create_user(s, log, "dave", team="support")
        users.create_user(s, log, "erin", manager="bob")
        users.create_user(s, log, "root", is_admin=True)
        for scope in ("own", "team", "subordinates", "all"):
            users.create_role(s, log, f"contacts-{scope}")
            users.grant(s, log, f"contacts-{scope}", "contacts", ALL_ACTIONS, scope)
        people = {u.username: u for u in s.scalars(select(User))}
        teams = {"sales": sales.id, "north": north.id, "support": support.id}
    owners: dict[str, tuple[str | None, str | None]] = {
        "boss": ("boss", "sales"),
        "alice": ("alice", "north"),
        "bob": ("bob", "north"),
        "carol": ("carol", "sales"),
        "dave": ("dave", "support"),
        "erin": ("erin", None),
        "north": (None, "north"),
        "orphan": (None, None),
    }
    contacts: dict[str, uuid.UUID] = {}
    with store.writing(ctx) as tx:
        for label, (owner, team) in owners.items():
            record = tx.create(
                "contacts",
                {
                    "last_name": f"Person-{label}",
                    "email": f"{label}@example.com",
                    "national_id": f"NID-{label}",
                    "owner_id": people[owner].id if owner else None,
                    "team_id": teams[team] if team else None,
                },
            )
            contacts[label] = record["id"]
    return Org(people, teams, contacts)


def grant_role(store: Store, ctx: Context, username: str, role: str) -> None:
    with store.writing(ctx) as tx:
        users.assign_role(tx.session, tx.audit, username, role)


def exported(store: Store, ctx: Context, module: str = "contacts", **kwargs: Any) -> list[dict[str, str]]:
    out = io.StringIO()
    n = export_csv(store, ctx, module, out, **kwargs)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == n
    return rows


SCOPE_CASES = [
    ("alice", "own", {"alice"}),
    ("alice", "team", {"alice", "bob", "north"}),
    ("alice", "subordinates", {"alice", "bob", "erin", "north"}),
    ("boss", "subordinates", {"boss", "alice", "bob", "carol", "erin", "north"}),
    ("carol", "team", {"carol", "boss"}),
    ("erin", "team", {"erin"}),
    ("dave", "all", set(LABELS)),
]


@pytest.mark.parametrize(("username", "scope", "visible"), SCOPE_CASES, ids=[f"{u}-{s}" for u, s, _ in SCOPE_CASES])
def test_a_scope_shows_exactly_its_records(
    store: Store, ctx: Context, org: Org, username: str, scope: str, visible: set[str]
) -> None:
    grant_role(store, ctx, username, f"contacts-{scope}")
    expected = {org.contacts[label] for label in visible}
    hidden = {org.contacts[label] for label in LABELS if label not in visible}
    user_ctx = org.ctx(username)
    with store.reading(user_ctx) as tx:
        assert {c["id"] for c in tx.query("contacts")} == expected
        assert tx.count("contacts") == len(expected)
        assert {c["id"] for c in tx.search("contacts", "person", limit=100)} == expected
        assert {c["id"] for c in tx.iterate("contacts")} == expected
        assert {c["id"] for c in tx.query("contacts", [Condition("email", "~", "example.com")])} == expected
        for rid in expected:
            assert tx.get("contacts", rid)["id"] == rid
        for rid in hidden:
            with pytest.raises(NotFound) as err:
                tx.get("contacts", rid)
            assert str(err.value) == f"contacts: no record with id {rid}"
    assert {uuid.UUID(r["id"]) for r in exported(store, user_ctx)} == expected

    # Every read outside the scope was audited, although the transaction was read-only.
    denied = denied_events(store)
    assert {uuid.UUID(e.record_id or "") for e in denied} == hidden
    for e in denied:
        assert (e.actor_kind, e.actor_name, e.actor_id) == ("user", username, str(org.users[username].id))
        assert (e.module, e.source, e.request_id) == ("contacts", "test", f"req-{username}")
        assert json.loads(e.changes) == {"attempt": [None, "read"]}

    # Writing outside the scope: NotFound, nothing changes, and the attempt is audited.
    for rid in hidden:
        with pytest.raises(NotFound), store.writing(user_ctx) as tx:
            tx.update("contacts", rid, {"city": "Nowhere"})
        with pytest.raises(NotFound), store.writing(user_ctx) as tx:
            tx.delete("contacts", rid)
    attempts = [
        (uuid.UUID(e.record_id or ""), json.loads(e.changes)["attempt"][1]) for e in denied_events(store)[len(denied) :]
    ]
    assert sorted(attempts) == sorted([(rid, a) for rid in hidden for a in ("update", "delete")])
    with store.reading(ctx) as tx:
        assert all(c["city"] is None for c in tx.query("contacts"))
        assert tx.count("contacts") == len(LABELS)

    # Inside the scope the user writes.
    with store.writing(user_ctx) as tx:
        for rid in expected:
            assert tx.update("contacts", rid, {"city": "Ningbo"})["city"] == "Ningbo"
    with Session(store.engine) as session:
        assert audit.verify(session, store.keyring.audit_key).ok


def test_admins_see_and_change_everything(store: Store, ctx: Context, org: Org) -> None:
    root = org.ctx("root")
    with store.reading(root) as tx:
        assert {c["id"] for c in tx.query("contacts")} == set(org.contacts.values())
        assert tx.get("contacts", org.contacts["dave"])["national_id"] == "NID-dave"
        assert tx.query("accounts") == []
    with store.writing(root) as tx:
        tx.update("contacts", org.contacts["orphan"], {"city": "Harbin"})
        tx.create("accounts", {"name": "Acme"})
    assert len(exported(store, root)) == len(LABELS)
    assert denied_events(store) == []


def test_a_missing_permission_is_access_denied(store: Store, ctx: Context, org: Org) -> None:
    with store.writing(ctx) as tx:
        s, log = tx.session, tx.audit
        users.create_role(s, log, "reader")
        users.grant(s, log, "reader", "contacts", ["read"], "all")
        users.create_role(s, log, "editor")
        users.grant(s, log, "editor", "contacts", ["read", "update"], "all")
        users.assign_role(s, log, "alice", "reader")
        users.assign_role(s, log, "bob", "editor")
    alice, bob = org.ctx("alice"), org.ctx("bob")
    target = org.contacts["north"]

    with pytest.raises(AccessDenied) as err, store.writing(alice) as tx:
        tx.create("contacts", {"last_name": "New"})
    assert str(err.value) == "alice may not create or update contacts"
    with pytest.raises(AccessDenied) as err, store.writing(alice) as tx:
        tx.update("contacts", target, {"city": "X"})
    assert str(err.value) == "alice may not create or update contacts"
    with pytest.raises(AccessDenied) as err, store.writing(alice) as tx:
        tx.delete("contacts", target)
    assert str(err.value) == "alice may not delete contacts"
    with pytest.raises(AccessDenied) as err:
        exported(store, alice)
    assert str(err.value) == "alice may not export contacts"
    with pytest.raises(AccessDenied) as err, store.reading(alice) as tx:
        tx.query("accounts")
    assert str(err.value) == "alice may not read accounts"
    with pytest.raises(AccessDenied) as err, store.reading(alice) as tx:
        tx.get("accounts", uuid.uuid4())
    assert str(err.value) == "alice may not read accounts"

    with pytest.raises(AccessDenied) as err, store.writing(bob) as tx:
        tx.create("contacts", {"last_name": "New"})
    assert str(err.value) == "bob may not create contacts"
    with store.writing(bob) as tx:
        assert tx.update("contacts", target, {"city": "Dalian"})["city"] == "Dalian"
    with store.reading(ctx) as tx:
        assert tx.count("contacts") == len(LABELS)


def test_restore_needs_update_and_delete_needs_delete(store: Store, ctx: Context, org: Org) -> None:
    with store.writing(ctx) as tx:
        users.create_role(tx.session, tx.audit, "restorer")
        users.grant(tx.session, tx.audit, "restorer", "contacts", ["read", "update"], "all")
        users.assign_role(tx.session, tx.audit, "carol", "restorer")
        tx.delete("contacts", org.contacts["dave"])
    carol = org.ctx("carol")
    with store.writing(carol) as tx:
        tx.restore("contacts", org.contacts["dave"])
    with pytest.raises(AccessDenied) as err, store.writing(carol) as tx:
        tx.delete("contacts", org.contacts["dave"])
    assert str(err.value) == "carol may not delete contacts"
    with store.reading(ctx) as tx:
        assert tx.get("contacts", org.contacts["dave"])["deleted_at"] is None


def test_a_disabled_user_is_denied_everything(store: Store, ctx: Context, org: Org) -> None:
    grant_role(store, ctx, "alice", "contacts-all")
    with store.writing(ctx) as tx:
        users.set_user(tx.session, tx.audit, "alice", active=False)
    alice = org.ctx("alice")
    with pytest.raises(AccessDenied) as err, store.reading(alice) as tx:
        tx.query("contacts")
    assert str(err.value) == "user alice does not exist or is disabled"
    with pytest.raises(AccessDenied), store.reading(alice) as tx:
        tx.get("contacts", org.contacts["alice"])
    with pytest.raises(AccessDenied), store.writing(alice) as tx:
        tx.create("contacts", {"last_name": "New"})
    with pytest.raises(AccessDenied):
        exported(store, alice)
    ghost = Context(Actor.for_user(uuid.uuid4(), "ghost"), "test")
    with pytest.raises(AccessDenied) as err, store.reading(ghost) as tx:
        tx.count("contacts")
    assert str(err.value) == "user ghost does not exist or is disabled"
    with store.reading(ctx) as tx:
        assert tx.count("contacts") == len(LABELS)


def test_new_records_belong_to_their_creator_and_stay_in_scope(store: Store, ctx: Context, org: Org) -> None:
    grant_role(store, ctx, "alice", "contacts-own")
    alice = org.ctx("alice")
    with store.writing(alice) as tx:
        mine = tx.create("contacts", {"last_name": "Mine"})
    assert (mine["owner_id"], mine["team_id"]) == (org.users["alice"].id, org.teams["north"])
    with pytest.raises(AccessDenied) as err, store.writing(alice) as tx:
        tx.create("contacts", {"last_name": "Theirs", "owner_id": org.users["dave"].id})
    assert str(err.value) == "contacts: you may not create a record owned outside your scope"
    with pytest.raises(AccessDenied) as err, store.writing(alice) as tx:
        tx.update("contacts", mine["id"], {"owner_id": org.users["dave"].id})
    assert str(err.value) == "contacts: you may not move a record outside your scope"
    with store.reading(alice) as tx:
        assert tx.get("contacts", mine["id"])["owner_id"] == org.users["alice"].id
    [event] = [e for e in _events(store) if e.record_id == str(mine["id"])]
    assert (event.action, event.actor_kind, event.actor_name) == ("create", "user", "alice")


def _events(store: Store) -> list[AuditEvent]:
    with Session(store.engine) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


# -- fields ---------------------------------------------------------------------------------------


def _restricted_role(store: Store, ctx: Context, module: str = "contacts") -> None:
    with store.writing(ctx) as tx:
        s, log = tx.session, tx.audit
        users.create_role(s, log, "restricted")
        users.grant(s, log, "restricted", module, ALL_ACTIONS, "all")
        users.field_rule(s, log, "restricted", "contacts", "national_id", "hidden")
        users.field_rule(s, log, "restricted", "contacts", "email", "masked")
        users.field_rule(s, log, "restricted", "contacts", "phone", "masked")
        users.assign_role(s, log, "alice", "restricted")


def test_hidden_fields_never_appear_and_masked_fields_appear_masked(store: Store, ctx: Context, org: Org) -> None:
    _restricted_role(store, ctx)
    with store.writing(ctx) as tx:
        tx.update("contacts", org.contacts["bob"], {"phone": "+86 10 1234 5678"})
    alice = org.ctx("alice")
    with store.reading(alice) as tx:
        bob = tx.get("contacts", org.contacts["bob"])
        everyone = tx.query("contacts") + tx.search("contacts", "person") + list(tx.iterate("contacts"))
        with pytest.raises(ValidationError) as err:
            tx.query("contacts", [Condition("national_id", "=", "NID-bob")])
        assert str(err.value) == "contacts.national_id: no such field"
        with pytest.raises(ValidationError) as err:
            tx.query("contacts", order_by="national_id")
        assert str(err.value) == "contacts.national_id: cannot sort by this field"
    assert "national_id" not in bob
    assert bob["email"] == mask("bob@example.com") == "••••.com"
    assert bob["phone"] == mask("+861012345678") == "••••5678"
    assert bob["last_name"] == "Person-bob"
    assert all("national_id" not in c for c in everyone)
    assert all(c["email"].startswith("••••") for c in everyone)

    rows = exported(store, alice)
    assert "national_id" not in rows[0]
    assert {r["email"] for r in rows} == {mask(f"{label}@example.com") for label in LABELS}
    with pytest.raises(ValidationError) as err:
        exported(store, alice, fields=["last_name", "national_id"])
    assert str(err.value) == "contacts.national_id: no such field"

    with pytest.raises(AccessDenied) as denied, store.writing(alice) as tx:
        tx.update("contacts", org.contacts["bob"], {"national_id": "NID-new"})
    assert str(denied.value) == "contacts.national_id: is hidden from alice"
    with pytest.raises(AccessDenied), store.writing(alice) as tx:
        tx.create("contacts", {"last_name": "New", "national_id": "NID-new"})
    with store.reading(ctx) as tx:
        assert tx.get("contacts", org.contacts["bob"])["national_id"] == "NID-bob"
        assert tx.count("contacts") == len(LABELS)


def test_a_field_is_hidden_only_when_every_reading_role_hides_it(store: Store, ctx: Context, org: Org) -> None:
    _restricted_role(store, ctx)
    grant_role(store, ctx, "alice", "contacts-own")  # a second role that hides nothing
    with store.reading(org.ctx("alice")) as tx:
        record = tx.get("contacts", org.contacts["alice"])
    assert record["national_id"] == "NID-alice"
    assert record["email"] == "alice@example.com"


def test_field_rules_apply_to_a_role_granted_on_every_module(store: Store, ctx: Context, org: Org) -> None:
    _restricted_role(store, ctx, module="*")
    alice = org.ctx("alice")
    with store.reading(alice) as tx:
        record = tx.get("contacts", org.contacts["bob"])
    assert "national_id" not in record
    assert record["email"] == mask("bob@example.com")
    assert "national_id" not in exported(store, alice)[0]


def test_the_widest_scope_of_a_users_roles_wins(store: Store, ctx: Context, org: Org) -> None:
    with store.writing(ctx) as tx:
        users.create_role(tx.session, tx.audit, "everything")
        users.grant(tx.session, tx.audit, "everything", "*", ["read"], "all")
        users.assign_role(tx.session, tx.audit, "alice", "everything")
        users.assign_role(tx.session, tx.audit, "alice", "contacts-own")
    with store.reading(org.ctx("alice")) as tx:
        assert tx.count("contacts") == len(LABELS)


def test_reading_a_deleted_record_in_scope_is_not_a_denial(store: Store, ctx: Context, org: Org) -> None:
    grant_role(store, ctx, "alice", "contacts-own")
    with store.writing(ctx) as tx:
        tx.delete("contacts", org.contacts["alice"])
        tx.delete("contacts", org.contacts["orphan"])
    for reader in (ctx, org.ctx("alice")):
        with pytest.raises(NotFound), store.reading(reader) as tx:
            tx.get("contacts", org.contacts["alice"])
    assert denied_events(store) == []


def test_a_denied_read_is_audited_in_its_own_transaction(store: Store, ctx: Context, org: Org) -> None:
    grant_role(store, ctx, "alice", "contacts-own")
    with pytest.raises(NotFound), store.reading(org.ctx("alice")) as tx:
        tx.get("contacts", org.contacts["dave"])
    with Session(store.engine) as session:
        [event] = audit.history(session, "contacts", str(org.contacts["dave"]))[1:]
        verdict = audit.verify(session, store.keyring.audit_key)
    assert (event.action, event.actor_name) == ("denied", "alice")
    assert verdict.ok and verdict.head_seq == event.seq
    # An id that does not exist at all is no attempt on a record.
    with pytest.raises(NotFound), store.reading(org.ctx("alice")) as tx:
        tx.get("contacts", uuid.uuid4())
    assert len(denied_events(store)) == 1


def test_a_masked_or_hidden_field_cannot_be_matched_on(store: Store, ctx: Context, org: Org) -> None:
    """Matching on a masked field would tell, row by row, whether a record in scope holds a value the mask
    hides (it updates one, or creates one): refused like a filter on it."""
    _restricted_role(store, ctx)
    alice = org.ctx("alice")
    with pytest.raises(ValidationError) as err, store.writing(alice) as tx:
        tx.upsert("contacts", {"last_name": "Probe", "email": "bob@example.com"}, match="email")
    assert str(err.value) == "contacts.email: is masked for you, so it cannot be matched on"
    with pytest.raises(AccessDenied), store.writing(alice) as tx:
        tx.upsert("contacts", {"last_name": "Probe", "national_id": "NID-bob"}, match="national_id")
    with store.reading(ctx) as tx:
        assert tx.count("contacts") == len(LABELS)


def test_an_upsert_matches_only_records_in_scope(store: Store, ctx: Context, org: Org) -> None:
    grant_role(store, ctx, "alice", "contacts-own")
    with store.writing(org.ctx("alice")) as tx:
        held = tx.upsert("contacts", {"last_name": "Probe", "email": "bob@example.com"}, match="email")
        free = tx.upsert("contacts", {"last_name": "Probe", "email": "nobody@example.com"}, match="email")
        mine = tx.upsert("contacts", {"last_name": "Mine", "email": "alice@example.com"}, match="email")
    assert (held.status, free.status, mine.status) == ("created", "created", "updated")
    assert held.id not in org.contacts.values() and mine.id == org.contacts["alice"]
    with store.reading(ctx) as tx:
        assert tx.get("contacts", org.contacts["bob"])["last_name"] == "Person-bob"
    assert denied_events(store) == []  # nothing outside scope was even looked at
