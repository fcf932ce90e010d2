"""The sync engine without Celery, on SQLite and PostgreSQL: runs, checkpoints, claims and leases, the
write semantics of inbound runs, dead letters and replay, lineage.

Runs are carried out in this process with ``Runner(store, types).execute(run_id)``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.files import FilesConnector
from hub.core.actor import Context
from hub.core.audit import canonical
from hub.core.models import Binding
from hub.core.store import Store
from hub.errors import PermanentError, RetryableError
from hub.mappings import versions
from hub.sync import deadletters, instances, runs
from hub.sync.connector import Checkpoint, Connector, Record, WriteResult
from hub.sync.lineage import lineage
from hub.sync.models import DeadLetter, StreamState, SyncRun, open_payload
from hub.sync.retry import RetryPolicy
from hub.sync.run_state import save_state
from hub.sync.runner import Runner
from tests.sync.chaos import extended_schema
from tests.sync.conftest import (
    CONTACTS_SPEC,
    ROUNDTRIP_SPEC,
    all_types,
    configure,
    contact,
    contact_rows,
    count,
    dead_letters,
    digest,
    files_config,
    landed,
    run_row,
    save_mapping,
    source_digest,
    write_contact_files,
    write_jsonl,
)

FAST = RetryPolicy(attempts=3, max_seconds=30, initial=0.001, cap=0.01)


# -- test connectors ----------------------------------------------------------------------------------
class CrashingFiles(FilesConnector):
    """Crashes (an unexpected, non-retryable error) after ``crash_after`` records, once: the first read
    creates ``<path>/crashed``. Every read's starting state is noted in ``<path>/reads.jsonl``. With
    ``crash_after_write`` its first write crashes after its records landed (the answer never arrives)."""

    type_name = "crashing-files"
    config_schema: ClassVar[dict[str, Any]] = extended_schema({"crash_after": {"type": "integer"},
                                                               "permanent": {"type": "boolean"},
                                                               "crash_after_write": {"type": "boolean"}})

    def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
        results = super().write(stream, records, idempotency_key)
        marker = self.root / "crashed-writing"
        if self.config.get("crash_after_write") and not marker.exists():
            marker.touch()
            raise RuntimeError("simulated crash after the write landed")
        return results

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        with open(self.root / "reads.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(state) + "\n")
        marker, seen = self.root / "crashed", 0
        for item in super().read(stream, state):
            if isinstance(item, Record):
                if seen == self.config["crash_after"] and not marker.exists():
                    marker.touch()
                    if self.config.get("permanent"):
                        raise PermanentError("the remote refused: account closed")
                    raise RuntimeError("simulated crash in the middle of a batch")
                seen += 1
            yield item


class BlipFiles(FilesConnector):
    """Drops its connection once at the middle of every ``blip_every`` records (RetryableError), then
    carries on from wherever the engine resumes: transient errors, each followed by progress."""

    type_name = "blip-files"
    config_schema: ClassVar[dict[str, Any]] = extended_schema({"blip_every": {"type": "integer"}})

    def __post_init__(self) -> None:
        super().__post_init__()
        self.blipped: set[int] = set()

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        every = self.config["blip_every"]
        line = int((state or {}).get("line", 0))
        for item in super().read(stream, state):
            if isinstance(item, Record):
                line += 1
                if line % every == every // 2 and line not in self.blipped:
                    self.blipped.add(line)
                    raise RetryableError(f"connection dropped at line {line}")
            yield item


def types() -> dict[str, type[Connector]]:
    return {**all_types(), CrashingFiles.type_name: CrashingFiles, BlipFiles.type_name: BlipFiles}


def execute(store: Store, instance: str = "src", *, direction: str = "inbound", full: bool = False,
            retry: RetryPolicy = FAST, run_id: uuid.UUID | None = None) -> SyncRun:
    """Queue a run of the route (or take ``run_id``), carry out one attempt here, return the run row."""
    if run_id is None:
        with Session(store.engine, expire_on_commit=False) as session, session.begin():
            run, _ = runs.queue(session, instance, "contacts", direction, full=full)
        run_id = run.id
    Runner(store, types(), lease_seconds=30, retry=retry).execute(run_id)
    return run_row(store, run_id)


def audit_events(store: Store, module: str = "contacts") -> int:
    return count(store.engine, "SELECT count(*) FROM audit_events WHERE module = :m", m=module)


def spec(name: str = "src_contacts", extra: str = "", top: str = "") -> str:
    return CONTACTS_SPEC.format(name=name) + extra + top


@pytest.fixture
def src(store: Store, tmp_path: Path) -> Path:
    """A folder for the ``src`` files instance (configured by each test)."""
    path = tmp_path / "src"
    path.mkdir()
    return path


# -- checkpoints and crashes --------------------------------------------------------------------------
def test_a_crash_mid_run_resumes_from_the_last_checkpoint(store: Store, src: Path) -> None:
    rows = write_contact_files(src, 1000, files=2)
    configure(store, "src", "crashing-files", files_config(src, crash_after=450), "src_contacts", spec(),
              batch_size=100, max_attempts=3, types=types())
    first = execute(store)
    assert (first.status, first.attempts) == ("queued", 1)
    assert first.error is not None and "simulated crash" in first.error
    assert (first.read, first.created) == (400, 400), "only the batches before the crash are committed"
    assert first.checkpoint == {"file": "contacts-0000.jsonl", "line": 400,
                                "offset": first.checkpoint["offset"] if first.checkpoint else -1}
    assert count(store.engine, "SELECT count(*) FROM contacts") == 400

    second = execute(store, run_id=first.id)
    assert (second.status, second.attempts, second.error) == ("succeeded", 2, None)
    assert (second.read, second.created, second.updated, second.unchanged) == (1000, 1000, 0, 0)
    reads = [json.loads(line) for line in (src / "reads.jsonl").read_text().splitlines()]
    assert reads == [None, first.checkpoint], "the second attempt must start at the committed checkpoint"
    assert count(store.engine, "SELECT count(*) FROM contacts") == 1000
    assert count(store.engine, "SELECT count(*) FROM bindings") == 1000
    assert audit_events(store) == 1000
    assert digest(landed(store.engine, "src")) == source_digest(rows)


def test_a_permanent_error_fails_the_run_without_another_attempt(store: Store, src: Path) -> None:
    write_contact_files(src, 300)
    configure(store, "src", "crashing-files", files_config(src, crash_after=150, permanent=True), "src_contacts",
              spec(), batch_size=100, types=types())
    run = execute(store)
    assert (run.status, run.attempts, run.read) == ("failed", 1, 100)
    assert run.error is not None and "account closed" in run.error
    assert execute(store, run_id=run.id).attempts == 1  # finished: a second delivery does nothing


def test_transient_errors_between_which_the_run_progresses_do_not_use_up_its_attempts(store: Store,
                                                                                       src: Path) -> None:
    """Each batch's connection drops once and the run moves on: a bounded *per-record* retry budget
    (consecutive failures without progress) lets it finish; a budget for the whole attempt kills it."""
    rows = write_contact_files(src, 400)
    configure(store, "src", "blip-files", files_config(src, blip_every=40), "src_contacts", spec(),
              batch_size=40, max_attempts=2, types=types())
    run = execute(store)
    if run.status == "queued":
        run = execute(store, run_id=run.id)
    assert run.status == "succeeded", f"{run.status} after {run.attempts} attempts: {run.error}"
    assert run.retries == 10
    assert digest(landed(store.engine, "src")) == source_digest(rows)


def test_finished_runs_are_never_started_again(store: Store, src: Path) -> None:
    write_contact_files(src, 10)
    configure(store, "src", "files", files_config(src), "src_contacts", spec())
    run = execute(store)
    assert run.status == "succeeded"
    assert Runner(store, types()).execute(run.id) is None  # a duplicate delivery
    assert run_row(store, run.id).attempts == 1


# -- claims and leases -------------------------------------------------------------------------------
def _queue(store: Store) -> SyncRun:
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        return runs.queue(session, "src", "contacts")[0]


def test_a_second_run_of_a_running_route_waits(store: Store, src: Path) -> None:
    configure(store, "src", "files", files_config(src), "src_contacts", spec())
    first = _queue(store)
    assert runs.claim(store.engine, first.id, "worker-a", 30) is not None
    assert _queue(store).id != first.id, "a route with a running run takes a new queued run"
    second = _queue(store)
    assert _queue(store).id == second.id, "while one is queued, queueing reuses it"
    with pytest.raises(runs.Busy) as busy:
        runs.claim(store.engine, second.id, "worker-b", 30)
    assert busy.value.retry_after > 0
    assert run_row(store, second.id).status == "queued" and run_row(store, second.id).attempts == 0
    with pytest.raises(runs.Busy):
        runs.claim(store.engine, first.id, "worker-b", 30)  # held under a live lease


def test_an_expired_lease_is_taken_over_and_the_old_holder_stops(store: Store, src: Path) -> None:
    configure(store, "src", "files", files_config(src), "src_contacts", spec())
    run = _queue(store)
    old = runs.claim(store.engine, run.id, "worker-a", 0.2)
    assert old is not None
    time.sleep(0.4)
    with Session(store.engine) as session:
        assert [s.run_id for s in runs.stale_runs(session)] == [run.id]
    new = runs.claim(store.engine, run.id, "worker-b", 30)
    assert new is not None and new.attempts == 2 and new.lease_owner == "worker-b"
    with Session(store.engine) as session, session.begin(), pytest.raises(runs.LeaseLost):
        runs.heartbeat(session, old, 30)
    runs.finish(store.engine, old, "succeeded")  # the old holder's finish changes nothing
    assert run_row(store, run.id).status == "running"


def test_a_run_out_of_attempts_is_dead_and_stays_dead(store: Store, src: Path) -> None:
    configure(store, "src", "files", files_config(src), "src_contacts", spec(), max_attempts=2)
    run = _queue(store)
    for worker in ("a", "b"):
        held = runs.claim(store.engine, run.id, worker, 0.05)
        assert held is not None
        time.sleep(0.1)  # the worker died: its lease runs out
    assert runs.claim(store.engine, run.id, "c", 30) is None
    dead = run_row(store, run.id)
    assert (dead.status, dead.attempts) == ("dead", 2)
    assert dead.error is not None and "gave up after 2 attempts" in dead.error
    assert runs.claim(store.engine, run.id, "d", 30) is None
    with Session(store.engine) as session:
        assert runs.stale_runs(session) == []


# -- what inbound runs write -------------------------------------------------------------------------
def test_deleted_source_records_become_soft_deletes(store: Store, src: Path) -> None:
    write_contact_files(src, 10)
    config = {"path": str(src), "streams": {"contacts": {"pattern": "contacts-*.jsonl", "deleted": "gone"}}}
    configure(store, "src", "files", config, "src_contacts", spec())
    assert execute(store).created == 10
    write_jsonl(src / "contacts-0001.jsonl", [{"id": "c000003", "gone": True}, {"id": "never-seen", "gone": "yes"}])
    run = execute(store)
    assert (run.status, run.read, run.deleted, run.unchanged, run.quarantined) == ("succeeded", 2, 1, 1, 0)
    gone = contact(store, "c000003")
    assert gone["deleted_at"] is not None and gone["email"] == "person3@example3.com"  # soft: still there
    assert count(store.engine, "SELECT count(*) FROM contacts") == 10
    assert count(store.engine, "SELECT count(*) FROM contacts WHERE deleted_at IS NULL") == 9
    assert count(store.engine, "SELECT count(*) FROM audit_events WHERE action = 'delete'") == 1


def test_only_create_fields_are_not_overwritten_on_update(store: Store, src: Path) -> None:
    write_jsonl(src / "contacts-0000.jsonl", [{"id": "c1", "email": "a@x.org", "last": "Old", "city": "Berlin"}])
    configure(store, "src", "files", files_config(src), "m",
              ROUNDTRIP_SPEC.format(name="m").replace("city: {from: city}", "city: {from: city, only_create: true}"))
    assert execute(store).created == 1
    write_jsonl(src / "contacts-0001.jsonl", [{"id": "c1", "email": "a@x.org", "last": "New", "city": "London"}])
    assert execute(store).updated == 1
    now = contact(store, "c1")
    assert (now["last_name"], now["city"]) == ("New", "Berlin")


def test_hub_owned_fields_are_kept(store: Store, src: Path) -> None:
    write_jsonl(src / "contacts-0000.jsonl", [{"id": "c1", "email": "a@x.org", "first": "Ada", "last": "Old"}])
    configure(store, "src", "files", files_config(src), "m",
              ROUNDTRIP_SPEC.format(name="m") + "conflict: {fields: {first_name: hub}}\n")
    assert execute(store).created == 1
    rid = contact(store, "c1")["id"]
    with store.writing(Context.system("test")) as tx:
        tx.update("contacts", rid, {"first_name": "Augusta"})
    write_jsonl(src / "contacts-0001.jsonl", [{"id": "c1", "email": "a@x.org", "first": "Eve", "last": "New"}])
    assert execute(store).updated == 1
    now = contact(store, "c1")
    assert (now["first_name"], now["last_name"]) == ("Augusta", "New")


def test_unchanged_source_records_cost_no_audit_event(store: Store, src: Path) -> None:
    write_contact_files(src, 200, files=2)
    configure(store, "src", "files", files_config(src), "src_contacts", spec(), batch_size=50)
    assert execute(store).created == 200
    before = audit_events(store)
    again = execute(store, full=True)
    assert (again.read, again.unchanged, again.created, again.updated) == (200, 200, 0, 0)
    assert audit_events(store) == before
    nothing_new = execute(store)
    assert (nothing_new.status, nothing_new.read) == ("succeeded", 0)


def test_a_record_twice_in_one_batch_lands_once_with_its_last_values(store: Store, src: Path) -> None:
    write_jsonl(src / "contacts-0000.jsonl", [{"id": "c1", "email": "a@x.org", "last": "One"},
                                              {"id": "c2", "email": "b@x.org", "last": "Two"},
                                              {"id": "c1", "email": "a@x.org", "last": "One-v2"}])
    configure(store, "src", "files", files_config(src), "src_contacts", spec())
    run = execute(store)
    assert (run.read, run.created, run.updated) == (3, 2, 1)
    assert count(store.engine, "SELECT count(*) FROM contacts") == 2
    assert contact(store, "c1")["last_name"] == "One-v2"


def test_records_the_store_rejects_or_cannot_read_are_quarantined(store: Store, src: Path) -> None:
    rows = contact_rows(20)
    rows[4]["email"] = "not an e-mail"
    text = "".join(json.dumps(r) + "\n" for r in rows) + "{broken json\n"
    (src / "contacts-0000.jsonl").write_text(text, encoding="utf-8")
    configure(store, "src", "files", files_config(src), "m", ROUNDTRIP_SPEC.format(name="m"))
    run = execute(store)
    assert (run.status, run.read, run.created, run.quarantined) == ("succeeded", 21, 19, 2)
    letters = {d.error_kind: d for d in dead_letters(store, run.id)}
    assert set(letters) == {"validation", "source"}
    assert letters["validation"].external_id == "c000004" and "email" in letters["validation"].error
    assert letters["source"].external_id == "contacts-0000.jsonl:21"
    assert "invalid JSON" in letters["source"].error
    assert open_payload(store.keyring, letters["source"])["__raw__"] == "{broken json"


# -- mapping versions, dead letters, lineage ---------------------------------------------------------
def test_the_mapping_version_is_recorded_in_the_run(store: Store, src: Path) -> None:
    write_contact_files(src, 5)
    configure(store, "src", "files", files_config(src), "src_contacts", spec())
    first = execute(store)
    assert (first.mapping, first.mapping_version) == ("src_contacts", 1)
    assert save_mapping(store, spec(extra="  job_title: {value: Buyer}\n")) == 2
    second = execute(store, full=True)
    assert (second.mapping_version, second.updated) == (2, 5)
    with store.writing(Context.system("test")) as tx:
        versions.pin(tx.session, "src_contacts", 1, "test")
    assert execute(store, full=True).mapping_version == 1


def test_replaying_through_the_pinned_mapping_that_still_fails_keeps_the_letter_open(store: Store,
                                                                                     src: Path) -> None:
    rows = contact_rows(3)
    rows[1]["birthday"] = "31.02.2024"
    write_jsonl(src / "contacts-0000.jsonl", rows)
    configure(store, "src", "files", files_config(src), "src_contacts",
              spec(extra="  birthday: {from: birthday, transform: [date]}\n"))
    run = execute(store)
    assert (run.created, run.quarantined) == (2, 1)
    with Session(store.engine) as session:
        letters = deadletters.open_letters(session, run_id=run.id)
    report = deadletters.replay(store, letters, "pinned")
    assert (report.replayed, report.failed) == (0, 1)
    [letter] = dead_letters(store)
    assert (letter.status, letter.attempts, letter.replay_run_id) == ("open", 2, report.run_id)
    assert "birthday" in letter.error
    assert count(store.engine, "SELECT count(*) FROM contacts") == 2


COMPANIES_SPEC = """
mapping: src_companies
source: {connector: files, stream: companies}
target: {module: accounts}
fields:
  name: {from: name}
