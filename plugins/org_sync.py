"""Org sync as a plugin: employees that change update users' teams and managers (the subordinates scope).

A built-in ``record_changed`` implementation: when employees change, hub.people.org_sync links them to users
(by e-mail), sets their reporting lines from ``manager_number``, and gives their users the team of their
department and the user of their manager as manager, in the same transaction, audited as the system
actor ``org-sync``. It runs first (``tryfirst``), so offboarding (plugins.offboarding) sees the links.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.core.change import Change
from hub.hookspecs import hookimpl
from hub.people import org_sync


@hookimpl(tryfirst=True)
def record_changed(tx: Any, module: str, changes: Sequence[Change]) -> None:
    """Link the employees that changed to users, reporting lines and teams."""
    if module == "employees" and changes:
        org_sync.on_employees_changed(tx, changes)
