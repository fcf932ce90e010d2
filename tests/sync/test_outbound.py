"""Outbound runs with a real worker: what the hub writes out and reads back as an echo changes nothing."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from hub.core.actor import Context
from hub.core.store import Store
from hub.core.write import Row
from hub.sync import dispatch
from hub.sync.models import SyncRun
from tests.sync.conftest import (
    ROUNDTRIP_SPEC,
    WorkerPool,
    configure,
    contact_rows,
    count,
    files_config,
    wait_run,
)

pytestmark = pytest.mark.postgres

N = 120


def _sync(store: Store, direction: str) -> SyncRun:
    run = dispatch.start(store, "crm", "contacts", direction)
    done = wait_run(store, run.id, 60)
    assert done.status == "succeeded", done.error
    return done


def _audit_events(store: Store) -> int:
    return count(store.engine, "SELECT count(*) FROM audit_events")


def _setup(store: Store, data_dir: Path) -> list[uuid.UUID]:
    """The crm instance: contacts in from inbox/*.jsonl, out to outbox/contacts.jsonl; N hub contacts."""
    configure(store, "crm", "files", files_config(data_dir, pattern="inbox/*.jsonl"), "crm_contacts",
              ROUNDTRIP_SPEC.format(name="crm_contacts"), directions=("inbound", "outbound"), batch_size=50)
    (data_dir / "inbox").mkdir()
    with store.writing(Context.system("test")) as tx:
        result = tx.write_many("contacts", [Row({"email": p["email"], "first_name": p["first"],
                                                 "last_name": p["last"], "city": p["city"]})
                                            for p in contact_rows(N)])
    ids = [r.id for r in result.results]
    assert all(ids)
    return [i for i in ids if i is not None]


def test_an_outbound_write_read_back_inbound_changes_nothing(workers: WorkerPool, pg_store: Store,
                                                             data_dir: Path) -> None:
    _setup(pg_store, data_dir)
    workers.start()
    out = _sync(pg_store, "outbound")
    assert (out.read, out.written, out.quarantined) == (N, N, 0)
    outbox = data_dir / "outbox" / "contacts.jsonl"
    assert len(outbox.read_text().splitlines()) == N

    # The system echoes what we wrote: the same lines come back in its export.
    shutil.copy(outbox, data_dir / "inbox" / "echo.jsonl")
    before = _audit_events(pg_store)
    back = _sync(pg_store, "inbound")
    assert (back.read, back.unchanged, back.created, back.updated, back.quarantined) == (N, N, 0, 0, 0)
    assert _audit_events(pg_store) == before, "an echo of our own write made audit events"
    assert count(pg_store.engine, "SELECT count(*) FROM contacts") == N
    assert count(pg_store.engine, "SELECT count(*) FROM bindings WHERE connector = 'crm'") == N

    # And nothing goes out again: the echo changed nothing, so the next outbound run writes nothing.
    again = _sync(pg_store, "outbound")
    assert again.written == 0
    assert len(outbox.read_text().splitlines()) == N


def test_a_late_echo_of_an_earlier_write_does_not_undo_a_later_one(workers: WorkerPool, pg_store: Store,
                                                                   data_dir: Path) -> None:
    """Versions 1 and 2 both went out; the system's export taken between them arrives only now."""
    ids = _setup(pg_store, data_dir)
    workers.start()
    _sync(pg_store, "outbound")
    outbox = data_dir / "outbox" / "contacts.jsonl"
    export_of_version_1 = outbox.read_text()
    with pg_store.writing(Context.system("test")) as tx:
        tx.update("contacts", ids[0], {"last_name": "Changed-In-Hub"})
    assert _sync(pg_store, "outbound").written == 1  # version 2 went out too

    (data_dir / "inbox" / "echo.jsonl").write_text(export_of_version_1)
    before = _audit_events(pg_store)
    back = _sync(pg_store, "inbound")
    with pg_store.reading(Context.system("test")) as tx:
        assert tx.get("contacts", ids[0])["last_name"] == "Changed-In-Hub", "an earlier echo undid a later write"
    assert (back.unchanged, back.updated, back.created) == (N, 0, 0)
    assert _audit_events(pg_store) == before
    assert _sync(pg_store, "outbound").written == 0, "the echo was taken for news and sent out again"


def test_a_late_echo_does_not_undo_a_newer_hub_change(workers: WorkerPool, pg_store: Store, data_dir: Path) -> None:
    """Our write of version 1 comes back after the hub moved on to version 2: it is our echo, not news."""
    ids = _setup(pg_store, data_dir)
    workers.start()
    _sync(pg_store, "outbound")
    outbox = data_dir / "outbox" / "contacts.jsonl"
    sent = [json.loads(line) for line in outbox.read_text().splitlines()]

    with pg_store.writing(Context.system("test")) as tx:
        tx.update("contacts", ids[0], {"last_name": "Changed-In-Hub"})
    shutil.copy(outbox, data_dir / "inbox" / "echo.jsonl")  # the echo of version 1 arrives only now
    before = _audit_events(pg_store)
    back = _sync(pg_store, "inbound")

    with pg_store.reading(Context.system("test")) as tx:
        assert tx.get("contacts", ids[0])["last_name"] == "Changed-In-Hub", "the echo undid the hub's change"
    assert (back.unchanged, back.updated, back.created) == (len(sent), 0, 0)
    assert _audit_events(pg_store) == before
