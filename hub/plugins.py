"""The plugin manager: Hub's hookspecs, the built-in plugins, and the entry-point group ``hub``."""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from hub import hookspecs

#: Modules that implement hooks for Hub's own built-in features.
BUILTIN_PLUGINS: tuple[str, ...] = ("hub.mappings.builtin_transforms", "hub.sync.outbox", "connectors.files")


def plugin_manager(extra: Iterable[object] = (), entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh plugin manager with the built-ins, installed plugins and ``extra`` registered.

    ``check_pending()`` rejects hook implementations whose names match no hookspec (a misspelt hook).
    """
    import importlib

    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        pm.load_setuptools_entrypoints("hub")
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm
