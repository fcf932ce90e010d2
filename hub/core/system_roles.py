"""The built-in system roles: ``system`` (Hub's own processes and the operator at the shell) and ``connector``.

They are declared through the same ``register_system_roles`` hook a plugin uses to add one (a read-only
reporting job, say), so neither is special-cased in the access model.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.core.access import ALL_ADMIN, SystemRole
from hub.hookspecs import hookimpl


@hookimpl
def register_system_roles() -> Mapping[str, SystemRole]:
    return {
        # Demo set-up, migrations' data steps, the offboarding sweep, org sync, `hub` without --as.
        "system": SystemRole(records=True, admin=ALL_ADMIN),
        # A sync run writes and reads records of any module; it changes no admin object.
        "connector": SystemRole(records=True),
    }
