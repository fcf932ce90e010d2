"""Connector instances and routes: configure, encrypt secrets at rest, build the live connector.

A route names a saved mapping and, when the caller knows them, one of the connector's streams; changing an
existing route needs an explicit ``replace``. Config files are JSON or YAML objects, errors naming the place.

Secret config values (schema properties marked ``"secret": true``) are stored encrypted with the
store's keyring, bound to the instance and field; ``show`` and the audit trail see them masked.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.audit import AuditLog
from hub.core.crypto import Keyring, associated_data, is_encrypted
from hub.core.models import RECORD_MODELS
from hub.core.types import utcnow
from hub.errors import ConfigError, ConnectorError, ValidationError
from hub.logs import Redactor
from hub.sync.connector import Connector, masked, secret_fields, secret_values, validate_config
from hub.sync.models import DIRECTIONS, ConnectorInstance, Route

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,119}$")


def get_instance(session: Session, name: str) -> ConnectorInstance:
    """The instance called ``name``, or ConfigError listing the ones there are."""
    row = session.scalar(select(ConnectorInstance).where(ConnectorInstance.name == name))
    if row is None:
        names = list(session.scalars(select(ConnectorInstance.name).order_by(ConnectorInstance.name)))
        raise ConfigError(f"no connector instance {name!r}; instances: {', '.join(names) or 'none'}")
    return row


def _connector_class(types: Mapping[str, type[Connector]], type_name: str) -> type[Connector]:
    cls = types.get(type_name)
    if cls is None:
        raise ConfigError(f"no connector type {type_name!r}; types: {', '.join(sorted(types)) or 'none'}")
    return cls


def _seal(keyring: Keyring, cls: type[Connector], name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    secrets = secret_fields(cls.config_schema)
    return {k: (keyring.encrypt(json.dumps(v), associated_data("connector_instances", name, k))
                if k in secrets and v is not None else v) for k, v in config.items()}


def plain_config(keyring: Keyring, instance: ConnectorInstance) -> dict[str, Any]:
    """The instance's config with secrets decrypted (only for building the connector; never log it)."""
    return {k: (json.loads(keyring.decrypt(v, associated_data("connector_instances", instance.name, k)))
                if is_encrypted(v) else v) for k, v in instance.config.items()}


def add_instance(session: Session, log: AuditLog, keyring: Keyring, types: Mapping[str, type[Connector]],
                 name: str, type_name: str, config: Mapping[str, Any]) -> ConnectorInstance:
    """Configure a new instance after validating its config against the type's schema."""
    if not NAME.match(name):
        raise ValidationError("connector name", f"{name!r}: use lower-case letters, digits, '.', '_' or '-'")
    if session.scalar(select(ConnectorInstance.id).where(ConnectorInstance.name == name)) is not None:
        raise ValidationError("connector name", f"an instance called {name!r} exists")
    cls = _connector_class(types, type_name)
    validate_config(cls, config)
    row = ConnectorInstance(name=name, type=type_name, config=_seal(keyring, cls, name, config))
    session.add(row)
    session.flush()
    log.add("connector_instances", row.id, "create",
            {"name": [None, name], "type": [None, type_name], "config": [None, masked(cls.config_schema, config)]})
    return row


def update_instance(session: Session, log: AuditLog, keyring: Keyring, types: Mapping[str, type[Connector]],
                    name: str, *, config: Mapping[str, Any] | None = None, enabled: bool | None = None,
                    paused: bool | None = None, rate_limit: float | None = None,
                    clear_rate_limit: bool = False) -> ConnectorInstance:
    """Change an instance's config (validated, secrets re-sealed), enable/disable, pause/resume, rate limit."""
    row = get_instance(session, name)
    cls = _connector_class(types, row.type)
    changes: dict[str, list[Any]] = {}
    if config is not None:
        validate_config(cls, config)
        changes["config"] = [masked(cls.config_schema, plain_config(keyring, row)), masked(cls.config_schema, config)]
        row.config = _seal(keyring, cls, name, config)
    if clear_rate_limit:
        rate_limit = None
    elif rate_limit is not None and rate_limit <= 0:
        raise ValidationError("rate_limit", f"{rate_limit} is not a positive number of records per second")
    for field, value in (("enabled", enabled), ("paused", paused),
                         ("rate_limit", rate_limit if rate_limit is not None or clear_rate_limit else None)):
        if (value is not None or (field == "rate_limit" and clear_rate_limit)) and getattr(row, field) != value:
            changes[field] = [getattr(row, field), value]
            setattr(row, field, value)
    if changes:
        row.updated_at = utcnow()
        session.flush()
        log.add("connector_instances", row.id, "update", changes)
    return row


def build(keyring: Keyring, types: Mapping[str, type[Connector]], instance: ConnectorInstance,
          redactor: Redactor | None = None) -> Connector:
    """The live connector of an instance; its secrets are registered with ``redactor`` first."""
    cls = _connector_class(types, instance.type)
    config = plain_config(keyring, instance)
    if redactor is not None:
        redactor.add(*secret_values(cls.config_schema, config))
    return cls(config=config, name=instance.name)


def describe(keyring: Keyring, types: Mapping[str, type[Connector]], instance: ConnectorInstance) -> dict[str, Any]:
    """The instance as people and the API may see it: secrets masked."""
    cls = _connector_class(types, instance.type)
    return {"name": instance.name, "type": instance.type, "enabled": instance.enabled, "paused": instance.paused,
            "rate_limit": instance.rate_limit, "config": masked(cls.config_schema, plain_config(keyring, instance))}


