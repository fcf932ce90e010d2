"""A dead letter as one actor may see it: its route's module access, record scope and field rules applied.

Admins, connectors and the system see a dead letter whole. A user needs read access to the module of the
letter's route, and the letter's record within scope (a letter with no record yet, one the run could not
land, only with scope ``all``); anything else answers "no dead letter", as a missing one does. In what
they may see, the payload's values of fields hidden from them are left out and those of masked fields
masked (``redaction``), and the error text has those values replaced. A payload is keyed by the external
system's field names, so the letter's mapping version says which keys carry which hub fields (a renamed
``from`` source inbound, an ``outbound.fields`` key outbound, and the hub field's own name); when it
cannot be read, the whole payload is withheld from a user who has any hidden or masked field there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import select

from hub.core.access import mask
from hub.core.redaction import WITHHELD, redact_text, withheld
from hub.errors import ConfigError, NotFound
from hub.sync.models import DeadLetter, Route

if TYPE_CHECKING:
    from hub.core.store import Tx


@dataclass(frozen=True)
class LetterView:
    """What the actor may see of one dead letter's payload and error."""

    payload: Any
    error: str


def view(tx: Tx, letter: DeadLetter, payload: Any) -> LetterView:
    """``letter``, whose payload in the clear is ``payload``, as the actor of ``tx`` may see it, or ConfigError
    "no dead letter" (see the module doc)."""
    profile = tx.profile
    if profile.unrestricted:
        return LetterView(payload, letter.error)
    missing = ConfigError(f"no dead letter {letter.id}")
    module = tx.session.scalar(select(Route.module).where(
        Route.instance == letter.instance, Route.stream == letter.stream, Route.direction == letter.direction))
    if module is None or "read" not in profile.module(module).actions:
        raise missing
    if letter.record_id is not None:
        try:
            tx.get(module, letter.record_id, include_deleted=True)
        except NotFound:
            raise missing from None
    elif profile.module(module).scope != "all":
        raise missing
    fields = withheld(profile, module)
    if not fields:
        return LetterView(payload, letter.error)
    carriers = _carriers(tx, letter, fields)
    if carriers is None or not isinstance(payload, dict):
        return LetterView(WITHHELD, redact_text(profile, module, letter.error, {}))
    hidden = profile.module(module).hidden
    shown: dict[str, Any] = {}
    quoted: dict[str, Any] = {}
    for key, value in payload.items():
        field = carriers.get(key)
        if field is None:
            shown[key] = value
            continue
        quoted[f"{field}#{key}"] = value
        if field not in hidden:
            shown[key] = mask(value) if isinstance(value, str | int | float) else WITHHELD
    error = redact_text(profile, module, letter.error, {})
    for value in quoted.values():  # every value a withheld field was given, whatever the source key
        if value is not None and value != "":
            for needle in sorted({repr(value), str(value)}, key=len, reverse=True):
                error = error.replace(needle, WITHHELD)
    return LetterView(shown, error)


def _carriers(tx: Tx, letter: DeadLetter, fields: frozenset[str]) -> dict[str, str] | None:
    """Payload key -> the withheld hub field it carries, from the letter's mapping version; None if unknown."""
    out = {f: f for f in fields}
    if letter.mapping is None or letter.mapping_version is None:
        return out
    from hub.mappings.versions import get

    try:
        data = yaml.safe_load(get(tx.session, letter.mapping, letter.mapping_version).spec)
    except Exception:  # a spec that cannot be read: the caller withholds the payload
        return None
    if not isinstance(data, dict):
        return None
    for target, rule in (data.get("fields") or {}).items():  # inbound: hub field <- source paths
        if target in fields and isinstance(rule, dict):
            for key in _top_keys(rule.get("from")):
                out[key] = target
    outbound = data.get("outbound") or {}
    for key, rule in ((outbound.get("fields") or {}) if isinstance(outbound, dict) else {}).items():
        sources = _top_keys(rule.get("from")) if isinstance(rule, dict) else []
        hit = next((s for s in sources if s in fields), None)
        if hit is not None:  # outbound: source key <- hub field
            out[_top_keys(key)[0] if _top_keys(key) else key] = hit
    return out


def _top_keys(paths: Any) -> list[str]:
    if isinstance(paths, str):
        return [re.split(r"[.\[]", paths, maxsplit=1)[0]]
    if isinstance(paths, list):
        return [k for p in paths for k in _top_keys(p)]
    if isinstance(paths, dict):
        return [k for p in paths.values() for k in _top_keys(p)]
    return []
