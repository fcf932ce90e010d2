"""Every pluggy hook of Hub, typed, one docstring each.

Built-in features register through these same hooks (see hub.plugins). A test checks that every
hook here is documented in docs/hooks.md and exercised by a test.
"""

from __future__ import annotations

from collections.abc import Mapping
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
