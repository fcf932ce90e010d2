"""Dead letters: list, show, replay, discard.

Permissions: ``dead_letters.manage`` to replay or discard. Looking (list, show) is governed by the record
rules, as ``hub deadletters list/show`` have been (tests/cli/test_redacted_views.py): each letter is shown as
the actor's access and field rules allow (``hub.sync.letter_view``): a letter of a record the actor may not
see is left out (a user without a role sees none), withheld fields are masked. ``dead_letters.read`` is not
required on top of that. Each replay is one audit event (module
``dead_letters``) naming the letters, their status before and after and the outcome counts; each discarded
letter is one event with its status before and after.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from hub.core.actor import Context
from hub.core.store import Store
from hub.errors import ConfigError
from hub.services.operation import admin_change, admin_view
from hub.sync import deadletters as letters
from hub.sync import letter_view
from hub.sync.models import DeadLetter, open_payload

TARGET = "dead_letters"


@dataclass(frozen=True)
class Letter:
    """A dead letter as the actor may see it (``error`` and ``payload`` redacted by their field rules)."""

    id: uuid.UUID
    run_id: uuid.UUID
    instance: str
    stream: str
    direction: str
    external_id: str | None
    record_id: uuid.UUID | None
    status: str
    error_kind: str
    error: str
    mapping: str | None
    mapping_version: int | None
    attempts: int
    created_at: Any
    replayed_at: Any
    payload: Any


def list_letters(store: Store, ctx: Context, *, run_id: uuid.UUID | None = None, include_closed: bool = False
                 ) -> list[Letter]:
    """Dead letters, oldest first (open ones unless ``include_closed``), of ``run_id`` when given; those of
    records the actor may not see are left out."""
    stmt = select(DeadLetter).order_by(DeadLetter.created_at)
    if run_id is not None:
        stmt = stmt.where(DeadLetter.run_id == run_id)
    if not include_closed:
        stmt = stmt.where(DeadLetter.status == "open")
    out = []
    with store.reading(ctx) as tx:
        for d in tx.session.scalars(stmt).all():
            try:
                seen = letter_view.view(tx, d, open_payload(store.keyring, d))
            except ConfigError:  # not the actor's to see: left out, as a missing one would be
                continue
            out.append(_letter(d, seen))
    return out


def show_letter(store: Store, ctx: Context, letter_id: uuid.UUID) -> Letter:
    """One dead letter with its payload; ConfigError "no dead letter" if there is none the actor may see."""
    with store.reading(ctx) as tx:
        d = tx.session.get(DeadLetter, letter_id)
        if d is None:
            raise ConfigError(f"no dead letter {letter_id}")
        return _letter(d, letter_view.view(tx, d, open_payload(store.keyring, d)))


def replay(store: Store, ctx: Context, *, ids: Sequence[uuid.UUID] = (), run_id: uuid.UUID | None = None,
           mapping: str = "pinned") -> letters.ReplayReport:
    """Replay the open dead letters with ``ids``, or of run ``run_id``, through the ``pinned`` or ``latest``
    mapping version (``hub.sync.deadletters.replay``). ConfigError when no open letter matches."""
    if not ids and run_id is None:
        raise ConfigError("give dead letter ids or a run id")
    with admin_view(store, ctx, "dead_letters.manage", TARGET, run_id if run_id is not None else None) as tx:
        found = letters.open_letters(tx.session, run_id=run_id, ids=list(ids))
    if not found:
        raise ConfigError("no open dead letters match")
    before = {str(d.id): d.status for d in found}
    report = letters.replay(store, found, mapping)  # lands in transactions of its own
    with admin_change(store, ctx, "dead_letters.manage", TARGET, report.run_id) as tx:
        after = {str(i): status for i, status in tx.session.execute(select(DeadLetter.id, DeadLetter.status).where(
            DeadLetter.id.in_([d.id for d in found])))}
        tx.audit.add(TARGET, report.run_id, "replay", {
            "letters": [None, sorted(before)],
            "status": [before, dict(sorted(after.items()))],
            "mapping": [None, mapping],
            "replayed": [None, report.replayed], "failed": [None, report.failed],
            "requeued": [None, report.requeued], "superseded": [None, report.superseded]})
    return report


def discard(store: Store, ctx: Context, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Discard open dead letters: kept, no longer open, never replayed. ConfigError (nothing discarded) when
    one is unknown or not open."""
    if not ids:
        raise ConfigError("give dead letter ids")
    with admin_change(store, ctx, "dead_letters.manage", TARGET, ids[0] if len(ids) == 1 else None) as tx:
        done = letters.discard(tx.session, ids)
        for letter, before in done:
            tx.audit.add(TARGET, letter.id, "discard", {"status": [before, letter.status]})
        return [letter.id for letter, _ in done]


def _letter(d: DeadLetter, seen: letter_view.LetterView) -> Letter:
    return Letter(d.id, d.run_id, d.instance, d.stream, d.direction, d.external_id, d.record_id, d.status,
                  d.error_kind, seen.error, d.mapping, d.mapping_version, d.attempts, d.created_at, d.replayed_at,
                  seen.payload)
