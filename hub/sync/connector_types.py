"""The connector types installed: built-in and plugin connectors, collected through the hook."""

from __future__ import annotations

import pluggy

from hub.errors import ConfigError
from hub.sync.connector import Connector


def connector_types(pm: pluggy.PluginManager) -> dict[str, type[Connector]]:
    """Type name -> connector class, from every ``register_connectors`` implementation of ``pm`` (the
    process's one plugin manager: ``Hub.connector_types`` in the interfaces, the store's in the worker)."""
    found: dict[str, type[Connector]] = {}
    for result in pm.hook.register_connectors():
        for name, cls in (result or {}).items():
            if name in found:
                raise ConfigError(f"connector type {name!r} is registered twice")
            if not (isinstance(cls, type) and issubclass(cls, Connector)):
                raise ConfigError(f"connector type {name!r}: {cls!r} is not a Connector class")
            found[name] = cls
    return found