"""


def test_a_reference_by_external_id_waits_for_its_record_and_lands_on_replay(store: Store, src: Path) -> None:
    """Contacts name their company by the source's id; the hub stores the id of the account bound to it."""
    rows = contact_rows(4)
    rows[0]["company"], rows[1]["company"], rows[2]["company"] = "k1", 2, "k1"  # rows[3] names none
    write_jsonl(src / "contacts-0000.jsonl", rows)
    write_jsonl(src / "companies.jsonl", [{"id": "k1", "name": "Kappa One"}, {"id": "2", "name": "Kappa Two"}])
    config = {"path": str(src), "streams": {"contacts": {"pattern": "contacts-*.jsonl"},
                                            "companies": {"pattern": "companies.jsonl"}}}
    configure(store, "src", "files", config, "src_contacts",
              spec(extra="  account_id: {from: company, transform: [{bound: companies}]}\n"))
    save_mapping(store, COMPANIES_SPEC)
    with store.writing(Context.system("test")) as tx:
        instances.add_route(tx.session, tx.audit, "src", "companies", "inbound", "accounts", "src_companies")

    early = execute(store)  # the companies have not been synced: three contacts wait
    assert (early.created, early.quarantined) == (1, 3)
    letters = dead_letters(store, early.id)
    assert {d.external_id for d in letters} == {"c000000", "c000001", "c000002"}
    assert all(d.error_kind == "mapping" for d in letters)
    assert "fields.account_id: no record of src/companies with external id 'k1' has reached the hub yet" in {
        d.error for d in letters}
    assert contact(store, "c000003")["account_id"] is None

    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        run, _ = runs.queue(session, "src", "companies", "inbound")
    Runner(store, types(), lease_seconds=30, retry=FAST).execute(run.id)
    assert run_row(store, run.id).created == 2

    with Session(store.engine) as session:
        report = deadletters.replay(store, deadletters.open_letters(session, run_id=early.id), "pinned")
    assert (report.replayed, report.failed) == (3, 0)
    with store.reading(Context.system("test")) as tx:
        accounts = {a["name"]: a["id"] for a in tx.query("accounts")}
    assert contact(store, "c000000")["account_id"] == accounts["Kappa One"]
    assert contact(store, "c000001")["account_id"] == accounts["Kappa Two"]  # the number 2 is the id "2"
    assert contact(store, "c000002")["account_id"] == accounts["Kappa One"]


