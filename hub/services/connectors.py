"""Connector instances and their routes: add, change, route, list (secrets masked).

Permissions: ``connectors.manage`` to change, ``connectors.read`` to look. The connector types are passed in
by the caller (``Hub.connector_types`` for the CLI), never looked up here. The domain
functions of ``hub.sync.instances`` audit each change with its before and after (secrets masked).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.actor import Context
from hub.core.store import Store
from hub.services.operation import admin_change, admin_view
from hub.sync import instances
from hub.sync.connector import Connector
from hub.sync.models import ConnectorInstance, Route

TARGET = "connector_instances"


@dataclass(frozen=True)
class RouteInfo:
    stream: str
    direction: str
    module: str
    mapping: str
    schedule: str | None
    batch_size: int
    max_attempts: int
    enabled: bool


@dataclass(frozen=True)
class InstanceInfo:
    """An instance as people may see it: its settings with secrets masked, and its routes."""

    name: str
    type: str
    enabled: bool
    paused: bool
    rate_limit: float | None
    config: dict[str, Any]
    routes: list[RouteInfo]


def add_instance(store: Store, ctx: Context, types: Mapping[str, type[Connector]], name: str, type_name: str,
                 config: Mapping[str, Any]) -> InstanceInfo:
    """Configure a new instance (its config validated against the type's schema; secrets sealed)."""
    with admin_change(store, ctx, "connectors.manage", TARGET, name) as tx:
        row = instances.add_instance(tx.session, tx.audit, store.keyring, types, name, type_name, config)
        return _info(store, types, row, [])


def update_instance(store: Store, ctx: Context, types: Mapping[str, type[Connector]], name: str, *,
                    config: Mapping[str, Any] | None = None, enabled: bool | None = None,
                    paused: bool | None = None, rate_limit: float | None = None,
                    clear_rate_limit: bool = False) -> InstanceInfo:
    """Change an instance's config, enable/disable, pause/resume, or rate limit."""
    with admin_change(store, ctx, "connectors.manage", TARGET, name) as tx:
        row = instances.update_instance(tx.session, tx.audit, store.keyring, types, name, config=config,
                                        enabled=enabled, paused=paused, rate_limit=rate_limit,
                                        clear_rate_limit=clear_rate_limit)
        return _info(store, types, row, _routes(tx.session, name))


def add_route(store: Store, ctx: Context, instance: str, stream: str, direction: str, module: str, mapping: str,
              *, schedule: str | None = None, batch_size: int = 1000, max_attempts: int = 5,
              streams: Collection[str] | None = None, replace: bool = False) -> instances.RouteChange:
    """Route ``stream`` of ``instance`` to ``module`` through ``mapping`` (see ``hub.sync.instances.add_route``;
    ``streams`` are the streams the connector offers, from ``known_streams``)."""
    with admin_change(store, ctx, "connectors.manage", "sync_routes", f"{instance}/{stream}") as tx:
        return instances.add_route(tx.session, tx.audit, instance, stream, direction, module, mapping,
                                   schedule=schedule, batch_size=batch_size, max_attempts=max_attempts,
                                   streams=streams, replace=replace)


def list_instances(store: Store, ctx: Context, types: Mapping[str, type[Connector]]) -> list[InstanceInfo]:
    """Every instance, by name, with its routes (by stream) and its config with secrets masked."""
    with admin_view(store, ctx, "connectors.read", TARGET) as tx:
        rows = tx.session.scalars(select(ConnectorInstance).order_by(ConnectorInstance.name)).all()
        return [_info(store, types, row, _routes(tx.session, row.name)) for row in rows]


def show_instance(store: Store, ctx: Context, types: Mapping[str, type[Connector]], name: str) -> InstanceInfo:
    """One instance (ConfigError listing the instances when there is none called ``name``)."""
    with admin_view(store, ctx, "connectors.read", TARGET, name) as tx:
        row = instances.get_instance(tx.session, name)
        return _info(store, types, row, _routes(tx.session, name))


def connect(store: Store, ctx: Context, types: Mapping[str, type[Connector]], name: str) -> Connector:
    """The live connector of instance ``name`` (for checking it or listing its streams); the caller closes it.

    Needs ``connectors.read``: the connector holds the instance's secrets but shows none of them.
    """
    with admin_view(store, ctx, "connectors.read", TARGET, name) as tx:
        row = instances.get_instance(tx.session, name)
    return instances.build(store.keyring, types, row)


def known_streams(store: Store, ctx: Context, types: Mapping[str, type[Connector]], name: str) -> list[str]:
    """The names of the streams instance ``name`` offers (it connects: call it outside a transaction)."""
    with admin_view(store, ctx, "connectors.read", TARGET, name) as tx:
        row = instances.get_instance(tx.session, name)
    return instances.known_streams(store.keyring, types, row)


def _routes(session: Session, name: str) -> list[RouteInfo]:
    return [RouteInfo(r.stream, r.direction, r.module, r.mapping, r.schedule, r.batch_size, r.max_attempts,
                      r.enabled)
            for r in session.scalars(select(Route).where(Route.instance == name).order_by(Route.stream))]


def _info(store: Store, types: Mapping[str, type[Connector]], row: ConnectorInstance,
          routes: list[RouteInfo]) -> InstanceInfo:
    if row.type in types:
        config = instances.describe(store.keyring, types, row)["config"]
    else:  # a type no longer installed: which values are secret is unknown, so every one is masked
        config = dict.fromkeys(row.config, "********")
    return InstanceInfo(row.name, row.type, row.enabled, row.paused, row.rate_limit, config, routes)
