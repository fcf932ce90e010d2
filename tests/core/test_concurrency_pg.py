"""Upserts racing in separate processes on PostgreSQL (hub.core.store): never a duplicate record."""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.config import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEYS
from hub.core import audit
from hub.core.actor import Actor, Context
from hub.core.binding import ExternalRef
from hub.core.crypto import Keyring
from hub.core.db import make_engine
from hub.core.models import Account, AuditEvent, Binding
from hub.core.store import Store
from hub.plugins import plugin_manager

ROUNDS = 20
pytestmark = pytest.mark.postgres


def _ref(i: int) -> ExternalRef:
    return ExternalRef("erp-main", "customers", f"C-{i:03d}", remote_version="1")


def _upsert_in_lockstep(url: str, worker: int, barrier: Any, results: Any) -> None:
    """One OS process: its own engine and store; before each upsert it waits for the other process."""
    engine = make_engine(url)
    store = Store(engine, Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY), plugins=plugin_manager())
    ctx = Context(Actor.connector(f"worker-{worker}"), "race")
    try:
        for i in range(ROUNDS):
            barrier.wait(timeout=30)
            with store.writing(ctx) as tx:
                result = tx.upsert("accounts", {"name": f"Customer {i}", "tax_id": f"DE {i}"}, ref=_ref(i))
            results.put((worker, i, result.status, str(result.id)))
    except BaseException as exc:  # report, so the parent fails with the reason rather than a timeout
        results.put((worker, -1, f"error: {type(exc).__name__}: {exc}", ""))
        barrier.abort()
    finally:
        engine.dispose()


def _collect(results: Any, procs: list[Any], expected: int) -> list[tuple[int, int, str, str]]:
    outcomes: list[tuple[int, int, str, str]] = []
    deadline = time.monotonic() + 120
    while len(outcomes) < expected and time.monotonic() < deadline:
        try:
            outcomes.append(results.get(timeout=0.5))
        except queue.Empty:
            if not any(p.is_alive() for p in procs) and results.empty():
                break
    return outcomes


def test_two_processes_upserting_one_external_id_make_one_record(empty_pg_url: str) -> None:
    mp = multiprocessing.get_context("spawn")
    barrier = mp.Barrier(2)
    results = mp.Queue()
    procs = [mp.Process(target=_upsert_in_lockstep, args=(empty_pg_url, w, barrier, results)) for w in (1, 2)]
    for p in procs:
        p.start()
    try:
        outcomes = _collect(results, procs, 2 * ROUNDS)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert [o for o in outcomes if o[1] == -1] == []
    assert [p.exitcode for p in procs] == [0, 0]
    assert len(outcomes) == 2 * ROUNDS

    by_id: dict[int, list[tuple[str, str]]] = {}
    for _worker, i, status, rid in outcomes:
        by_id.setdefault(i, []).append((status, rid))
    for i in range(ROUNDS):
        # One process created the record; the other, serialised behind it, found it through the binding.
        assert sorted(s for s, _ in by_id[i]) == ["created", "unchanged"], (i, by_id[i])
        assert len({rid for _, rid in by_id[i]}) == 1, (i, by_id[i])

    engine = make_engine(empty_pg_url)
    try:
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Account)) == ROUNDS
            keys = Counter(session.execute(select(Binding.connector, Binding.stream, Binding.external_id)).all())
            assert len(keys) == ROUNDS and set(keys.values()) == {1}
            bound = set(session.scalars(select(Binding.record_id)))
            assert bound == set(session.scalars(select(Account.id)))
            assert {o[3] for o in outcomes} == {str(r) for r in bound}
            assert Counter(session.scalars(select(AuditEvent.action))) == Counter({"create": ROUNDS})
            verdict = audit.verify(session, Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY).audit_key)
            assert verdict.ok and verdict.events == ROUNDS
    finally:
        engine.dispose()
