"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: JSON that is JSONB on PostgreSQL (indexable, containment queries) and JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def new_id() -> uuid.UUID:
    """A time-ordered UUID (version 7 layout) so new rows append to the primary-key index."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    return uuid.UUID(int=_uuid7_int(ms, rand))


_RAND_B = (1 << 62) - 1  # the random bits below a version 7 UUID's variant


def new_ids(n: int) -> list[uuid.UUID]:
    """``n`` new ids as ``new_id`` makes them, from one read of the clock and of the random source.

    The UUIDs are filled in directly (``UUID(int=...)`` checks its argument, which costs more than making the
    id: a sync run makes two per record); ``test_new_ids_are_the_uuids_new_id_makes`` holds them equal."""
    if n <= 0:
        return []
    ms = time.time_ns() // 1_000_000
    raw = os.urandom(10 * n)
    head = _uuid7_int(ms, 0)
    frm, blank, fill, safe, low = int.from_bytes, object.__new__, object.__setattr__, uuid.SafeUUID.unknown, _RAND_B
    out = []
    for i in range(0, 10 * n, 10):
        rand = frm(raw[i:i + 10], "big")
        u = blank(uuid.UUID)
        fill(u, "int", head | ((rand >> 62) & 0xFFF) << 64 | (rand & low))
        fill(u, "is_safe", safe)
        out.append(u)
    return out


def _uuid7_int(ms: int, rand: int) -> int:
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & _RAND_B
    return ((ms & ((1 << 48) - 1)) << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
