"""Bulk insert of new rows: COPY on PostgreSQL (several times faster than INSERT), executemany elsewhere.

Used for rows that cannot conflict: audit events, new records, new bindings, blind-index digests.
Values pass through each column type's bind processing first, so what COPY writes is what an INSERT
would have written. A database error comes back as SQLAlchemy's DBAPIError, like any statement's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) into ``table`` in the session's transaction."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    import psycopg

    columns = [c for c in table.columns if c.name in rows[0]]
    procs = [c.type.bind_processor(conn.dialect) for c in columns]
    is_json = [isinstance(c.type, JSON) or isinstance(getattr(c.type, "impl", None), JSON) for c in columns]
    names = ", ".join(f'"{c.name}"' for c in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                values = []
                for c, proc, js in zip(columns, procs, is_json, strict=True):
                    v = row[c.name]
                    if js:
                        v = None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                    elif proc is not None:
                        v = proc(v)
                    values.append(v)
                copy.write_row(values)
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
    except psycopg.Error as exc:
        raise DBAPIError(statement, None, exc) from exc
