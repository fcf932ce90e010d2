"""A connector that is down does not hold a worker: its run waits to retry without one, and other runs go on.

One real Celery worker (solo pool: one run at a time) over Redis on PostgreSQL. Route "down" reads from a
server that refuses connections (tests.sync.outage, Retry-After 4 s); route "ok" reads files.
"""

from __future__ import annotations

import itertools
import socket
import time
from pathlib import Path

import pytest

from hub.core.store import Store
from hub.sync import dispatch
from tests.sync.conftest import (
    CONTACTS_SPEC,
    WorkerPool,
    configure,
    files_config,
    run_row,
    wait_for,
    wait_run,
    write_contact_files,
)
from tests.sync.outage import JOURNAL

pytestmark = pytest.mark.postgres
RETRY_AFTER = 4.0


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_connector_that_is_down_does_not_hold_the_only_worker(workers: WorkerPool, pg_store: Store,
                                                                 data_dir: Path) -> None:
    down, ok = data_dir / "down", data_dir / "ok"
    write_contact_files(down, 20)
    write_contact_files(ok, 50)
    configure(pg_store, "down", "remote-files",
              files_config(down, server=f"127.0.0.1:{closed_port()}", retry_after=RETRY_AFTER),
              "down_contacts", CONTACTS_SPEC.format(name="down_contacts"), max_attempts=2)
    configure(pg_store, "ok", "files", files_config(ok), "ok_contacts", CONTACTS_SPEC.format(name="ok_contacts"))
    workers.env["HUB_SYNC_RETRY_ATTEMPTS"] = "4"  # 3 retries, then the attempt ends
    workers.start(beat=False)

    stuck = dispatch.start(pg_store, "down", "contacts")
    wait_for(lambda: run_row(pg_store, stuck.id).status == "retrying", 30,
             lambda: f"the run of 'down' to wait to retry; it is {run_row(pg_store, stuck.id).status}\n"
                     f"{workers.logs()}")
    sent = time.monotonic()
    healthy = dispatch.start(pg_store, "ok", "contacts")
    done = wait_run(pg_store, healthy.id, 30, describe=workers.logs)
    took = time.monotonic() - sent

    assert (done.status, done.created) == ("succeeded", 50), done.error
    assert took < 5, f"the healthy run waited {took:.1f}s behind the one that is down"
    assert run_row(pg_store, stuck.id).status not in ("succeeded", "failed", "dead")

    dead = wait_run(pg_store, stuck.id, 120, describe=workers.logs)
    assert (dead.status, dead.attempts, dead.retries, dead.read) == ("dead", 2, 6, 0), dead.error
    assert dead.error is not None and "gave up after 2 attempts" in dead.error
    assert "Connection refused" in dead.error or "refused" in dead.error.lower()
    tries = [float(line) for line in (down / JOURNAL).read_text().split()]
    assert len(tries) == 8  # 4 tries in each of 2 attempts
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    within = gaps[:3] + gaps[4:]  # the retries within each attempt: never sooner than Retry-After
    assert min(within) >= RETRY_AFTER - 0.1, gaps
