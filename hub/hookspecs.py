"""Every pluggy hook of Hub, typed, one docstring each.

Built-in features register through these same hooks (see hub.plugins). A test checks that every
hook here is documented in docs/hooks.md and exercised by a test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("hub")
hookimpl = pluggy.HookimplMarker("hub")


@hookspec
def register_transforms() -> Mapping[str, Any]:
    """Return mapping transforms to add, as ``{name: factory}``.

    A factory takes the transform's options (``None``, a scalar, a list or a dict, as written in the
    spec) and returns a function of one value. It raises ``ValueError`` for bad options (the spec is
    rejected with the path of the option) and the returned function raises ``ValueError`` for a value
    it cannot transform (the record is quarantined). All implementations are called; a name given twice
    is a configuration error.
    """
    return {}


@hookspec
def register_connectors() -> Mapping[str, Any]:
    """Return connector classes to add, as ``{type_name: ConnectorClass}``.

    Each class derives from ``hub.sync.connector.Connector``. All implementations are called; a type
    name given twice is a configuration error. Built-in connectors register through this same hook.
    """
    return {}


@hookspec
def record_changed(tx: Any, module: str, changes: Sequence[Any]) -> None:
    """Called inside the writing transaction after a batch of records of ``module`` changed.

    ``changes`` are ``hub.core.store.Change`` items (record id, action: created, updated, deleted or
    restored, and the changed field names). Anything written through ``tx.session`` commits or rolls
    back with the change itself; the built-in outbox uses this. Keep it quick: writers wait for it.
    """


@hookspec
def register_system_roles() -> Mapping[str, Any]:
    """Return system roles to declare, as ``{name: hub.core.access.SystemRole}``.

    An actor that is not a user (``Actor.system(name, role=...)``, ``Actor.connector(...)``) acts under the
    declared role its ``role`` names; an actor whose role nobody declared may read and write nothing. The
    built-ins ``system`` and ``connector`` come from ``hub.core.system_roles``. All implementations are
    called; a name declared twice is a configuration error.
    """
    return {}


@hookspec
def register_periodic_jobs() -> Mapping[str, Any]:
    """Return jobs for the beat tick to run, as ``{name: job}``.

    The tick (``hub.sync.tick``, every HUB_SYNC_TICK_SECONDS) calls each ``job(store, now)`` with the
    worker's store and the time of the tick (aware, UTC), after it has queued the scheduled runs. A job
    returns a count of what it did (or ``None``); the tick reports it under the job's name. A job that
    raises is logged and the others still run. A job runs on every tick: one that should run daily
    decides for itself whether there is anything to do. All implementations are called; a name given
    twice is a configuration error.
    """
    return {}


@hookspec
def register_module_rules() -> Mapping[str, Any]:
    """Return rules of record modules that field validation cannot express, as ``{module: rule or [rules]}``.

    A rule is called in the write path with ``(session, row, cache, edit)``: the full new row of a record
    being created or updated (it may set values, as a deal's status follows its stage), a dict its calls
    share within one transaction, and a ``hub.core.rules.Edit`` (the fields the writer gave and, on update,
    those that changed). It raises ``hub.errors.ValidationError`` naming the field; the record is refused
    (or, in a batch, that row alone). All implementations are called; a module's rules all apply.
    """
    return {}


@hookspec
def register_demo_systems() -> Sequence[Any]:
    """Return the sample systems this plugin brings to ``hub demo``, as ``hub.sync.demo.DemoSystem`` items.

    Each has a label, the instance it configures, ``set_up(store, var_dir) -> str`` (start the sample server
    on loopback, configure the instance and its routes, say what was done), an optional ``stop(var_dir)``
    for a server that runs as a child process, and an ``order``. The demo sets them up in order, pauses
    their instances (the servers end with the demo), and reports a system that cannot start instead of
    failing. All implementations are called.
    """
    return []
