"""Lineage: for each field of a record, which run, connector, source record and mapping version last set it.

Derived from what is already kept (the audit trail's field-level changes and run ids, the run rows and
the bindings), so it costs nothing at write time. Given the reader's access profile, fields hidden from
the reader are left out (``redaction.redact``), as record reads leave them out.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.access import AccessProfile
from hub.core.audit import history
from hub.core.models import Binding
from hub.core.redaction import redact
from hub.sync.models import SyncRun


@dataclass(frozen=True)
class FieldOrigin:
    field: str
    at: str
    actor: str
    action: str
    run_id: str | None = None
    stream: str | None = None
    external_id: str | None = None
    mapping: str | None = None
    mapping_version: int | None = None


def lineage(session: Session, module: str, record_id: str, profile: AccessProfile | None = None
            ) -> list[FieldOrigin]:
    """The last change of each field of one record, with its sync origin where a connector made it (only the
    fields ``profile`` may see, when given)."""
    last: dict[str, FieldOrigin] = {}
    runs: dict[str, SyncRun | None] = {}
    bindings = {(b.connector, b.stream): b.external_id for b in session.scalars(
        select(Binding).where(Binding.module == module, Binding.record_id == uuid.UUID(record_id)))}
    for ev in history(session, module, record_id):
        fields = json.loads(ev.changes)
        if profile is not None:
            fields = redact(profile, module, fields)
        run = None
        if ev.actor_kind == "connector" and ev.request_id:
            if ev.request_id not in runs:
                try:
                    runs[ev.request_id] = session.get(SyncRun, uuid.UUID(ev.request_id))
                except ValueError:
                    runs[ev.request_id] = None
            run = runs[ev.request_id]
        for name in fields:
            last[name] = FieldOrigin(
                field=name, at=ev.at.isoformat(), actor=f"{ev.actor_kind}:{ev.actor_name}", action=ev.action,
                run_id=str(run.id) if run else None, stream=run.stream if run else None,
                external_id=bindings.get((run.instance, run.stream)) if run else None,
                mapping=run.mapping if run else None, mapping_version=run.mapping_version if run else None)
    return [last[k] for k in sorted(last)]
