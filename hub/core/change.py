"""A record that changed in a writing transaction, as told to ``record_changed`` hooks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    """The record, what happened to it (created, updated, deleted, restored) and which fields changed."""

    record_id: uuid.UUID
    action: str
    fields: tuple[str, ...] = ()
