"""Bulk insert of new rows: COPY on PostgreSQL (several times faster than INSERT), executemany elsewhere.

Used for rows that cannot conflict: audit events, new records, new bindings, blind-index digests.
Values pass through each column type's bind processing first, so what COPY writes is what an INSERT
would have written. A database error comes back as SQLAlchemy's DBAPIError, like any statement's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, Table, insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from hub.core.types import UTCDateTime

_ORJSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if not value and isinstance(value, list | dict):
        return "[]" if isinstance(value, list) else "{}"
    try:
        return orjson.dumps(value, default=str, option=_ORJSON).decode()
    except TypeError:  # what orjson refuses (keys that are not text, integers beyond 64 bits)
        return json.dumps(value, ensure_ascii=False, default=str)


def _repeating(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``proc`` remembering its last answer: a batch's rows share one timestamp object."""
    last: list[Any] = [object(), None]

    def convert(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, proc(value)
        return last[1]

    return convert


def _converter(column: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """How a Python value becomes what COPY writes for ``column`` (None: as it is)."""
    if isinstance(column.type, JSON) or isinstance(getattr(column.type, "impl", None), JSON):
        return _json_text
    proc: Callable[[Any], Any] | None = column.type.bind_processor(dialect)
    if proc is not None and isinstance(column.type, DateTime | UTCDateTime):
        return _repeating(proc)
    return proc


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
    plan = [(c.name, _converter(c, conn.dialect)) for c in columns]
    names = ", ".join(f'"{c.name}"' for c in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cur, cur.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write([row[name] if conv is None else conv(row[name]) for name, conv in plan])
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
    except psycopg.Error as exc:
        raise DBAPIError(statement, None, exc) from exc
