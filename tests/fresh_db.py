"""Faster fresh databases for the store tests (same contract as tests/conftest.py's ``db_url``).

Every store test runs on an SQLite file and on PostgreSQL. Migrating a new SQLite file (about 0.15 s)
and TRUNCATE of every PostgreSQL table (about 0.1 s) dominate these tests, so here the SQLite file is a
copy of one migrated template and PostgreSQL tables are emptied with DELETE, which for the few rows a
test writes is more than ten times faster. The result is the same: a migrated, empty database with the
audit head at genesis.

A conftest.py that wants them imports the fixtures by name (tests/core, tests/imports, tests/people).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.core.audit import GENESIS
from hub.core.db import make_engine
from hub.core.migrate import upgrade
from hub.core.models import Base


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hub.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE teams SET manager_id = NULL")
            for table in reversed(Base.metadata.sorted_tables):
                conn.exec_driver_sql(f"DELETE FROM {table.name}")
            conn.exec_driver_sql(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database: an SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "hub.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_url")
    _empty_postgres(url)
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """A migrated SQLite file only (for tests that are about the embedded default)."""
    path = tmp_path / "hub.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def empty_pg_url(pg_url: str) -> str:
    """The PostgreSQL test database, emptied (for tests that run on PostgreSQL only)."""
    _empty_postgres(pg_url)
    return pg_url