def test_a_reference_to_a_record_later_in_the_same_batch_lands_after_it(store: Store, src: Path) -> None:
    """Subsidiaries come before their parents in the file: each lands in a later pass of the same batch. A
    record naming itself, a cycle and a parent that is not in the source wait as dead letters."""
    companies = [
        {"id": "sub-1", "name": "Sub One", "parent": "mid"},  # its parent comes later...
        {"id": "mid", "name": "Middle", "parent": "top"},  # ...and that one's parent later still
        {"id": "top", "name": "Top"},
        {"id": "sub-2", "name": "Sub Two", "parent": "top"},  # its parent came earlier
        {"id": "self", "name": "Itself", "parent": "self"},
        {"id": "ring-a", "name": "Ring A", "parent": "ring-b"},
        {"id": "ring-b", "name": "Ring B", "parent": "ring-a"},
        {"id": "orphan", "name": "Orphan", "parent": "nowhere"},
    ]
    write_jsonl(src / "companies.jsonl", companies)
    configure(store, "src", "files", {"path": str(src), "streams": {"companies": {"pattern": "companies.jsonl"}}},
              "src_companies", COMPANIES_SPEC + "  parent_id: {from: parent, transform: [{bound: companies}]}\n",
              stream="companies", module="accounts")
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        run, _ = runs.queue(session, "src", "companies", "inbound")
    Runner(store, types(), lease_seconds=30, retry=FAST).execute(run.id)
    row = run_row(store, run.id)
    assert (row.status, row.read, row.created, row.quarantined) == ("succeeded", 8, 4, 4)
    with store.reading(Context.system("test")) as tx:
        accounts = {a["name"]: a for a in tx.query("accounts")}
    assert set(accounts) == {"Sub One", "Middle", "Top", "Sub Two"}
    assert accounts["Top"]["parent_id"] is None
    assert accounts["Middle"]["parent_id"] == accounts["Top"]["id"]
    assert accounts["Sub One"]["parent_id"] == accounts["Middle"]["id"]
    assert accounts["Sub Two"]["parent_id"] == accounts["Top"]["id"]
    errors = {d.external_id: d.error for d in dead_letters(store, run.id)}
    assert errors == {key: f"fields.parent_id: no record of src/companies with external id {parent!r} has "
                           "reached the hub yet"
                      for key, parent in (("self", "self"), ("ring-a", "ring-b"), ("ring-b", "ring-a"),
                                          ("orphan", "nowhere"))}


