"""Crash safety with real workers: kill -9 in the middle of a run loses and duplicates nothing; a run that
kills its worker every time ends dead after its attempts and is never started again."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from hub.core.actor import Context
from hub.core.store import Store
from hub.core.write import Row
from hub.sync import dispatch
from tests.sync.conftest import (
    CONTACTS_SPEC,
    LEASE_SECONDS,
    ROUNDTRIP_SPEC,
    TICK_SECONDS,
    Worker,
    WorkerPool,
    configure,
    contact_rows,
    count,
    dead_letters,
    digest,
    files_config,
    landed,
    run_row,
    source_digest,
    wait_for,
    wait_run,
    write_contact_files,
)

pytestmark = pytest.mark.postgres

RECORDS = 20_000
KILLS = 3


def test_kill_9_at_random_moments_loses_and_duplicates_nothing(workers: WorkerPool, pg_store: Store,
                                                              data_dir: Path) -> None:
    seed = int(os.environ.get("HUB_CRASH_SEED", random.randrange(1_000_000)))
    rnd = random.Random(seed)
    print(f"HUB_CRASH_SEED={seed}")
    rows = write_contact_files(data_dir, RECORDS, files=4)
    configure(pg_store, "src", "files", files_config(data_dir), "src_contacts",
              CONTACTS_SPEC.format(name="src_contacts"), batch_size=500, max_attempts=KILLS + 3)
    worker = workers.start()
    run = dispatch.start(pg_store, "src", "contacts")
    engine = pg_store.engine

    # Kill at random points spread over the run: once a random number of records is committed, plus a
    # random fraction of a batch (so some kills land inside a batch's transaction, some between batches).
    targets = sorted(rnd.sample(range(RECORDS - 6 * 500), KILLS))  # each leaves > 0.15 s of work
    killed_at: list[tuple[str, int]] = []
    for target in targets:
        pid = worker.pid

        def reached(pid: int = pid, target: int = target) -> bool:
            r = run_row(pg_store, run.id)
            return r.status == "running" and f":{pid}:" in (r.lease_owner or "") and r.read >= target

        wait_for(reached, 60 + LEASE_SECONDS, f"worker {worker.number} to commit {target} records of {run.id}",
                 interval=0.02)
        time.sleep(rnd.uniform(0.0, 0.15))
        before = run_row(pg_store, run.id)
        workers.kill(worker)
        killed_at.append((before.status, before.read))
        worker = workers.restart(worker)

    print("killed at (status, records committed):", killed_at)
    assert all(status == "running" for status, _ in killed_at), killed_at
    done = wait_run(pg_store, run.id, 120, describe=workers.logs)

    assert done.status == "succeeded", done.error
    assert done.attempts == KILLS + 1
    assert (done.read, done.created, done.updated, done.quarantined) == (RECORDS, RECORDS, 0, 0)
    assert count(engine, "SELECT count(*) FROM contacts") == RECORDS
    assert count(engine, "SELECT count(*) FROM bindings WHERE connector = 'src'") == RECORDS
    assert count(engine, "SELECT count(DISTINCT external_id) FROM bindings WHERE connector = 'src'") == RECORDS
    assert count(engine, "SELECT count(*) FROM audit_events WHERE module = 'contacts'") == RECORDS
    assert digest(landed(engine, "src")) == source_digest(rows)
    assert dead_letters(pg_store) == []
    last = data_dir / "contacts-0003.jsonl"
    assert done.checkpoint == {"file": last.name, "offset": last.stat().st_size, "line": RECORDS // 4}


def test_a_run_that_kills_its_worker_every_time_ends_dead_and_never_loops(workers: WorkerPool, pg_store: Store,
                                                                          data_dir: Path) -> None:
    write_contact_files(data_dir, 100)
    configure(pg_store, "killer", "killer-files", files_config(data_dir, kill_after=5), "src_contacts",
              CONTACTS_SPEC.format(name="src_contacts"), batch_size=50, max_attempts=3)
    worker = workers.start()
    run = dispatch.start(pg_store, "killer", "contacts")

    deaths = 0
    while run_row(pg_store, run.id).status != "dead":
        current = worker

        def killed_or_dead(current: Worker = current) -> bool:
            return not current.alive() or run_row(pg_store, run.id).status == "dead"

        wait_for(killed_or_dead, 30 + 2 * LEASE_SECONDS, f"the run to kill worker {current.number} or die")
        if not worker.alive():
            deaths += 1
            assert deaths <= 3, "the run was started more often than its max_attempts"
            worker = workers.restart(worker)

    dead = run_row(pg_store, run.id)
    assert (dead.status, dead.attempts, deaths) == ("dead", 3, 3)
    assert dead.error is not None and "gave up after 3 attempts" in dead.error
    assert dead.finished_at is not None and dead.lease_owner is None

    # It stays dead: several ticks go by, a duplicate message arrives, nothing starts it again.
    dispatch.send(run.id)
    time.sleep(LEASE_SECONDS + 4 * TICK_SECONDS)
    after = run_row(pg_store, run.id)
    assert (after.status, after.attempts) == ("dead", 3)
    assert worker.alive(), "the dead run was started again and killed its worker"
    assert count(pg_store.engine, "SELECT count(*) FROM contacts") == 0


def test_kill_9_right_after_an_outbound_write_does_not_write_twice(workers: WorkerPool, pg_store: Store,
                                                                   data_dir: Path) -> None:
    """The worker dies after the system took a batch and before the engine committed it; a change made in
    the hub meanwhile must not make the retried batch a new write of the records already sent."""
    configure(pg_store, "out", "killer-files", files_config(data_dir, kill_after_write=True), "roundtrip",
              ROUNDTRIP_SPEC.format(name="roundtrip"), directions=("outbound",), batch_size=100)
    people = contact_rows(21)
    with pg_store.writing(Context.system("test")) as tx:
        tx.write_many("contacts", [Row({"email": p["email"], "last_name": p["last"]}) for p in people[:20]])
    worker = workers.start()
    run = dispatch.start(pg_store, "out", "contacts", "outbound")
    workers.wait_dead(worker, 30)
    with pg_store.writing(Context.system("test")) as tx:  # a change while no worker is up
        tx.create("contacts", {"email": people[20]["email"], "last_name": people[20]["last"]})
    workers.restart(worker)
    done = wait_run(pg_store, run.id, 60)

    assert (done.status, done.attempts) == ("succeeded", 2), done.error
    sent = [json.loads(line)["email"] for line in (data_dir / "outbox" / "contacts.jsonl").read_text().splitlines()]
    assert sorted(sent) == sorted(p["email"] for p in people), f"{len(sent)} lines for {len(people)} records"