@dataclass(frozen=True)
class RouteChange:
    """What ``add_route`` did: the route, whether it is new, and each setting that changed (before, after)."""

    route: Route
    created: bool
    changes: dict[str, tuple[Any, Any]]

    def describe(self) -> str:
        """The changes for people, one ``setting: before -> after`` per line ('' when nothing changed)."""
        return "\n".join(f"{k}: {_show(b)} -> {_show(a)}" for k, (b, a) in self.changes.items())


def _show(value: Any) -> str:
    return "(none)" if value is None else str(value)


def add_route(session: Session, log: AuditLog, instance: str, stream: str, direction: str, module: str,
              mapping: str, *, schedule: str | None = None, batch_size: int = 1000, max_attempts: int = 5,
              streams: Collection[str] | None = None, replace: bool = False) -> RouteChange:
    """Say that ``stream`` of ``instance`` syncs with ``module`` through ``mapping``, in ``direction``.

    ``mapping`` must be a saved mapping, and ``stream`` one of ``streams`` when they are given (the streams
    the instance's connector offers: ``known_streams``); else ConfigError naming which is unknown. Setting the
    same route again changes nothing; changing an existing route's settings needs ``replace=True``, else
    ConfigError listing each setting's value before and after.
    """
    get_instance(session, instance)
    if direction not in DIRECTIONS:
        raise ValidationError("direction", f"{direction!r} is not one of {', '.join(DIRECTIONS)}")
    if module not in RECORD_MODELS:
        raise ValidationError("module", f"{module!r} is not a module")
    if schedule is not None and not croniter.is_valid(schedule):
        raise ValidationError("schedule", f"{schedule!r} is not a cron expression (e.g. '*/15 * * * *')")
    if not 1 <= batch_size <= 50_000:
        raise ValidationError("batch_size", f"{batch_size} is not between 1 and 50000")
    if max_attempts < 1:
        raise ValidationError("max_attempts", "must be at least 1")
    if streams is not None and stream not in streams:
        raise ConfigError(f"{instance}: no stream {stream!r}; streams: {', '.join(sorted(streams)) or 'none'}")
    _check_mapping(session, mapping)
    route = session.scalar(select(Route).where(Route.instance == instance, Route.stream == stream,
                                               Route.direction == direction))
    wanted: dict[str, Any] = {"module": module, "mapping": mapping, "schedule": schedule, "batch_size": batch_size,
                              "max_attempts": max_attempts}
    changes: dict[str, tuple[Any, Any]]
    created = route is None
    if route is None:
        route = Route(instance=instance, stream=stream, direction=direction)
        session.add(route)
        changes = {k: (None, v) for k, v in wanted.items()}
    else:
        changes = {k: (getattr(route, k), v) for k, v in wanted.items() if getattr(route, k) != v}
        if changes and not replace:
            listed = "; ".join(f"{k}: {_show(b)} -> {_show(a)}" for k, (b, a) in changes.items())
            raise ConfigError(f"{instance}/{stream} ({direction}) is routed already; this would change {listed}. "
                              "Pass --replace (replace=True) to change it")
        if not changes and route.enabled:
            return RouteChange(route, False, {})
        if not route.enabled:
            changes["enabled"] = (False, True)
    for k, v in wanted.items():
        setattr(route, k, v)
    route.enabled = True
    route.last_scheduled_at = utcnow()  # the schedule counts from now: the first run is at its next time
    session.flush()
    log.add("sync_routes", route.id, "create" if created else "update",
            {k: [b, a] for k, (b, a) in changes.items()})
    return RouteChange(route, created, changes)


def _check_mapping(session: Session, name: str) -> None:
    """ConfigError when no version of mapping ``name`` is saved, naming close ones."""
    from hub.mappings.versions import latest, names

    if latest(session, name) is None:
        saved = names(session)
        close = difflib.get_close_matches(name, saved, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"mappings: {', '.join(saved) or 'none'}"
        raise ConfigError(f"no mapping named {name!r} ({hint}); save it first with `hub mapping save FILE`")


def known_streams(keyring: Keyring, types: Mapping[str, type[Connector]], instance: ConnectorInstance) -> list[str]:
    """The names of the streams the instance's connector offers (its ``discover()``), for ``add_route``.

    ConfigError when the connector cannot say (it cannot be reached or its settings are wrong): a route to
    a stream nobody has seen is not configured blindly.
    """
    live = build(keyring, types, instance)
    try:
        return [s.name for s in live.discover()]
    except ConnectorError as exc:
        raise ConfigError(f"{instance.name}: cannot list its streams ({exc}); "
                          f"see `hub connector check {instance.name}`") from exc
    finally:
        live.close()


def config_from_file(path: Path) -> dict[str, Any]:
    """A connector config from a JSON or YAML (``.yml``/``.yaml``) file; ConfigError naming the file and,
    for a syntax error, the line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    if not text.strip():
        raise ConfigError(f"{path}: the file is empty; a connector config is a JSON or YAML object")
    if path.suffix in (".yml", ".yaml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
            raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a connector config is an object, not {type(data).__name__}")
    return data


def get_route(session: Session, instance: str, stream: str, direction: str = "inbound") -> Route:
    """The route of ``stream`` of ``instance``, or ConfigError listing the instance's routes."""
    route = session.scalar(select(Route).where(Route.instance == instance, Route.stream == stream,
                                               Route.direction == direction))
    if route is None:
        routes = session.scalars(select(Route).where(Route.instance == instance))
        have = ", ".join(f"{r.stream} ({r.direction})" for r in routes) or "none"
        raise ConfigError(f"{instance}: no {direction} route for stream {stream!r}; routes: {have}")
    return route
