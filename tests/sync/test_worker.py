"""Runs carried out by real Celery workers over Redis on PostgreSQL: a flaky connection, a poison record
and its replay, two workers and at most one running run per route."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from hub.cli import cli
from hub.core.actor import Context
from hub.core.store import Store
from hub.core.write import Row
from hub.sync import dispatch
from hub.sync.models import DeadLetter, SyncRun, open_payload
from hub.sync.retry import RetryPolicy
from tests.sync.chaos import JOURNAL
from tests.sync.conftest import (
    CONTACTS_SPEC,
    LEASE_SECONDS,
    ROUNDTRIP_SPEC,
    WorkerPool,
    configure,
    contact_rows,
    count,
    dead_letters,
    digest,
    files_config,
    landed,
    run_row,
    save_mapping,
    source_digest,
    wait_for,
    wait_run,
    write_contact_files,
    write_jsonl,
)

pytestmark = pytest.mark.postgres


# -- 2. a connection that fails 30% of the time ----------------------------------------------------------
def test_a_flaky_connection_delivers_every_record_once(workers: WorkerPool, pg_store: Store, data_dir: Path) -> None:
    rows = write_contact_files(data_dir, 5000, files=2)
    config = files_config(data_dir, fail_rate=0.3, fail_every=500, seed=20240229)
    configure(pg_store, "flaky", "flaky-files", config, "src_contacts", CONTACTS_SPEC.format(name="src_contacts"),
              batch_size=250, max_attempts=5)
    workers.start()
    run = dispatch.start(pg_store, "flaky", "contacts")
    done = wait_run(pg_store, run.id, 150)

    assert done.status == "succeeded", done.error
    assert done.retries >= 1, "the connection never failed: the test tests nothing"
    assert done.attempts <= done.max_attempts
    assert done.retries <= RetryPolicy().attempts * done.attempts  # bounded: no endless retrying
    assert (done.read, done.created, done.quarantined) == (5000, 5000, 0)
    assert count(pg_store.engine, "SELECT count(*) FROM contacts") == 5000
    assert count(pg_store.engine, "SELECT count(*) FROM bindings WHERE connector = 'flaky'") == 5000
    assert digest(landed(pg_store.engine, "flaky")) == source_digest(rows)
    assert dead_letters(pg_store) == []
    assert "connection reset by peer" in workers.logs()


def test_flaky_writes_land_once_each(workers: WorkerPool, pg_store: Store, data_dir: Path) -> None:
    """Writes fail before sending or lose their answer; the idempotency key keeps retries from writing twice."""
    configure(pg_store, "flaky", "flaky-files", files_config(data_dir, fail_rate=0.3, seed=7), "roundtrip",
              ROUNDTRIP_SPEC.format(name="roundtrip"), directions=("outbound",), batch_size=25)
    people = contact_rows(300)
    with pg_store.writing(Context.system("test")) as tx:
        result = tx.write_many("contacts", [Row({"email": p["email"], "first_name": p["first"],
                                                 "last_name": p["last"], "city": p["city"]}) for p in people])
    assert all(r.status == "created" for r in result.results)
    workers.start()
    run = dispatch.start(pg_store, "flaky", "contacts", "outbound")
    done = wait_run(pg_store, run.id, 150)

    assert done.status == "succeeded", done.error
    assert done.written == 300 and done.quarantined == 0
    failures = (data_dir / JOURNAL).read_text().splitlines()
    assert any("answer lost" in f for f in failures), f"no write lost its answer: the test tests little ({failures})"
    # Every failed write was retried (and counted) or ended an attempt; none went uncounted.
    assert done.retries == len(failures) - (done.attempts - 1), (done.retries, done.attempts, failures)
    sent = [json.loads(line) for line in (data_dir / "outbox" / "contacts.jsonl").read_text().splitlines()]
    assert len(sent) == 300, "a retried write landed twice (or not at all)"
    assert sorted(s["email"] for s in sent) == sorted(p["email"] for p in people)
    assert len({s["id"] for s in sent}) == 300
    assert count(pg_store.engine, "SELECT count(*) FROM bindings WHERE connector = 'flaky' "
                                  "AND outbound_hash IS NOT NULL") == 300


# -- 3. a poison record: quarantined, then replayed through the fixed mapping -------------------------
POISON_SPEC = CONTACTS_SPEC + "  birthday: {{from: birthday, transform: [{dates}]}}\n"


def test_a_poison_record_is_quarantined_then_replayed_with_the_fixed_mapping(
        workers: WorkerPool, pg_store: Store, pg_url: str, data_dir: Path, tmp_path: Path) -> None:
    rows = contact_rows(1000)
    for i, row in enumerate(rows):
        row["birthday"] = f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}"
    rows[437]["birthday"] = "01.02.1990"  # German, not ISO: the first mapping rejects it
    write_jsonl(data_dir / "contacts-0000.jsonl", rows)
    configure(pg_store, "src", "files", files_config(data_dir), "src_contacts",
              POISON_SPEC.format(name="src_contacts", dates="date"), batch_size=200)
    workers.start()
    run = dispatch.start(pg_store, "src", "contacts")
    done = wait_run(pg_store, run.id, 60)

    assert done.status == "succeeded", done.error
    assert (done.read, done.created, done.quarantined, done.mapping_version) == (1000, 999, 1, 1)
    [letter] = dead_letters(pg_store)
    assert (letter.run_id, letter.external_id, letter.status, letter.error_kind) == (run.id, "c000437", "open",
                                                                                       "mapping")
    assert "birthday" in letter.error and "01.02.1990" in letter.error
    assert open_payload(pg_store.keyring, letter)["birthday"] == "01.02.1990" and letter.mapping_version == 1
    assert count(pg_store.engine, "SELECT count(*) FROM contacts") == 999

    fixed = save_mapping(pg_store, POISON_SPEC.format(name="src_contacts", dates='{date: [iso, "%d.%m.%Y"]}'))
    assert fixed == 2
    env = {"HUB_DATABASE_URL": pg_url, "HUB_VAR_DIR": str(tmp_path / "var")}
    result = CliRunner().invoke(cli, ["deadletters", "replay", "--run", str(run.id), "--mapping", "latest"], env=env)
    assert result.exit_code == 0, result.output
    assert "replayed 1, failed again 0" in result.output

    with Session(pg_store.engine) as session:
        replayed = session.get(DeadLetter, letter.id)
        assert replayed is not None and replayed.status == "replayed" and replayed.replay_run_id is not None
        replay_run = session.get(SyncRun, replayed.replay_run_id)
        assert replay_run is not None
        assert (replay_run.kind, replay_run.status, replay_run.created, replay_run.mapping_version) == (
            "replay", "succeeded", 1, 2)
    assert count(pg_store.engine, "SELECT count(*) FROM contacts") == 1000
    assert count(pg_store.engine, "SELECT count(*) FROM bindings WHERE connector = 'src'") == 1000
    birthday = count(pg_store.engine, "SELECT count(*) FROM contacts c JOIN bindings b ON b.record_id = c.id "
                                      "WHERE b.external_id = 'c000437' AND c.birthday = '1990-02-01'")
    assert birthday == 1
    assert digest(landed(pg_store.engine, "src")) == source_digest(rows)


# -- 5. two workers, one running run per route ------------------------------------------------------
RUNS = 6


def test_two_workers_never_run_two_runs_of_a_route_at_once(workers: WorkerPool, pg_store: Store,
                                                             data_dir: Path) -> None:
    write_contact_files(data_dir, 200)
    configure(pg_store, "slow", "slow-files", files_config(data_dir, delay=0.006), "src_contacts",
              CONTACTS_SPEC.format(name="src_contacts"), batch_size=50)
    first, second = workers.start(beat=True), workers.start(beat=False)

    samples: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        with pg_store.engine.connect() as conn:
            while not stop.is_set():
                samples.append(int(conn.execute(sa.text(
                    "SELECT count(*) FROM sync_runs WHERE instance = 'slow' AND stream = 'contacts' "
                    "AND direction = 'inbound' AND status = 'running'")).scalar_one()))
                conn.commit()
                time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started: list[uuid.UUID] = []
    try:
        for _ in range(RUNS):
            run = dispatch.start(pg_store, "slow", "contacts", full=True)
            again = dispatch.start(pg_store, "slow", "contacts", full=True)
            assert again.id == run.id, "a second start while one is queued must reuse the queued run"
            started.append(run.id)
            wait_for(lambda run=run: run_row(pg_store, run.id).status != "queued", 60,  # type: ignore[misc]
                     f"run {run.id} to leave the queue")
        finished = [wait_run(pg_store, rid, 60) for rid in started]
    finally:
        stop.set()
        watcher.join(timeout=5)

    assert [r.status for r in finished] == ["succeeded"] * RUNS, [r.error for r in finished]
    assert [r.attempts for r in finished] == [1] * RUNS, "waiting for the route (Busy) must not cost an attempt"
    assert [r.created for r in finished] == [200] + [0] * (RUNS - 1)
    assert [r.unchanged for r in finished] == [0] + [200] * (RUNS - 1)
    assert len(samples) > 100 and max(samples) == 1, f"{len(samples)} samples, max {max(samples)}"
    spans = sorted((r.started_at, r.finished_at) for r in finished)
    for (_, end), (begin, _) in itertools.pairwise(spans):
        assert end is not None and begin is not None and begin >= end, spans
    by_worker = [_succeeded_runs(w.log_text()) for w in (first, second)]
    assert sum(by_worker) == RUNS and all(by_worker), f"runs per worker: {by_worker}"


def _succeeded_runs(log: str) -> int:
    """How many hub.sync.run tasks a worker's log says ended with the run succeeded."""
    return sum(1 for line in log.splitlines()
               if "Task hub.sync.run[" in line and "succeeded in" in line and "'succeeded'" in line)


# -- leases are for dead workers ---------------------------------------------------------------------
def test_a_live_worker_keeps_its_run_while_one_batch_takes_longer_than_the_lease(workers: WorkerPool,
                                                                                  pg_store: Store,
                                                                                  data_dir: Path) -> None:
    """An expired lease means the worker died. A worker that is alive, reading a slow batch (a slow API:
    a batch takes longer than the lease), must keep its run: another worker must not take it over and
    throw its work away, and the run must not use up its attempts that way."""
    rows = write_contact_files(data_dir, 40)
    per_record = LEASE_SECONDS * 1.6 / 20
    configure(pg_store, "slow", "slow-files", files_config(data_dir, delay=per_record), "src_contacts",
              CONTACTS_SPEC.format(name="src_contacts"), batch_size=20, max_attempts=3)
    workers.start(beat=True)
    workers.start(beat=False)
    run = dispatch.start(pg_store, "slow", "contacts")
    done = wait_run(pg_store, run.id, 90)

    assert (done.status, done.attempts) == ("succeeded", 1), f"{done.status}, {done.attempts} attempts: {done.error}"
    assert (done.read, done.created) == (40, 40)
    assert digest(landed(pg_store.engine, "slow")) == source_digest(rows)
