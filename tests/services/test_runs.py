"""hub.services.runs: start and cancel with runs.manage (audited), list with runs.read."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from hub.core.actor import Context
from hub.core.store import Store
from hub.errors import ConfigError
from hub.services import runs as run_service
from hub.sync import runs
from hub.sync.runner import Runner
from tests.services.auditing import assert_chain_intact, assert_refused, changes, events, people
from tests.services.test_connectors import TYPES
from tests.sync.conftest import CONTACTS_SPEC, configure, files_config, write_contact_files

SYSTEM = Context.system("test")


@pytest.fixture
def routed(store: Store, tmp_path: Path) -> Path:
    """Instance ``src`` (files) with an inbound route of ``contacts``, and three contacts to read."""
    write_contact_files(tmp_path, 3)
    configure(store, "src", "files", files_config(tmp_path), "contacts", CONTACTS_SPEC.format(name="contacts"),
              types=TYPES)
    return tmp_path


def _sent() -> tuple[list[uuid.UUID], Callable[[uuid.UUID], object]]:
    sent: list[uuid.UUID] = []
    return sent, sent.append


def _queued(store: Store) -> uuid.UUID:
    return run_service.start_run(store, SYSTEM, "src", "contacts", send=lambda _: None).id


OPERATIONS: dict[str, tuple[str, Callable[[Store, Context], object]]] = {
    "start_run": ("runs.manage", lambda s, c: run_service.start_run(s, c, "src", "contacts", send=lambda _: None)),
    "cancel_run": ("runs.manage", lambda s, c: run_service.cancel_run(s, c, _queued(s))),
    "list_runs": ("runs.read", lambda s, c: run_service.list_runs(s, c)),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_operation_is_refused_without_its_permission(store: Store, routed: Path, operation: str) -> None:
    permission, call = OPERATIONS[operation]
    nobody, holder = people(store, permission)
    assert_refused(store, nobody, permission, lambda: call(store, nobody))
    call(store, holder)
    assert_chain_intact(store)


def test_start_queues_sends_once_and_audits(store: Store, routed: Path) -> None:
    _, holder = people(store, "runs.manage")
    sent, send = _sent()
    run = run_service.start_run(store, holder, "src", "contacts", full=True, send=send)
    again = run_service.start_runs(store, holder, "src", full=True, send=send)  # every inbound route
    assert [r.id for r in again] == [run.id] and sent == [run.id]  # the waiting run reused, sent once
    assert run.status == "queued" and run.full is True
    first, second = events(store, "sync_runs", "start")
    assert (first.actor_name, first.source, first.record_id) == ("holder", "cli", str(run.id))
    assert changes(first) == {"instance": [None, "src"], "stream": [None, "contacts"],
                              "direction": [None, "inbound"], "full": [None, True], "status": [None, "queued"]}
    assert changes(second)["status"] == ["queued", "queued"] and second.record_id == str(run.id)
    with pytest.raises(ConfigError, match="src has no outbound routes"):
        run_service.start_runs(store, holder, "src", direction="outbound", send=send)
    with pytest.raises(ConfigError, match="no connector instance 'nope'"):
        run_service.start_runs(store, holder, "nope", send=send)
    assert_chain_intact(store)


def test_cancel_a_queued_run_is_audited_and_no_worker_starts_it(store: Store, routed: Path) -> None:
    _, holder = people(store, "runs.manage")
    run_id = _queued(store)
    cancelled = run_service.cancel_run(store, holder, run_id)
    assert cancelled.status == "cancelled" and cancelled.error == "cancelled by holder"
    [event] = events(store, "sync_runs", "cancel")
    assert (event.actor_name, event.source, event.record_id) == ("holder", "cli", str(run_id))
    assert changes(event) == {"status": ["queued", "cancelled"]}
    assert Runner(store, TYPES).execute(run_id) is None  # a (late or resent) message does nothing
    assert run_service.get_run(store, SYSTEM, run_id).status == "cancelled"
    with pytest.raises(ConfigError, match=f"run {run_id} is cancelled; only a queued, retrying or running run"):
        run_service.cancel_run(store, holder, run_id)
    assert [r.id for r in run_service.list_runs(store, SYSTEM, status="cancelled")] == [run_id]
    assert_chain_intact(store)


def test_cancel_a_running_run_takes_its_lease_so_its_worker_stops(store: Store, routed: Path) -> None:
    run_id = _queued(store)
    held = runs.claim(store.engine, run_id, "worker-1")
    assert held is not None and held.status == "running"
    run_service.cancel_run(store, SYSTEM, run_id)
    with Session(store.engine) as session, session.begin(), pytest.raises(runs.LeaseLost):
        runs.heartbeat(session, held)  # the first step of every batch commit: the worker writes nothing more
    runs.finish(store.engine, held, "succeeded")  # a worker finishing late does not undo the cancel
    assert run_service.get_run(store, SYSTEM, run_id).status == "cancelled"
    assert changes(events(store, "sync_runs", "cancel")[0]) == {"status": ["running", "cancelled"]}


def test_cancel_refuses_a_finished_run_naming_its_status(store: Store, routed: Path) -> None:
    run_id = _queued(store)
    assert Runner(store, TYPES).execute(run_id) == "succeeded"
    with pytest.raises(ConfigError, match="is succeeded; only a queued, retrying or running run can be cancelled"):
        run_service.cancel_run(store, SYSTEM, run_id)
    with pytest.raises(ConfigError, match="no sync run"):
        run_service.cancel_run(store, SYSTEM, uuid.uuid4())
    listed = run_service.list_runs(store, SYSTEM, instance="src")
    assert [(r.id, r.status, r.created) for r in listed] == [(run_id, "succeeded", 3)]
