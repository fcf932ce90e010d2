"""Schema migrations: upgrade a database with Alembic, and compare the models with the migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

import migrations
from hub.core.db import make_engine

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)


def alembic_config(url: str) -> Config:
    """An Alembic Config pointing at the shipped migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (creating it when it is an SQLite file)."""
    command.upgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database is at (None when never migrated)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    """The newest revision shipped."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def drift(url: str, metadata: MetaData) -> list[Any]:
    """Differences between ``metadata`` and a database migrated to head (empty when they agree).

    ``metadata`` is the whole schema, migrations.schema.metadata: the kernel does not import the higher
    layers whose tables it includes (docs/architecture.md).
    """
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))
