"""hub.services.connectors: instances and routes, changed with connectors.manage, listed with connectors.read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub.core.actor import Context
from hub.core.store import Store
from hub.plugins import plugin_manager
from hub.services import connectors
from hub.sync.connector import Connector
from hub.sync.connector_types import connector_types
from tests.services.auditing import assert_chain_intact, assert_refused, changes, events, people
from tests.sync.conftest import CONTACTS_SPEC, files_config, save_mapping


class Secretive(Connector):
    type_name = "secretive"
    config_schema = {"type": "object", "required": ["password"],
                     "properties": {"url": {"type": "string"}, "password": {"type": "string", "secret": True}}}


TYPES: dict[str, type[Connector]] = {**connector_types(plugin_manager(entry_points=False)), "secretive": Secretive}


# -- tests ----------------------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


OPERATIONS: dict[str, tuple[str, Callable[[Store, Context, Path], object]]] = {
    "add_instance": ("connectors.manage", lambda s, c, f: connectors.add_instance(
        s, c, TYPES, "vault", "secretive", {"url": "https://erp.example.com", "password": "hunter2"})),
    "update_instance": ("connectors.manage", lambda s, c, f: connectors.update_instance(
        s, c, TYPES, "src", paused=True)),
    "add_route": ("connectors.manage", lambda s, c, f: connectors.add_route(
        s, c, "src", "contacts", "inbound", "contacts", "contacts", schedule="*/5 * * * *")),
    "list_instances": ("connectors.read", lambda s, c, f: connectors.list_instances(s, c, TYPES)),
    "show_instance": ("connectors.read", lambda s, c, f: connectors.show_instance(s, c, TYPES, "src")),
}


def _setup(store: Store, folder: Path) -> None:
    save_mapping(store, CONTACTS_SPEC.format(name="contacts"))
    connectors.add_instance(store, Context.system("test"), TYPES, "src", "files", files_config(folder))


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_operation_is_refused_without_its_permission_and_audited(store: Store, folder: Path,
                                                                      operation: str) -> None:
    _setup(store, folder)
    permission, call = OPERATIONS[operation]
    nobody, holder = people(store, permission)
    assert_refused(store, nobody, permission, lambda: call(store, nobody, folder))
    call(store, holder, folder)
    assert_chain_intact(store)


def test_changes_are_audited_with_actor_source_and_before_after_and_secrets_masked(store: Store,
                                                                                   folder: Path) -> None:
    _setup(store, folder)
    _, holder = people(store, "connectors.manage")
    connectors.add_instance(store, holder, TYPES, "vault", "secretive",
                            {"url": "https://erp.example.com", "password": "hunter2"})
    connectors.update_instance(store, holder, TYPES, "vault", config={"url": "https://b.example.com",
                                                                      "password": "swordfish"}, paused=True)
    done = connectors.add_route(store, holder, "src", "contacts", "inbound", "contacts", "contacts",
                                streams=["contacts"])
    assert done.created
    created, updated = events(store, "connector_instances", "create")[-1], events(store, "connector_instances",
                                                                                  "update")[-1]
    route = events(store, "sync_routes", "create")[-1]
    for event in (created, updated, route):
        assert (event.actor_name, event.source) == ("holder", "cli")
        assert "hunter2" not in event.changes and "swordfish" not in event.changes
    assert changes(created)["config"] == [None, {"url": "https://erp.example.com", "password": "********"}]
    assert changes(updated)["paused"] == [False, True]
    assert changes(updated)["config"][0]["url"] == "https://erp.example.com"
    assert changes(route)["mapping"] == [None, "contacts"]
    assert_chain_intact(store)


def test_list_shows_instances_with_routes_and_secrets_masked(store: Store, folder: Path) -> None:
    _setup(store, folder)
    ctx = Context.system("test")
    connectors.add_instance(store, ctx, TYPES, "vault", "secretive", {"password": "hunter2"})
    connectors.add_route(store, ctx, "src", "contacts", "inbound", "contacts", "contacts", schedule="*/5 * * * *")
    listed = {i.name: i for i in connectors.list_instances(store, ctx, TYPES)}
    assert list(listed) == ["src", "vault"]
    assert listed["vault"].config == {"password": "********"} and listed["vault"].routes == []
    [route] = listed["src"].routes
    assert (route.stream, route.direction, route.module, route.schedule) == ("contacts", "inbound", "contacts",
                                                                            "*/5 * * * *")
    # a type no longer installed: every value masked, as which are secret is unknown
    assert connectors.list_instances(store, ctx, {})[1].config == {"password": "********"}
    assert connectors.known_streams(store, ctx, TYPES, "src") == ["contacts"]
