"""The composition root (hub.root.Hub): one plugin manager, built once, behind the store, the connector
types and the transforms; create_app and the CLI hold a Hub; the store never builds a plugin manager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pluggy
import pytest

from hub.app import create_app
from hub.cli import CliState
from hub.config import Settings
from hub.core.crypto import Keyring
from hub.core.db import make_engine
from hub.core.store import Store
from hub.hookspecs import hookimpl
from hub.root import Hub
from hub.sync.connector import Connector


class Shouting(Connector):
    """A connector type only the extra plugin knows."""


class Extra:
    """One plugin for every hook a Hub's pieces call."""

    @hookimpl
    def register_connectors(self) -> dict[str, Any]:
        return {"shouting": Shouting}

    @hookimpl
    def register_transforms(self) -> dict[str, Any]:
        return {"shout": lambda _options: str.upper}


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=sqlite_url, var_dir=tmp_path / "var")


def test_one_plugin_manager_behind_the_store_the_types_and_the_transforms(settings: Settings) -> None:
    extra = Extra()
    hub = Hub.from_settings(settings, extra_plugins=[extra])
    assert isinstance(hub.plugins, pluggy.PluginManager) and hub.plugins.is_registered(extra)
    assert hub.settings is settings
    assert hub.store.plugins is hub.plugins
    assert hub.store is hub.store  # built once
    assert hub.connector_types["shouting"] is Shouting and "files" in hub.connector_types
    assert hub.transforms["shout"](None)("quiet") == "QUIET" and "strip" in hub.transforms
    assert hub.celery.main == "hub"


def test_each_hub_has_its_own_plugin_manager(settings: Settings) -> None:
    one, two = Hub.from_settings(settings), Hub.from_settings(settings)
    assert one.plugins is not two.plugins
    assert "shouting" not in one.connector_types


def test_create_app_holds_a_hub(settings: Settings) -> None:
    app = create_app({"TESTING": True}, settings=settings)
    hub = app.extensions["hub"]
    assert isinstance(hub, Hub) and hub.settings is settings
    assert app.extensions["hub.store"] is hub.store
    given = Hub.from_settings(settings, extra_plugins=[Extra()])
    app = create_app({"TESTING": True}, hub=given)
    assert app.extensions["hub"] is given and app.extensions["hub.store"] is given.store
    assert app.config["HUB_SETTINGS"] is settings
    assert app.test_client().get("/healthz").status_code == 200


def test_the_cli_state_holds_a_hub(settings: Settings) -> None:
    state = CliState(_settings=settings)
    assert isinstance(state.hub, Hub) and state.hub is state.hub
    assert state.hub.settings is settings
    assert state.store is state.hub.store and state.store.plugins is state.hub.plugins


def test_the_store_refuses_to_be_built_without_plugins(settings: Settings) -> None:
    keyring = Keyring.from_config(settings.encryption_keys, settings.blind_index_key)
    engine = make_engine(settings.database_url)
    try:
        with pytest.raises(TypeError):
            Store(engine, keyring)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="plugin manager"):
            Store(engine, keyring, plugins=None)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            Store.from_settings(settings)  # type: ignore[call-arg]
    finally:
        engine.dispose()
