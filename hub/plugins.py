"""The plugin manager: Hub's hookspecs, the built-in plugins, and the entry-point group ``hub``."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable

import pluggy

from hub import hookspecs

#: Modules that implement hooks for Hub's own built-in features.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "hub.core.rules",
    "hub.core.system_roles",
    "hub.mappings.builtin_transforms",
    "hub.sync.outbox",
    "connectors.files",
    "connectors.erp.odoo",
    "connectors.erp.soap",
    "connectors.finance.sftp",
    "connectors.hr.scim",
    "plugins.org_sync",
    "plugins.offboarding",
)


def plugin_manager(extra: Iterable[object] = (), entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh plugin manager with the built-ins, installed plugins and ``extra`` registered.

    Installed plugins come from the entry-point group ``hub``; modules named in HUB_PLUGINS
    (comma-separated) are registered too, for plugins that are not packaged (tests, local hooks).

    ``check_pending()`` rejects hook implementations whose names match no hookspec (a misspelt hook).
    """
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        pm.load_setuptools_entrypoints("hub")
    for name in filter(None, (m.strip() for m in os.environ.get("HUB_PLUGINS", "").split(","))):
        if pm.get_plugin(name) is None:
            pm.register(importlib.import_module(name), name=name)
    for plugin in extra:
        if not pm.is_registered(plugin):  # a built-in named again is the same plugin
            pm.register(plugin)
    pm.check_pending()
    return pm