def test_bound_gives_a_record_id_only_to_a_reference_field(store: Store, src: Path) -> None:
    write_jsonl(src / "contacts-0000.jsonl", [{**contact_rows(1)[0], "company": "k1"}])
    configure(store, "src", "files", files_config(src), "src_contacts",
              spec(extra="  job_title: {from: company, transform: [{bound: contacts}]}\n"))
    write_jsonl(src / "contacts-0001.jsonl", [{**contact_rows(1, start=1)[0], "id": "k1"}])
    run = execute(store)
    assert (run.created, run.quarantined) == (1, 1)
    [letter] = dead_letters(store, run.id)
    assert letter.error == "fields.job_title: 'bound' gives a record id, and job_title is not a reference field"


def test_lineage_names_the_run_connector_record_and_mapping_version(store: Store, src: Path) -> None:
    write_contact_files(src, 3)
    configure(store, "src", "files", files_config(src), "src_contacts", spec())
    first = execute(store)
    save_mapping(store, spec().replace("last_name: {from: last, transform: [strip]}",
                                       "last_name: {from: last, transform: [strip, upper]}"))
    second = execute(store, full=True)
    assert second.updated == 3
    rid = str(contact(store, "c000001")["id"])
    with Session(store.engine) as session:
        origins = {o.field: o for o in lineage(session, "contacts", rid)}
    last, email = origins["last_name"], origins["email"]
    assert (last.run_id, last.actor, last.stream, last.external_id, last.mapping, last.mapping_version) == (
        str(second.id), "connector:src", "contacts", "c000001", "src_contacts", 2)
    assert (email.run_id, email.mapping_version, email.action) == (str(first.id), 1, "create")
    assert contact(store, "c000001")["last_name"] == "LI-1"


