"""Matching: which existing record each row of a write names, by its match rules, within the actor's reach.

A row without an id or a binding carries match rules (``--match FIELD``, the module's natural key, an
upsert's ``match=``): tuples of fields tried in order. Each rule costs one query per field for the whole
wave, and a match counts only among the records the actor may read, as a query would: a record outside
scope is no match, so the row creates the actor's own record, exactly as for a value nobody holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from hub.errors import ValidationError

if TYPE_CHECKING:
    from hub.core.access import AccessProfile, ModuleAccess
    from hub.core.models import Record
    from hub.core.modules import ModuleDef
    from hub.core.store import Tx


class Work(Protocol):
    """What matching reads and sets of one row's work in the write path."""

    row: Any
    values: dict[str, Any]
    custom: dict[str, Any]
    record_id: uuid.UUID | None
    status: str


class Wave(Protocol):
    """What matching needs of the write path's wave."""

    tx: Tx
    mod: ModuleDef
    model: type[Record]
    access: ModuleAccess
    profile: AccessProfile

    def fail(self, w: Any, error: Exception) -> None: ...


class Matcher:
    """Resolves the unmatched rows of one wave."""

    def __init__(self, wave: Wave) -> None:
        self.wave = wave

    def resolve(self, works: Sequence[Work]) -> None:
        """Try each row's match rules in order: one query per field per rule, for the whole wave."""
        pending: Sequence[Work] = works
        depth = 0
        while pending:
            by_rule: dict[tuple[str, ...], list[Work]] = {}
            for w in pending:
                rules = w.row.match_rules
                if depth < len(rules):
                    by_rule.setdefault(rules[depth], []).append(w)
            for rule, group in by_rule.items():
                self.rule(rule, group)
            pending = [w for w in pending if w.record_id is None and w.status != "rejected"
                       and depth + 1 < len(w.row.match_rules)]
            depth += 1

    def rule(self, rule: tuple[str, ...], group: Sequence[Work]) -> None:
        """Find each row's record by the fields of ``rule`` among the records the actor may read, as a query
        would (a record outside scope is no match: the row creates the actor's own record, as a create would).
        A field the actor may not filter on (hidden or masked) cannot be matched on."""
        wave = self.wave
        mod, access = wave.mod, wave.access
        unusable = next((f for f in rule if f in access.hidden or f in access.masked), None)
        if unusable is not None:
            problem = "no such field" if unusable in access.hidden else "is masked for you, so it cannot be matched on"
            for w in group:
                wave.fail(w, ValidationError(f"{mod.name}.{unusable}", problem))
            return
        keys: dict[Work, tuple[Any, ...]] = {}
        for w in group:
            key = tuple((w.custom if mod.field(f).custom else w.values).get(f) for f in rule)
            if any(v is None or v == "" for v in key):
                if isinstance(w.row.match, str):  # one explicit field: an empty value is an error
                    wave.fail(w, ValidationError(f"{mod.name}.{rule[0]}", "is empty, so it cannot be matched on"))
                continue
            keys[w] = key
        if not keys:
            return
        hits = [wave.tx.ids_by_value(mod, f, list({k[i] for k in keys.values()})) for i, f in enumerate(rule)]
        readable = None if wave.profile.unrestricted else self.readable({rid for h in hits for v in h.values()
                                                                          for rid in v})
        for w, key in keys.items():
            ids = set(hits[0].get(key[0], []))
            for i in range(1, len(rule)):
                ids &= set(hits[i].get(key[i], []))
            if readable is not None:
                ids &= readable
            if len(ids) > 1:
                shown = ", ".join(f if mod.field(f).sensitive else f"{f}={v!r}" for f, v in zip(rule, key, strict=True))
                wave.fail(w, ValidationError(f"{mod.name}.{rule[0]}",
                                             f"{shown} matches {len(ids)} records; cannot tell which to update"))
            elif ids:
                w.record_id = ids.pop()

    def readable(self, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``ids`` the actor may read (one query per 2000 ids)."""
        model, id_list = self.wave.model, list(ids)
        found: set[uuid.UUID] = set()
        for start in range(0, len(id_list), 2000):
            found.update(self.wave.tx.session.scalars(select(model.id).where(
                model.id.in_(id_list[start:start + 2000]), self.wave.profile.scope_clause(model))))
        return found
