"""A run's state and counters: the counts of a batch by outcome, added to the run row and the route's
committed position (stream state), both inside the batch's own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.core.types import utcnow
from hub.sync.models import StreamState, SyncRun

COUNTS = ("read", "created", "updated", "unchanged", "deleted", "skipped", "quarantined", "written", "retries")


@dataclass
class Tally:
    """Counts of one batch (or run), by outcome."""

    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    def add(self, key: str, n: int = 1) -> None:
        self.values[key] += n


def save_state(session: Session, run: SyncRun, state: Mapping[str, Any] | None) -> None:
    """Upsert the route's committed position (inside the batch transaction), in one statement."""
    key = {"instance": run.instance, "stream": run.stream, "direction": run.direction}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(StreamState).values(**key, state=state, last_run_id=run.id, updated_at=utcnow())
    session.execute(stmt.on_conflict_do_update(
        index_elements=list(key), set_={c: stmt.excluded[c] for c in ("state", "last_run_id", "updated_at")}))


def add_counts(session: Session, run: SyncRun, tally: Tally, checkpoint: Mapping[str, Any] | None,
               set_checkpoint: bool = True) -> None:
    """Add a batch's counts to the run row (and move its checkpoint) inside the batch transaction."""
    values: dict[str, Any] = {k: getattr(SyncRun, k) + v for k, v in tally.values.items() if v}
    if set_checkpoint:
        values["checkpoint"] = checkpoint
    if values:
        session.execute(update(SyncRun).where(SyncRun.id == run.id).values(**values))
