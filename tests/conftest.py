"""Shared fixtures: the store on SQLite and on PostgreSQL, contexts, a CLI runner.

The ``db_url`` fixture runs each store test twice, on an SQLite file and on the PostgreSQL server named
by HUB_TEST_PG_URL (default: the local ``test`` database). When PostgreSQL cannot be reached the
PostgreSQL half is skipped, except with CI=true, where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pluggy
import pytest
import sqlalchemy as sa

import hub.mappings.versions
import hub.sync.models  # noqa: F401
from hub.config import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEYS
from hub.core.actor import Context
from hub.core.crypto import Keyring
from hub.core.db import make_engine
from hub.core.migrate import upgrade
from hub.core.models import Base
from hub.core.store import Store
from hub.plugins import plugin_manager

PG_URL = os.environ.get("HUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_database_for_worker(worker: str) -> str | None:
    """A PostgreSQL URL of a database of this xdist worker's own (created if missing), or None."""
    base = sa.engine.make_url(PG_URL)
    name = base.database if worker in ("master", "") else f"{base.database}_{worker}"
    try:
        admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
    except sa.exc.OperationalError:
        return None
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_url(worker_id: str) -> str:
    url = _pg_database_for_worker(worker_id)
    if url is None:
        if CI:
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL} (CI=true: this is a failure, not a skip)")
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL}")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


def _truncate(engine: sa.Engine) -> None:
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"TRUNCATE {', '.join(names)} CASCADE")
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for n in names:
                conn.exec_driver_sql(f"DELETE FROM {n}")
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.exec_driver_sql("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database: an SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
        upgrade(url)
        yield url
        return
    url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    _truncate(engine)
    engine.dispose()
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite file only (for tests that are about the embedded default)."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def plugins() -> pluggy.PluginManager:
    """The session's one plugin manager (built-ins, installed plugins, HUB_PLUGINS), given to every store."""
    return plugin_manager()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY)


@pytest.fixture
def store(db_url: str, keyring: Keyring, plugins: pluggy.PluginManager) -> Iterator[Store]:
    engine = make_engine(db_url)
    yield Store(engine, keyring, plugins=plugins)
    engine.dispose()


@pytest.fixture
def ctx() -> Context:
    return Context.system("test")


@pytest.fixture
def hub_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """HUB_* variables pointing the CLI at the test database."""
    monkeypatch.setenv("HUB_DATABASE_URL", db_url)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HUB_ENCRYPTION_KEYS", raising=False)
    monkeypatch.delenv("HUB_ENV", raising=False)
    return db_url
