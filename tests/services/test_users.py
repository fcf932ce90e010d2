"""hub.services.users: users and teams, changed with users.manage, listed with users.read; is_admin users only
by an actor holding every admin permission."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hub.core import users as accounts
from hub.core.actor import Context
from hub.core.audit import MASK
from hub.core.models.access import ADMIN_PERMISSIONS
from hub.core.store import Store
from hub.errors import ValidationError
from hub.services import users
from tests.services.auditing import SYSTEM, assert_chain_intact, assert_refused, last_by, person

# -- tests ------------------------------------------------------------------------------------------------
OPERATIONS: dict[str, tuple[str, Callable[[Store, Context], object]]] = {
    "create_user": ("users.manage", lambda s, c: users.create_user(s, c, "newbie", "s3cret-pass")),
    "set_user": ("users.manage", lambda s, c: users.set_user(s, c, "target", active=False)),
    "create_team": ("users.manage", lambda s, c: users.create_team(s, c, "Sales China", parent="Sales")),
    "list_users": ("users.read", lambda s, c: users.list_users(s, c)),
    "list_teams": ("users.read", lambda s, c: users.list_teams(s, c)),
}


def _setup(store: Store) -> None:
    users.create_team(store, SYSTEM, "Sales")
    users.create_user(store, SYSTEM, "target", "s3cret-pass", team="Sales")


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_operation_is_refused_without_its_permission_and_audited(store: Store, operation: str) -> None:
    _setup(store)
    permission, call = OPERATIONS[operation]
    nobody, holder = person(store, "nobody"), person(store, "holder", [permission])
    assert_refused(store, nobody, permission, lambda: call(store, nobody))
    call(store, holder)
    assert_chain_intact(store)


def test_manage_includes_read(store: Store) -> None:
    manager = person(store, "boss", ["users.manage"])
    assert [u.username for u in users.list_users(store, manager)] == ["boss"]


def test_changes_are_audited_with_actor_source_and_before_after(store: Store) -> None:
    _setup(store)
    holder = person(store, "holder", ["users.manage"])
    info = users.create_user(store, holder, "newbie", "s3cret-pass", email="newbie@example.com", team="Sales",
                             manager="target")
    assert (info.username, info.team, info.manager, info.roles, info.is_admin) == ("newbie", "Sales", "target",
                                                                                  (), False)
    created = last_by(store, "users", "create", holder)
    assert created["username"] == [None, "newbie"] and created["password"] == [None, MASK]
    assert created["team"] == [None, "Sales"] and created["is_admin"] == [None, False]

    users.set_user(store, holder, "newbie", active=False, password="an0ther-pass")
    updated = last_by(store, "users", "update", holder)
    assert updated == {"active": [True, False], "password": [MASK, MASK]}

    team = users.create_team(store, holder, "Sales China", parent="Sales", manager="target")
    assert (team.name, team.parent, team.manager) == ("Sales China", "Sales", "target")
    assert last_by(store, "teams", "create", holder) == {"name": [None, "Sales China"], "parent": [None, "Sales"],
                                                         "manager": [None, "target"]}
    listed = {u.username: u for u in users.list_users(store, holder)}
    assert listed["newbie"].active is False and listed["holder"].roles == ("holder-role",)
    assert [(t.name, t.parent) for t in users.list_teams(store, holder)] == [("Sales", None),
                                                                             ("Sales China", "Sales")]
    assert_chain_intact(store)


def test_only_a_full_admin_may_create_or_change_an_admin_user(store: Store) -> None:
    _setup(store)
    # Every admin permission but one is not enough.
    almost = person(store, "almost", [p for p in ADMIN_PERMISSIONS if p != "keys.manage"])
    assert_refused(store, almost, "is_admin", lambda: users.create_user(store, almost, "root2", is_admin=True),
                   message="needs every admin permission")
    assert "root2" not in {u.username for u in users.list_users(store, SYSTEM)}

    admin = person(store, "root", is_admin=True)
    assert users.create_user(store, admin, "root2", is_admin=True).is_admin
    assert last_by(store, "users", "create", admin)["is_admin"] == [None, True]
    assert users.create_user(store, SYSTEM, "root3", is_admin=True).is_admin

    # Nor may a users.manage holder take over an admin account (reset its password, disable it).
    assert_refused(store, almost, "is_admin", lambda: users.set_user(store, almost, "root2", password="takeover!"),
                   message="needs every admin permission")
    users.set_user(store, almost, "target", active=False)  # an ordinary user: fine
    users.set_user(store, admin, "root2", active=False)
    assert last_by(store, "users", "update", admin) == {"active": [True, False]}
    assert_chain_intact(store)


def test_giving_roles_at_creation_also_needs_roles_manage(store: Store) -> None:
    accounts_role(store, "rep")
    manager = person(store, "manager", ["users.manage"])
    assert_refused(store, manager, "roles.manage",
                   lambda: users.create_user(store, manager, "newbie", roles=["rep"]))
    assert "newbie" not in {u.username for u in users.list_users(store, SYSTEM)}
    both = person(store, "both", ["users.manage", "roles.manage"])
    assert users.create_user(store, both, "newbie", roles=["rep"]).roles == ("rep",)
    assert last_by(store, "users", "assign_role", both) == {"role": [None, "rep"]}
    assert_chain_intact(store)


def test_bad_input_is_a_validation_error_and_changes_nothing(store: Store) -> None:
    _setup(store)
    with pytest.raises(ValidationError, match="exists"):
        users.create_user(store, SYSTEM, "target")
    with pytest.raises(ValidationError, match="no team called 'Nowhere'"):
        users.set_user(store, SYSTEM, "target", team="Nowhere")
    assert users.list_users(store, SYSTEM)[0].team == "Sales"


def accounts_role(store: Store, name: str) -> None:
    with store.writing(SYSTEM) as tx:
        accounts.create_role(tx.session, tx.audit, name)
