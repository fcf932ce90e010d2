"""The composition root: the one place a process builds its settings, plugin manager and store.

    hub = Hub.from_settings()               # Settings.from_env() when none is given
    hub.store                               # the record store, over hub.plugins
    hub.connector_types                     # type name -> Connector class, from hub.plugins
    hub.transforms                          # the mapping transforms, from hub.plugins

Everything that calls hooks gets the SAME plugin manager, built once: a plugin that the process loads
(installed, named in HUB_PLUGINS, or given as ``extra_plugins``) is seen by the store's write path, the
connector types and the mapping compiler alike. ``create_app`` (hub.app) and the CLI's state
(hub.cli.CliState) hold a Hub. The Celery worker (hub.sync.tasks) sits below this layer and builds the
same pieces the same way, from one plugin manager of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import pluggy

from hub.config import Settings
from hub.core.store import Store
from hub.mappings.registry import TransformRegistry
from hub.plugins import plugin_manager
from hub.sync.connector import Connector
from hub.sync.connector_types import connector_types

if TYPE_CHECKING:
    from celery import Celery


@dataclass(frozen=True, eq=False)
class Hub:
    """Settings and the one plugin manager; the store, connector types and transforms built from them once."""

    settings: Settings
    plugins: pluggy.PluginManager

    @classmethod
    def from_settings(cls, settings: Settings | None = None, extra_plugins: Iterable[object] = ()) -> Hub:
        """A Hub for ``settings`` (default: from the environment) with one fresh plugin manager: the
        built-ins, the installed plugins, those named in HUB_PLUGINS, and ``extra_plugins``."""
        return cls(settings or Settings.from_env(), plugin_manager(extra=extra_plugins))

    @cached_property
    def store(self) -> Store:
        return Store.from_settings(self.settings, self.plugins)

    @cached_property
    def connector_types(self) -> dict[str, type[Connector]]:
        return connector_types(self.plugins)

    @cached_property
    def transforms(self) -> TransformRegistry:
        return TransformRegistry.from_plugins(self.plugins)

    @property
    def celery(self) -> Celery:
        """The Celery app the tasks are registered on (hub.sync.celery_app; its broker from HUB_BROKER_URL)."""
        from hub.sync.celery_app import app

        return app
