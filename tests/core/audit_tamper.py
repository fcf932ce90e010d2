"""What an intruder with write access to the database (but not Hub's keys) can do to the audit trail.

Shared by the core and CLI tests of the chain. Without the audit-chain key the best an intruder can do
to "fix up" the chain after a change is to recompute it the way an unkeyed chain was computed (SHA-256),
which is what ``rechain_from`` does.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.core.models import AuditEvent

_HASHED = ("actor_kind", "actor_id", "actor_name", "source", "request_id", "module", "record_id", "action", "changes")


def _field(text: str | None) -> str:
    return "-" if text is None else f"{len(text)}:{text}"


def _unkeyed(row: Any, prev: str) -> str:
    at = row.at.isoformat(timespec="microseconds")
    fields = "|".join(_field(getattr(row, k)) for k in _HASHED)
    return hashlib.sha256(f"{row.seq}|{at}|{fields}|{prev}".encode()).hexdigest()


def rechain_from(engine: sa.Engine, seq: int) -> None:
    """Recompute every link from ``seq`` on (and the head row) as an unkeyed SHA-256 chain."""
    with engine.begin() as conn:
        prev = conn.execute(sa.text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": seq - 1}).scalar()
        prev = prev or "0" * 64
        rows = Session(bind=conn).scalars(sa.select(AuditEvent).where(AuditEvent.seq >= seq)
                                          .order_by(AuditEvent.seq)).all()
        for row in rows:
            new = _unkeyed(row, prev)
            conn.execute(sa.text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": new, "s": row.seq})
            prev = new
        last = conn.execute(sa.text("SELECT max(seq) FROM audit_events")).scalar() or 0
        conn.execute(sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": last, "h": prev})


def forge(engine: sa.Engine, seq: int) -> None:
    """Change what event ``seq`` says and re-chain everything after it."""
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET changes = :c WHERE seq = :s"),
                     {"c": '{"name":[null,"Forged"]}', "s": seq})
    rechain_from(engine, seq)


def remove(engine: sa.Engine, seq: int, renumber: bool = False) -> None:
    """Delete event ``seq``; with ``renumber`` close the gap and re-chain, as if it had never been."""
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = :s"), {"s": seq})
        if renumber:
            later = conn.execute(sa.text("SELECT seq FROM audit_events WHERE seq > :s ORDER BY seq"),
                                 {"s": seq}).scalars().all()
            for n in later:
                conn.execute(sa.text("UPDATE audit_events SET seq = :m WHERE seq = :n"), {"m": n - 1, "n": n})
    if renumber:
        rechain_from(engine, seq)


def swap(engine: sa.Engine, a: int, b: int) -> None:
    """Swap events ``a`` and ``b`` (their numbers), then re-chain from the first."""
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET seq = -1 WHERE seq = :a"), {"a": a})
        conn.execute(sa.text("UPDATE audit_events SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
        conn.execute(sa.text("UPDATE audit_events SET seq = :b WHERE seq = -1"), {"b": b})
    rechain_from(engine, min(a, b))


def append(engine: sa.Engine) -> int:
    """Append a copy of the last event as a new one, chained the unkeyed way; return its seq."""
    with engine.begin() as conn:
        last = conn.execute(sa.text("SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1")).mappings().one()
        row = {**last, "seq": last["seq"] + 1, "changes": '{"name":[null,"Slipped in"]}'}
        row.pop("id", None)
        cols = ", ".join(row)
        conn.execute(sa.text(f"INSERT INTO audit_events ({cols}) VALUES ({', '.join(':' + c for c in row)})"), row)
    rechain_from(engine, row["seq"])
    return int(row["seq"])


def cut_tail(engine: sa.Engine, keep: int) -> None:
    """Delete every event after ``keep`` and rewind the head row to it."""
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq > :k"), {"k": keep})
        h = conn.execute(sa.text("SELECT hash FROM audit_events WHERE seq = :k"), {"k": keep}).scalar_one()
        conn.execute(sa.text("UPDATE audit_head SET seq = :k, hash = :h WHERE id = 1"), {"k": keep, "h": h})
