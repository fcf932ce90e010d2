"""Offboarding as a plugin: a leaver's open records go to their manager and their user is disabled.

A built-in ``record_changed`` implementation: when employees change (an HR sync, an import, a person in
the console), hub.people.offboarding hands over the open records of those who are now leavers (status
``terminated`` or past their termination date) and disables their users, in the same transaction and
audited as the system actor ``offboarding``. It runs last (``trylast``), after plugins.org_sync has
linked employees to users and managers in that same transaction.

A ``register_periodic_jobs`` implementation too: the beat tick runs the sweep (hub.people.offboarding.sweep)
for termination dates that pass with no HR change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hub.core.change import Change
from hub.hookspecs import hookimpl
from hub.people import offboarding


@hookimpl(trylast=True)
def record_changed(tx: Any, module: str, changes: Sequence[Change]) -> None:
    """Offboard the leavers among the employees that changed."""
    if module != "employees":
        return
    ids = [c.record_id for c in changes if c.action in ("created", "updated", "restored")]
    if ids:
        offboarding.offboard(tx, ids)


@hookimpl
def register_periodic_jobs() -> Mapping[str, Callable[[Any, dt.datetime], int]]:
    """The offboarding sweep, on every beat tick."""
    return {"offboarded": sweep}


def sweep(store: Any, now: dt.datetime) -> int:
    """Offboard the leavers whose termination date has come (``now`` in local time); how many were offboarded."""
    return len(offboarding.sweep(store, today=now.astimezone().date()))  # the local date, as before