# -- outbound ----------------------------------------------------------------------------------------
def test_records_that_came_from_a_system_are_not_sent_back_to_it(store: Store, src: Path) -> None:
    write_contact_files(src, 10)
    configure(store, "src", "files", files_config(src), "m", ROUNDTRIP_SPEC.format(name="m"),
              directions=("inbound", "outbound"))
    assert execute(store).created == 10
    with store.writing(Context.system("test")) as tx:
        tx.create("contacts", {"email": "hub@x.org", "last_name": "Made-In-Hub"})
    out = execute(store, direction="outbound")
    assert (out.status, out.read, out.written) == ("succeeded", 11, 1)
    sent = [json.loads(line) for line in (src / "outbox" / "contacts.jsonl").read_text().splitlines()]
    assert [s["last"] for s in sent] == ["Made-In-Hub"]
    again = execute(store, direction="outbound")
    assert (again.read, again.written) == (0, 0)
    with Session(store.engine) as session:
        assert session.query(DeadLetter).count() == 0


def test_a_crash_after_an_outbound_write_does_not_write_again_when_more_changes_arrived(store: Store,
                                                                                      src: Path) -> None:
    """The retry of a batch whose write landed (but not its commit) must reuse that write's idempotency
    key, even when new outbox entries have arrived in the meantime: else the system gets everything twice."""
    configure(store, "out", "crashing-files", files_config(src, crash_after=-1, crash_after_write=True), "m",
              ROUNDTRIP_SPEC.format(name="m"), directions=("outbound",), types=types())
    people = contact_rows(6)
    with store.writing(Context.system("test")) as tx:
        for p in people[:5]:
            tx.create("contacts", {"email": p["email"], "last_name": p["last"]})
    first = execute(store, "out", direction="outbound")
    assert (first.status, first.written) == ("queued", 0)
    with store.writing(Context.system("test")) as tx:  # a change made while the worker was down
        tx.create("contacts", {"email": people[5]["email"], "last_name": people[5]["last"]})
    second = execute(store, "out", direction="outbound", run_id=first.id)
    assert second.status == "succeeded"
    sent = [json.loads(line)["email"] for line in (src / "outbox" / "contacts.jsonl").read_text().splitlines()]
    assert sorted(sent) == sorted(p["email"] for p in people), "records were written twice"


