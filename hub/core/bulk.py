"""Bulk insert of new rows: COPY on PostgreSQL (several times faster than INSERT), executemany elsewhere.

Used for rows that cannot conflict: audit events, new records, new bindings, blind-index digests.
Values pass through each column type's bind processing first, so what COPY writes is what an INSERT
would have written. A database error comes back as SQLAlchemy's DBAPIError, like any statement's.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Json, Jsonb
from sqlalchemy import JSON, DateTime, Numeric, Table, insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from hub.core.copy_writer import WorkWhileStoring
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
    if isinstance(column.type, Numeric):
        return None  # psycopg writes a Decimal exactly; SQLAlchemy's processor would make it a float first
    proc: Callable[[Any], Any] | None = column.type.bind_processor(dialect)
    if proc is not None and isinstance(column.type, DateTime | UTCDateTime):
        return _repeating(proc)
    return proc


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]],
                meanwhile: Callable[[], None] | None = None) -> None:
    """Insert ``rows`` (all with the same keys) into ``table`` in the session's transaction.

    ``meanwhile`` is work for this thread while the server stores the rows: on PostgreSQL it runs once the
    end of the COPY is sent, before its outcome is awaited (see ``hub.core.copy_writer``). It must not use
    the connection. If it raises, the rows are stored all the same and its error is raised (the caller's
    transaction or savepoint then rolls them back)."""
    if not rows:
        if meanwhile is not None:
            meanwhile()
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        if meanwhile is not None:
            meanwhile()
        return
    columns = [c for c in table.columns if c.name in rows[0]]
    values = [list(row) for row in map(itemgetter(*(c.name for c in columns)), rows)] if len(columns) > 1 else \
        [[row[columns[0].name]] for row in rows]
    for i, column in enumerate(columns):
        conv = _converter(column, conn.dialect)
        if conv is not None:
            for row_values in values:
                row_values[i] = conv(row_values[i])
    names = ", ".join(f'"{c.name}"' for c in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    driver = conn.connection.driver_connection
    assert driver is not None
    oids = _binary_types(conn, table.name, [c.name for c in columns], values)
    try:
        with driver.cursor() as cur, cur.copy(statement if oids is None else f"{statement} (FORMAT BINARY)",
                                              writer=None if meanwhile is None else WorkWhileStoring(cur, meanwhile)
                                              ) as copy:
            if oids is not None:
                copy.set_types(oids)
            write = copy.write_row
            for row_values in values:
                write(row_values)
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
    except psycopg.Error as exc:
        raise DBAPIError(statement, None, exc) from exc


# -- binary COPY ------------------------------------------------------------------------------------------
# The binary format spares the client from writing every value as text (a quarter of a sync run's time in
# the writing process) and the server from parsing it. It needs each value to be exactly of its column's
# type, so it is used only when every value of the batch is; otherwise the batch goes as text.
_NAIVE, _AWARE, _JSON = "naive", "aware", "json"
_BINARY_TYPES: dict[int, tuple[Any, ...]] = {
    16: (bool,), 17: (bytes,), 20: (int, 63), 21: (int, 15), 23: (int, 31), 25: (str,), 1042: (str,), 1043: (str,),
    700: (float,), 701: (float,), 1082: (dt.date,), 1700: (Decimal,), 2950: (uuid.UUID,),
    1114: (_NAIVE,), 1184: (_AWARE,), 114: (_JSON,), 3802: (_JSON,),
}


def _column_types(conn: Any, table: str) -> dict[str, int]:
    """The type oid of each column of ``table``, looked up once per database connection."""
    cache: dict[str, dict[str, int]] = conn.info.setdefault("hub_column_types", {})
    if table not in cache:
        found = conn.exec_driver_sql(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %(t)s::regclass AND attnum > 0 "
            "AND NOT attisdropped", {"t": f'"{table}"'})
        cache[table] = {str(name): int(oid) for name, oid in found}
    return cache[table]


def _binary_types(conn: Any, table: str, names: list[str], values: list[list[Any]]) -> list[int] | None:
    """The column oids for a binary COPY of ``values`` (JSON values wrapped in place), or None for text."""
    types = _column_types(conn, table)
    oids = [types.get(name, 0) for name in names]
    kinds = [_BINARY_TYPES.get(oid) for oid in oids]
    if any(kind is None for kind in kinds):
        return None
    by_column = list(zip(*values, strict=True))
    for i, kind in enumerate(kinds):
        assert kind is not None
        allowed = kind[0]
        if allowed == _JSON:
            wrap = Jsonb if oids[i] == 3802 else Json
            for row in values:
                if row[i] is not None:
                    row[i] = wrap(row[i], dumps=_as_is)  # already JSON text (see _json_text)
            continue
        column = by_column[i]
        seen = set(map(type, column))
        seen.discard(type(None))
        if allowed in (_NAIVE, _AWARE):
            naive = allowed == _NAIVE
            if seen - {dt.datetime} or any((v.tzinfo is None) != naive for v in column if v is not None):
                return _unwrap(values, kinds)
        elif seen - {allowed}:
            return _unwrap(values, kinds)
        elif allowed is int and seen:
            numbers = [v for v in column if v is not None]
            if not (-(1 << kind[1]) <= min(numbers) and max(numbers) < 1 << kind[1]):
                return _unwrap(values, kinds)  # out of the column's range: the server says so, as for text
    return oids


def _unwrap(values: list[list[Any]], kinds: list[tuple[Any, ...] | None]) -> list[int] | None:
    """Undo the JSON wrapping of ``_binary_types`` (the batch goes as text after all)."""
    for i, kind in enumerate(kinds):
        if kind is not None and kind[0] == _JSON:
            for row in values:
                if isinstance(row[i], Json | Jsonb):
                    row[i] = row[i].obj
    return None


def _as_is(text: Any) -> Any:
    return text
