"""The transform registry: every transform (built-in or plugin) gathered through ``register_transforms``.

A transform is a factory ``factory(options) -> function(value)``. The factory raises ``ValueError``
for bad options (``OptionError`` to point at one option key); the function raises ``ValueError``
for a value it cannot transform. A function is never called with null unless it is marked with
``handles_null`` (``default``, ``coalesce`` and ``required`` are): null passes through a chain.

The registry is built from a plugin manager and is read-only; there is no global mutable registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any, TypeVar

import pluggy

from hub.errors import ConfigError

Transform = Callable[[Any], Any]
Factory = Callable[[Any], Transform]
F = TypeVar("F", bound=Callable[..., Any])

#: Names the mapping language itself implements; no plugin may register them.
RESERVED = frozenset({"lookup"})


class OptionError(ValueError):
    """A bad transform option; ``key`` names the option (None: the options as a whole)."""

    def __init__(self, key: str | None, message: str) -> None:
        self.key = key
        super().__init__(message)


def handles_null(fn: F) -> F:
    """Mark a transform function as wanting to see nulls (most let null pass through untouched)."""
    fn.handles_null = True  # type: ignore[attr-defined]
    return fn


def wants_null(fn: Transform) -> bool:
    """True when ``fn`` is called with null values too."""
    return bool(getattr(fn, "handles_null", False))


class TransformRegistry(Mapping[str, Factory]):
    """Transform factories by name, with the plugin that registered each one."""

    def __init__(self, factories: Mapping[str, Factory], owners: Mapping[str, str]) -> None:
        self._factories = dict(factories)
        self.owners = dict(owners)

    def __getitem__(self, name: str) -> Factory:
        return self._factories[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    @classmethod
    def from_plugins(cls, pm: pluggy.PluginManager) -> TransformRegistry:
        """Call every ``register_transforms`` implementation; a name given twice is a ConfigError."""
        factories: dict[str, Factory] = {}
        owners: dict[str, str] = {}
        for impl in pm.hook.register_transforms.get_hookimpls():
            owner = impl.plugin_name
            provided = impl.function()
            if not isinstance(provided, Mapping):
                raise ConfigError(f"plugin {owner!r}: register_transforms must return a mapping")
            for name, factory in provided.items():
                if not isinstance(name, str) or not name:
                    raise ConfigError(f"plugin {owner!r}: transform names must be non-empty text")
                if name in RESERVED:
                    raise ConfigError(f"plugin {owner!r}: {name!r} is part of the mapping language")
                if not callable(factory):
                    raise ConfigError(f"plugin {owner!r}: transform {name!r} is not a factory")
                if name in factories:
                    raise ConfigError(f"transform {name!r} is registered twice: by {owners[name]!r} and by {owner!r}")
                factories[name] = factory
                owners[name] = owner
        return cls(factories, owners)


@lru_cache(maxsize=1)
def default_registry() -> TransformRegistry:
    """The registry of the built-ins and the installed plugins (entry points group ``hub``)."""
    from hub.plugins import plugin_manager

    return TransformRegistry.from_plugins(plugin_manager())


def resolve_registry(plugins: pluggy.PluginManager | TransformRegistry | None) -> TransformRegistry:
    """A registry from a plugin manager, an existing registry, or the default one (None)."""
    if plugins is None:
        return default_registry()
    if isinstance(plugins, TransformRegistry):
        return plugins
    return TransformRegistry.from_plugins(plugins)
