"""PostgreSQL databases made fresh for one benchmark or test run: created empty, dropped afterwards.

    url = fresh_database("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", "hub_bench_store")
    ...
    drop_database(url)
"""

from __future__ import annotations

import sqlalchemy as sa


def fresh_database(base_url: str, name: str) -> str:
    """The URL of database ``name`` on ``base_url``'s server, dropped (with its sessions) and created empty."""
    url = sa.engine.make_url(base_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database ``url`` names, ending its sessions; nothing happens when it does not exist."""
    u = sa.engine.make_url(url)
    admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
    finally:
        admin.dispose()