# -- poison records -----------------------------------------------------------------------------------
def test_saving_a_route_position_keeps_one_row_with_the_latest(store: Store) -> None:
    first = SimpleNamespace(instance="src", stream="contacts", direction="inbound", id=uuid.uuid4())
    later = SimpleNamespace(instance="src", stream="contacts", direction="inbound", id=uuid.uuid4())
    other = SimpleNamespace(instance="src", stream="contacts", direction="outbound", id=uuid.uuid4())
    with Session(store.engine) as session, session.begin():
        save_state(session, first, {"file": "a.jsonl", "line": 10})
        save_state(session, other, {"outbox_id": 3})
    with Session(store.engine) as session, session.begin():
        save_state(session, later, {"file": "b.jsonl", "line": 2})
    with Session(store.engine) as session:
        rows = {r.direction: (r.state, r.last_run_id) for r in session.scalars(select(StreamState))}
    assert rows == {"inbound": ({"file": "b.jsonl", "line": 2}, later.id), "outbound": ({"outbox_id": 3}, other.id)}


def test_a_malformed_line_with_a_nul_byte_is_quarantined_and_the_run_goes_on(store: Store, src: Path) -> None:
    """Corrupt exports contain NUL bytes; PostgreSQL cannot store U+0000 in text or jsonb, so the dead
    letter must be storable anyway, or the one bad line blocks its whole batch on every attempt."""
    good = contact_rows(10)
    lines = [json.dumps(r).encode() + b"\n" for r in good]
    lines.insert(5, b'{"id": "c999", "last": "\x00\x00garbage\n')
    (src / "contacts-0000.jsonl").write_bytes(b"".join(lines))
    configure(store, "src", "files", files_config(src), "src_contacts", spec(), max_attempts=2)
    run = execute(store)
    assert (run.status, run.read, run.created, run.quarantined) == ("succeeded", 11, 10, 1), run.error
    [letter] = dead_letters(store, run.id)
    assert letter.external_id == "contacts-0000.jsonl:6" and letter.error_kind == "source"


