"""No actor is unrestricted by default: system roles come from the register_system_roles hook, admin
permissions from roles (or is_admin), and an actor with neither reads and writes nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from hub.core import users
from hub.core.access import ALL_ADMIN, SystemRole, load_profile, merge_system_roles
from hub.core.actor import Actor, Context
from hub.core.audit import AuditLog
from hub.core.models import AdminPermission
from hub.core.store import Store
from hub.errors import AccessDenied, ConfigError
from hub.hookspecs import hookimpl
from hub.plugins import plugin_manager


def test_the_builtin_roles_are_declared_through_the_hook(store: Store) -> None:
    roles = store.system_roles
    assert roles["system"] == SystemRole(records=True, admin=ALL_ADMIN)
    assert roles["connector"] == SystemRole(records=True)


@pytest.mark.parametrize("actor", [
    Actor("system", "rogue"),                      # a system actor naming no role
    Actor("system", "rogue", role="superuser"),    # naming a role nobody declared
    Actor("api_token", "tok", id="t1"),            # a token acting for no user
    Actor("connector", "erp", id="erp"),           # a connector built by hand, without its role
])
def test_an_actor_without_user_or_declared_role_can_read_and_write_nothing(store: Store, actor: Actor) -> None:
    with store.writing(Context.system("test")) as tx:
        account = tx.create("accounts", {"name": "Visible to the system"})
    ctx = Context(actor, "test")
    for read in (lambda tx: tx.query("accounts"), lambda tx: tx.count("accounts"),
                 lambda tx: tx.get("accounts", account["id"])):
        with pytest.raises(AccessDenied), store.reading(ctx) as tx:
            read(tx)
    with store.reading(ctx) as tx:
        assert not tx.profile.may("users.read")
    with pytest.raises(AccessDenied), store.writing(ctx) as tx:
        tx.create("accounts", {"name": "Sneaked in"})
    with pytest.raises(AccessDenied), store.writing(ctx) as tx:
        tx.update("accounts", account["id"], {"name": "Renamed"})
    with store.reading(Context.system("test")) as tx:
        assert [a["name"] for a in tx.query("accounts")] == ["Visible to the system"]


def test_a_connector_writes_records_but_holds_no_admin_permission(store: Store) -> None:
    ctx = Context(Actor.connector("erp"), "erp")
    with store.writing(ctx) as tx:
        tx.create("accounts", {"name": "From the ERP"})
        assert not tx.profile.may("connectors.read")
        with pytest.raises(AccessDenied, match=r"needs admin permission connectors\.manage"):
            tx.profile.require_admin("connectors.manage")


class ReportingPlugin:
    @hookimpl
    def register_system_roles(self) -> dict[str, SystemRole]:
        return {"reporting": SystemRole(records=False, admin=frozenset({"runs.read"}))}


def test_a_plugin_declares_a_role_of_its_own(store: Store) -> None:
    own = Store(store.engine, store.keyring, plugins=plugin_manager([ReportingPlugin()], entry_points=False))
    ctx = Context(Actor.system("nightly-report", role="reporting"), "report")
    with own.reading(ctx) as tx:
        assert tx.profile.may("runs.read") and not tx.profile.may("runs.manage")
        with pytest.raises(AccessDenied):  # records=False
            tx.query("accounts")


def test_a_role_declared_twice_or_with_an_unknown_permission_is_a_configuration_error() -> None:
    role = SystemRole(records=True)
    with pytest.raises(ConfigError, match="'x' is declared twice"):
        merge_system_roles([{"x": role}, {"x": role}])
    with pytest.raises(ValueError, match="unknown admin permissions"):
        SystemRole(records=True, admin=frozenset({"everything.manage"}))


def test_admin_permissions_come_from_roles_and_manage_includes_read(store: Store) -> None:
    with Session(store.engine) as s:
        log = AuditLog(s, Context.system("test"), store.keyring.audit_key)
        log.lock()
        role = users.create_role(s, log, "ops")
        s.add(AdminPermission(role_id=role.id, permission="connectors.manage"))
        plain = users.create_user(s, log, "plain")
        ops = users.create_user(s, log, "ops.person", roles=["ops"])
        boss = users.create_user(s, log, "boss", is_admin=True)
        log.flush()
        s.commit()
        profiles = {u.username: load_profile(s, Actor.for_user(u.id, u.username)) for u in (plain, ops, boss)}
    assert not profiles["plain"].may("connectors.read")
    assert profiles["ops.person"].may("connectors.read") and profiles["ops.person"].may("connectors.manage")
    assert not profiles["ops.person"].may("users.read")
    assert profiles["boss"].admin == ALL_ADMIN
    with pytest.raises(ValueError, match="not an admin permission"):
        profiles["boss"].may("connectors.delete")
    assert uuid.UUID(str(ops.id))
