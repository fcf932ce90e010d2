"""Redaction: a module's values as one actor may see them, wherever they are rendered.

Record reads apply the actor's field rules in ``read.render``; everything else that shows a record's values
(the audit history, lineage, dead letters, errors that quote a value) applies the same rules through
``redact``: a field hidden from the actor is left out, a masked one is shown as ``access.mask`` shows it.
Values the audit trail already stored as ``audit.MASK`` (sensitive fields) stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.core.access import AccessProfile, mask
from hub.core.audit import MASK

#: What replaces a quoted value that the actor may not see.
WITHHELD = "(withheld)"


def _masked(value: Any) -> Any:
    return value if value is None or value == MASK else mask(value)


def redact(profile: AccessProfile, module: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (field -> value) without the fields hidden from the actor and with masked ones masked."""
    access = profile.module(module)
    if not access.hidden and not access.masked:
        return dict(values)
    return {k: _masked(v) if k in access.masked else v for k, v in values.items() if k not in access.hidden}


def redact_changes(profile: AccessProfile, module: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """An audit event's changes (field -> [before, after]) as the actor may see them."""
    access = profile.module(module)
    if not access.hidden and not access.masked:
        return dict(changes)
    out: dict[str, Any] = {}
    for k, pair in changes.items():
        if k in access.hidden:
            continue
        if k in access.masked and isinstance(pair, list | tuple):
            out[k] = [_masked(v) for v in pair]
        else:
            out[k] = _masked(pair) if k in access.masked else pair
    return out


def withheld(profile: AccessProfile, module: str) -> frozenset[str]:
    """The fields of ``module`` whose values the actor may not see in full (hidden or masked)."""
    access = profile.module(module)
    return access.hidden | access.masked


def redact_text(profile: AccessProfile, module: str, text: str, values: Mapping[str, Any]) -> str:
    """``text`` (an error message, say) with every quoted value of a field the actor may not see replaced.

    ``values`` are the record's values by field (before any rendering); each value of a hidden or masked
    field that appears in ``text``, as itself or as its ``repr``, becomes ``WITHHELD``.
    """
    fields = withheld(profile, module)
    if not fields:
        return text
    needles: set[str] = set()
    for k in fields:
        v = values.get(k)
        if v is None or v == "" or v == MASK:
            continue
        needles.update((repr(v), str(v)))
    for needle in sorted(needles, key=len, reverse=True):  # a value's repr before the value itself
        if needle:
            text = text.replace(needle, WITHHELD)
    return text
