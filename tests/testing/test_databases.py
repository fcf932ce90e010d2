"""fresh_database and drop_database: the benchmarks' PostgreSQL databases, made empty and dropped."""

from __future__ import annotations

import sqlalchemy as sa

from hub.testing.databases import drop_database, fresh_database


def _exists(url: str, name: str) -> bool:
    admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"))
    try:
        with admin.connect() as conn:
            return conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}).first() \
                is not None
    finally:
        admin.dispose()


def test_fresh_database_is_empty_each_time_and_dropped_after(pg_url: str) -> None:
    name = f"{sa.engine.make_url(pg_url).database}_fresh"
    url = fresh_database(pg_url, name)
    assert sa.engine.make_url(url).database == name
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE leftover (x int)")
    holder = engine.connect()  # an open session does not keep the database from being made afresh
    try:
        url = fresh_database(pg_url, name)
        check = sa.create_engine(url)
        with check.connect() as conn:
            assert conn.exec_driver_sql("SELECT to_regclass('leftover')").scalar() is None
        check.dispose()
    finally:
        holder.close()
        engine.dispose()
    drop_database(url)
    assert not _exists(pg_url, name)
    drop_database(url)  # a second drop does nothing
