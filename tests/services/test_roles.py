"""hub.services.roles: roles, module grants, field rules, role assignments and admin permissions, changed with
roles.manage and listed with roles.read (the CLI's `hub roles admin` is tested in tests/cli/test_access_cli.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hub.core.actor import Context
from hub.core.store import Store
from hub.errors import ValidationError
from hub.services import roles, users
from hub.services.roles import FieldRuleInfo, ModuleGrant
from tests.services.auditing import SYSTEM, assert_chain_intact, assert_refused, events, last_by, person

OPERATIONS: dict[str, tuple[str, Callable[[Store, Context], object]]] = {
    "create_role": ("roles.manage", lambda s, c: roles.create_role(s, c, "auditor", "reads the trail")),
    "grant": ("roles.manage", lambda s, c: roles.grant(s, c, "rep", "contacts", ["read", "update"], "team")),
    "field_rule": ("roles.manage", lambda s, c: roles.field_rule(s, c, "rep", "contacts", "email", "masked")),
    "assign_role": ("roles.manage", lambda s, c: roles.assign_role(s, c, "target", "other")),
    "revoke_role": ("roles.manage", lambda s, c: roles.revoke_role(s, c, "target", "rep")),
    "grant_admin": ("roles.manage", lambda s, c: roles.grant_admin(s, c, "rep", ["connectors.read"])),
    "revoke_admin": ("roles.manage", lambda s, c: roles.revoke_admin(s, c, "rep", ["runs.read"])),
    "list_roles": ("roles.read", lambda s, c: roles.list_roles(s, c)),
}


def _setup(store: Store) -> None:
    roles.create_role(store, SYSTEM, "rep")
    roles.create_role(store, SYSTEM, "other")
    roles.grant_admin(store, SYSTEM, "rep", ["runs.read"])
    users.create_user(store, SYSTEM, "target", roles=["rep"])


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_operation_is_refused_without_its_permission_and_audited(store: Store, operation: str) -> None:
    _setup(store)
    permission, call = OPERATIONS[operation]
    nobody, holder = person(store, "nobody"), person(store, "holder", [permission])
    assert_refused(store, nobody, permission, lambda: call(store, nobody))
    call(store, holder)
    assert_chain_intact(store)


def test_changes_are_audited_with_actor_source_and_before_after(store: Store) -> None:
    _setup(store)
    holder = person(store, "holder", ["roles.manage"])
    roles.create_role(store, holder, "auditor")
    assert last_by(store, "roles", "create", holder) == {"name": [None, "auditor"]}
    done = roles.grant(store, holder, "auditor", "contacts", ["read"], "all")
    assert done.describe() == "auditor: contacts: nothing -> read on all records"
    assert last_by(store, "roles", "grant", holder) == {"contacts": [None, {"actions": ["read"], "scope": "all"}]}
    roles.field_rule(store, holder, "auditor", "contacts", "email", "hidden")
    assert last_by(store, "roles", "field_rule", holder) == {"contacts.email": [None, "hidden"]}
    roles.assign_role(store, holder, "target", "auditor")
    assert last_by(store, "users", "assign_role", holder) == {"role": [None, "auditor"]}
    roles.revoke_role(store, holder, "target", "rep")
    assert last_by(store, "users", "revoke_role", holder) == {"role": ["rep", None]}

    added = roles.grant_admin(store, holder, "auditor", ["audit.read", "users.read"])
    assert added.describe() == "auditor: admin: nothing -> audit.read,users.read" and added.changed
    assert last_by(store, "roles", "grant_admin", holder) == {"admin": [[], ["audit.read", "users.read"]]}
    assert not roles.grant_admin(store, holder, "auditor", ["audit.read"]).changed  # nothing to do, no event
    dropped = roles.revoke_admin(store, holder, "auditor", ["users.read", "keys.read"])
    assert (dropped.before, dropped.after) == (("audit.read", "users.read"), ("audit.read",))
    assert last_by(store, "roles", "revoke_admin", holder) == {"admin": [["audit.read", "users.read"],
                                                                         ["audit.read"]]}
    assert len(events(store, "roles", "grant_admin")) == 2  # _setup's and the holder's; the no-op adds none
    assert_chain_intact(store)


def test_list_roles_shows_grants_field_rules_and_admin_permissions(store: Store) -> None:
    _setup(store)
    roles.grant(store, SYSTEM, "rep", "contacts", ["read", "update"], "team")
    roles.field_rule(store, SYSTEM, "rep", "contacts", "email", "masked")
    roles.grant_admin(store, SYSTEM, "rep", ["users.manage"])
    reader = person(store, "reader", ["roles.read"])
    found = {r.name: r for r in roles.list_roles(store, reader)}
    assert list(found) == ["other", "reader-role", "rep"]
    rep = found["rep"]
    assert rep.grants == (ModuleGrant("contacts", ("read", "update"), "team"),)
    assert rep.field_rules == (FieldRuleInfo("contacts", "email", "masked"),)
    assert rep.admin == ("runs.read", "users.manage")
    assert found["reader-role"].admin == ("roles.read",) and found["other"].grants == ()


def test_unknown_admin_permissions_are_a_validation_error_naming_them(store: Store) -> None:
    _setup(store)
    with pytest.raises(ValidationError, match=r"bogus\.manage, users\.write: not an admin permission"):
        roles.grant_admin(store, SYSTEM, "rep", ["users.read", "users.write", "bogus.manage"])
    with pytest.raises(ValidationError, match=r"users\.delete"):
        roles.revoke_admin(store, SYSTEM, "rep", ["users.delete"])
    with pytest.raises(ValidationError, match="no role called 'nobody'"):
        roles.grant_admin(store, SYSTEM, "nobody", ["users.read"])
    with pytest.raises(ValidationError, match="at least one"):
        roles.grant_admin(store, SYSTEM, "rep", [" "])
    assert {r.name: r.admin for r in roles.list_roles(store, SYSTEM)}["rep"] == ("runs.read",)


def test_a_users_manager_cannot_give_themself_more_power(store: Store) -> None:
    _setup(store)
    manager = person(store, "manager", ["users.manage"])
    assert_refused(store, manager, "roles.manage",
                   lambda: roles.grant_admin(store, manager, "manager-role", ["keys.manage"]))
    assert_refused(store, manager, "roles.manage", lambda: roles.assign_role(store, manager, "manager", "rep"))
    assert {r.name: r.admin for r in roles.list_roles(store, SYSTEM)}["manager-role"] == ("users.manage",)
    assert users.list_users(store, SYSTEM)[0].roles == ("manager-role",)
    assert_chain_intact(store)


def test_field_rules_name_a_field_of_the_module(store: Store) -> None:
    _setup(store)
    with pytest.raises(ValidationError, match="no_such_field"):
        roles.field_rule(store, SYSTEM, "rep", "contacts", "no_such_field", "hidden")
    roles.field_rule(store, SYSTEM, "rep", "contacts", "email", None)  # visible: fine even without a rule
