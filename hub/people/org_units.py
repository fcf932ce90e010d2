"""Org units into teams: read a connector's ``org_units`` stream in full and apply it (hub.people.org_sync).

Teams are not a record module, so org units cannot be a route of the sync engine; this runs beside it,
after the employees route (so unit managers can be resolved to users), with the same rules: transient
connector errors (RetryableError) are retried by the retry policy (hub.sync.retry, honouring Retry-After),
the changes commit in one transaction audited as the connector with a request id of their own, and a unit
the connector could not parse is reported, not applied. Org units are few, so each sync reads them all:
a unit whose manager's user appears later is picked up by the next sync, and nothing changes when
nothing differs.

    report = sync_org_units(store, "hr")          # -> OrgReport(created, updated, unchanged, problems)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.orm import Session

from hub.core.actor import Actor, Context
from hub.core.store import Store
from hub.errors import ConfigError
from hub.people.org_sync import ORG_STREAM, OrgReport, OrgUnit, apply_org_units
from hub.sync.connector import Connector, Record
from hub.sync.connector_types import connector_types
from hub.sync.instances import build, get_instance
from hub.sync.retry import RetryPolicy


def sync_org_units(store: Store, instance: str, *, types: Mapping[str, type[Connector]] | None = None,
                   retry: RetryPolicy | None = None, stream: str = ORG_STREAM) -> OrgReport:
    """Read every org unit of ``instance`` and make the teams match them."""
    policy = retry or RetryPolicy()
    with Session(store.engine) as session:
        inst = get_instance(session, instance)
        if not inst.enabled:
            raise ConfigError(f"connector instance {instance!r} is disabled")
    connector = build(store.keyring, types if types is not None else connector_types(store.plugins), inst)
    try:
        records = policy.call(lambda: [r for r in connector.read(stream, None) if isinstance(r, Record)])
    finally:
        connector.close()
    units = [OrgUnit.from_data(r.external_id, r.data) for r in records if r.error is None]
    ctx = Context(Actor.connector(instance), instance, request_id=f"org-units-{uuid.uuid4().hex}")
    with store.writing(ctx) as tx:
        report = apply_org_units(tx, instance, units)
    report.problems += [f"{r.external_id}: {r.error}" for r in records if r.error is not None]
    return report