def test_replaying_an_old_dead_letter_does_not_overwrite_a_newer_version_of_its_record(store: Store,
                                                                                        src: Path) -> None:
    """Version 1 of c1 was quarantined; the source fixed it and version 2 landed. Replaying the letter of
    version 1 afterwards must not bring the old values back."""
    config = {"path": str(src), "streams": {"contacts": {"pattern": "contacts-*.jsonl", "version": "v"}}}
    birthday = "  birthday: {{from: bd, transform: [{dates}]}}\n"
    configure(store, "src", "files", config, "src_contacts", spec(extra=birthday.format(dates="date")))
    write_jsonl(src / "contacts-0000.jsonl", [{"id": "c1", "email": "a@x.org", "last": "Old", "bd": "01.02.1990",
                                               "v": "2024-01-01T00:00:00Z"}])
    first = execute(store)
    assert first.quarantined == 1
    write_jsonl(src / "contacts-0001.jsonl", [{"id": "c1", "email": "a@x.org", "last": "Newer",
                                               "bd": "1990-02-01", "v": "2024-02-01T00:00:00Z"}])
    assert execute(store).created == 1
    save_mapping(store, spec(extra=birthday.format(dates='{date: [iso, "%d.%m.%Y"]}')))
    with Session(store.engine) as session:
        letters = deadletters.open_letters(session, run_id=first.id)
    deadletters.replay(store, letters, "latest")
    assert contact(store, "c1")["last_name"] == "Newer", "the replay brought back the values of version 1"


def test_stored_content_hashes_are_keyed_so_a_guess_cannot_be_confirmed_offline(store: Store, src: Path) -> None:
    """Someone reading the bindings who guesses a source record (a tax id, say) cannot check the guess with
    an unkeyed hash of it: every stored hash is an HMAC under the keyring's content-hash key."""
    rows = contact_rows(5)
    write_jsonl(src / "contacts-0000.jsonl", rows)
    configure(store, "src", "files", files_config(src), "src_contacts", spec())
    assert execute(store).created == 5
    with store.engine.connect() as conn:
        stored = set(conn.execute(select(Binding.inbound_hash)).scalars())
    texts = [f"src_contacts:1:{canonical(row)}" for row in rows]
    assert stored == {store.keyring.content_hash(t) for t in texts}
    assert not stored & {hashlib.sha256(t.encode()).hexdigest() for t in texts}
