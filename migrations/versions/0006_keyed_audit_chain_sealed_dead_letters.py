"""the audit chain is re-chained under the audit-chain key (HMAC); dead-letter payloads are sealed

The keys come from the environment the upgrade runs in (HUB_BLIND_INDEX_KEY derives the audit-chain key,
HUB_ENCRYPTION_KEYS seals payloads), as for Hub itself. Before re-chaining, the existing chain is verified
under the old, unkeyed scheme: an upgrade refuses to turn a chain that is already broken (or that does not
hold the head hash given in HUB_AUDIT_EXPECT_HEAD) into a valid keyed one. After it, no event can be taken
for "old scheme": every link is a MAC. The new head is written as a signed checkpoint (var/, see
docs/audit.md) so the operator can keep verifying from where the old head they kept stood.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 12:00:00
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from alembic import op
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.config import Settings
from hub.core import audit
from hub.core.crypto import Keyring, is_encrypted
from hub.core.models import AuditEvent, AuditHead
from hub.errors import ConfigError

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_ROW = ("seq", "at", "actor_kind", "actor_id", "actor_name", "source", "request_id", "module", "record_id",
        "action", "changes")


def _unkeyed(row: dict[str, Any], prev: str) -> str:
    """The link as Hub computed it before 0006 (SHA-256, no key)."""
    fields = "|".join("-" if row[k] is None else f"{len(row[k])}:{row[k]}" for k in _ROW[2:])
    at = row["at"].isoformat(timespec="microseconds")
    return hashlib.sha256(f"{row['seq']}|{at}|{fields}|{prev}".encode()).hexdigest()


def _keyring() -> Keyring:
    settings = Settings.from_env()
    return Keyring.from_config(settings.encryption_keys, settings.blind_index_key)


def _rechain(session: Session, old: Callable[[dict[str, Any], str], str],
             new: Callable[[dict[str, Any], str], str], expect_head: str | None = None) -> tuple[int, str, str]:
    """Verify every link under ``old`` and rewrite it under ``new``; (last seq, old head, new head)."""
    old_prev = new_prev = audit.GENESIS
    seq, found = 0, expect_head is None
    for ev in list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq))):
        row = {c: getattr(ev, c) for c in _ROW}
        if ev.seq != seq + 1 or ev.prev_hash != old_prev or old(row, old_prev) != ev.hash:
            raise ConfigError(f"audit chain: event {seq + 1} is missing, changed or out of order before the "
                              "upgrade (`hub audit verify` with the previous version says more); not re-chaining "
                              "a broken chain under the new key")
        found = found or ev.hash == expect_head
        old_prev, seq = ev.hash, ev.seq
        link = new(row, new_prev)
        session.execute(update(AuditEvent).where(AuditEvent.seq == ev.seq).values(prev_hash=new_prev, hash=link))
        new_prev = link
    if not found:
        raise ConfigError("HUB_AUDIT_EXPECT_HEAD: that head hash is not in the chain: events were cut off or "
                          "rewritten before the upgrade; not re-chaining")
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=new_prev))
    return seq, old_prev, new_prev


def _letters(session: Session, keyring: Keyring, seal: bool) -> None:
    from hub.sync.models import DeadLetter, open_payload, seal_payload

    for letter in session.scalars(select(DeadLetter)):
        sealed = is_encrypted((letter.payload or {}).get("sealed"))
        if seal and not sealed:
            payload = seal_payload(keyring, letter.id, letter.payload or {})
        elif not seal and sealed:
            payload = open_payload(keyring, letter)
        else:
            continue
        session.execute(update(DeadLetter).where(DeadLetter.id == letter.id).values(payload=payload))


def upgrade() -> None:
    keyring = _keyring()
    key = keyring.audit_key
    session = Session(bind=op.get_bind())
    seq, old_head, new_head = _rechain(session, _unkeyed, lambda row, prev: audit.event_hash(key, row, prev),
                                       os.environ.get("HUB_AUDIT_EXPECT_HEAD") or None)
    _letters(session, keyring, seal=True)
    session.close()
    if seq:
        _reissue(seq, old_head, new_head)


def _reissue(seq: int, old_head: str, new_head: str) -> None:
    """Sign the re-chained head as a checkpoint in the var directory and say what happened."""
    from hub.core import audit_checkpoint

    settings = Settings.from_env()
    signer = audit_checkpoint.signing_key(settings, create=True)
    path = settings.var_dir / f"audit-checkpoint-0006-{seq}.json"
    text = audit_checkpoint.Checkpoint.sign(signer, seq, new_head).to_json(signer)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    print(json.dumps({"audit_chain_rekeyed": {"events": seq, "old_head": old_head, "new_head": new_head,
                                              "checkpoint": str(path)}}), file=sys.stderr)


def downgrade() -> None:
    keyring = _keyring()
    key = keyring.audit_key
    session = Session(bind=op.get_bind())
    _letters(session, keyring, seal=False)
    _rechain(session, lambda row, prev: audit.event_hash(key, row, prev), _unkeyed)
    session.close()
