"""bench/server_cpu.py finds the local PostgreSQL server and counts the CPU a backend used after it ended."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from server_cpu import postmaster, server_cpu


def test_a_backend_that_burned_cpu_and_ended_is_counted(pg_url: str) -> None:
    pm = postmaster()
    if pm is None:  # a server elsewhere (HUB_TEST_PG_URL); CI's runs on this machine
        if os.environ.get("CI") == "true":
            pytest.fail("no local PostgreSQL server process (CI=true: this is a failure, not a skip)")
        pytest.skip("PostgreSQL does not run on this machine")
    before = server_cpu(pm)
    assert before is not None
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:  # about half a second of the server's CPU, then the backend exits
        assert conn.scalar(sa.text("SELECT count(*) FROM generate_series(1, 5000000)")) == 5_000_000
    engine.dispose()
    after = None
    for _ in range(50):  # the postmaster reaps the ended backend within moments
        after = server_cpu(pm)
        assert after is not None
        if after - before >= 0.2:
            break
        time.sleep(0.05)
    assert after is not None and after - before >= 0.2


def test_no_server_is_none() -> None:
    assert server_cpu(None) is None
    assert server_cpu(2**22 + 12345) is None  # no such process
