"""Schema migrations (hub.core.migrate): the models and the migrations agree, and migrations run both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from hub.core.db import make_engine
from hub.core.migrate import alembic_config, current, drift, head, upgrade
from migrations.schema import metadata


def model_tables() -> set[str]:
    """Every table the models of every layer declare (migrations.schema imports them all)."""
    return set(metadata.tables)


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_models_and_migrations_do_not_drift_on_sqlite(sqlite_url: str) -> None:
    assert drift(sqlite_url, metadata) == []
    assert current(sqlite_url) == head()


@pytest.mark.postgres
def test_models_and_migrations_do_not_drift_on_postgresql(pg_url: str) -> None:
    assert drift(pg_url, metadata) == []
    assert current(pg_url) == head()
    assert tables(pg_url) >= model_tables()


def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert current(url) is None
    assert drift(url, metadata) != []  # an empty database differs from the models
    upgrade(url)
    assert current(url) == head()
    assert tables(url) == model_tables() | {"alembic_version"}
    command.downgrade(alembic_config(url), "base")
    assert current(url) is None
    assert tables(url) <= {"alembic_version"}
    upgrade(url)
    assert current(url) == head()
    assert tables(url) == model_tables() | {"alembic_version"}
    assert drift(url, metadata) == []
