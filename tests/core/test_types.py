"""Ids: the batch maker fills UUIDs in directly, and they must be the UUIDs ``new_id``'s layout gives."""

from __future__ import annotations

import pickle
import uuid

import pytest

from hub.core import types
from hub.core.types import _uuid7_int, new_id, new_ids


def test_new_ids_are_the_uuids_new_id_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    randoms = [bytes(range(i, i + 10)) for i in (0, 100, 246)]
    monkeypatch.setattr(types.time, "time_ns", lambda: 1_780_000_000_123_456_789)
    monkeypatch.setattr(types.os, "urandom", lambda n: b"".join(randoms)[:n])
    made = new_ids(3)
    ms = 1_780_000_000_123
    expected = [uuid.UUID(int=_uuid7_int(ms, int.from_bytes(r, "big"))) for r in randoms]
    assert made == expected
    for got, want in zip(made, expected, strict=True):
        assert (str(got), hash(got), got.bytes, got.version, got.variant) == (
            str(want), hash(want), want.bytes, 7, uuid.RFC_4122)
        assert uuid.UUID(str(got)) == got and pickle.loads(pickle.dumps(got)) == got
        assert got.is_safe is uuid.SafeUUID.unknown


def test_new_ids_are_distinct_time_ordered_and_like_new_id() -> None:
    before = new_id()
    made = new_ids(500)
    assert len(set(made)) == 500 and all(u.version == 7 for u in made)
    assert min(made).int >> 80 >= before.int >> 80  # same or later millisecond
    assert new_ids(0) == [] and new_ids(-1) == []
