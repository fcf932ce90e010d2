"""Bulk inserts (hub.core.bulk): binary COPY when every value has its column's type, text otherwise, and the
database's own errors either way; executemany on SQLite."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hub.core import bulk
from hub.core.actor import Context
from hub.core.models import Account
from hub.core.store import Store
from hub.core.types import JSONType, UTCDateTime
from hub.core.write import Row

META = sa.MetaData()
ITEMS = sa.Table("bulk_items", META, sa.Column("id", sa.Uuid, primary_key=True), sa.Column("n", sa.Integer),
                 sa.Column("amount", sa.Numeric(18, 4)), sa.Column("label", sa.String(10)),
                 sa.Column("day", sa.Date), sa.Column("at", UTCDateTime), sa.Column("data", JSONType))
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    if not db_url.startswith("postgresql"):
        pytest.skip("COPY is PostgreSQL's (SQLite takes executemany, as every other write there)")
    engine = sa.create_engine(db_url)
    META.drop_all(engine)
    META.create_all(engine)
    yield engine
    META.drop_all(engine)  # the database's schema is the migrations' (tests/core/test_migrations.py)
    engine.dispose()


def insert(engine: sa.Engine, rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    with Session(engine) as session, session.begin():
        bulk.bulk_insert(session, ITEMS, rows)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(ITEMS.c.n, ITEMS.c.amount, ITEMS.c.label, ITEMS.c.day,
                                                         ITEMS.c.data).order_by(ITEMS.c.n))]


def row(key: int, **extra: object) -> dict[str, object]:
    return {"id": uuid.uuid4(), "n": key, "amount": Decimal("12345678901234.5678"), "label": f"item {key}",
            "day": dt.date(2024, 2, 29), "at": NOW, "data": {"tags": ["a", "中"], "n": key}} | extra


def test_typed_rows_are_stored_exactly(engine: sa.Engine) -> None:
    stored = insert(engine, [row(1), row(2, data=None, amount=None)])
    assert stored[0][1:] == (Decimal("12345678901234.5678"), "item 1", dt.date(2024, 2, 29),
                             {"tags": ["a", "中"], "n": 1})
    assert stored[1][1:] == (None, "item 2", dt.date(2024, 2, 29), None)


def test_a_value_of_another_type_sends_the_batch_as_text(engine: sa.Engine) -> None:
    stored = insert(engine, [row(1), row(2, amount=7), row(3, day="2024-03-01")])
    assert [(r[0], r[1], r[3]) for r in stored] == [(1, Decimal("12345678901234.5678"), dt.date(2024, 2, 29)),
                                                   (2, Decimal(7), dt.date(2024, 2, 29)),
                                                   (3, Decimal("12345678901234.5678"), dt.date(2024, 3, 1))]


@pytest.mark.parametrize("bad", [{"n": 1 << 40}, {"label": "x" * 11}, {"label": "nul\x00"}])
def test_the_database_refuses_bad_values_in_either_format(engine: sa.Engine, bad: dict[str, object]) -> None:
    with pytest.raises(DBAPIError), Session(engine) as session, session.begin():
        bulk.bulk_insert(session, ITEMS, [row(1), row(2, **bad)])


def test_decimals_are_stored_exactly_by_batch_inserts_and_updates(store: Store, ctx: Context) -> None:
    """18 significant digits survive a batch insert (COPY on PostgreSQL) and an update: never via float.
    (SQLite keeps NUMERIC as a double, 15 digits; the hub's embedded default is for trying it out.)"""
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite stores NUMERIC as a 64-bit float")
    big = "12345678901234.5678"
    with store.writing(ctx) as tx:
        result = tx.write_many("accounts", [Row({"name": f"Exact {i}", "credit_limit": big}) for i in range(3)])
        ids = [r.id for r in result.results]
        tx.update("accounts", ids[0], {"credit_limit": "98765432109876.4321"})
    with Session(store.engine) as session:  # read back in a new session, as stored
        stored = {r.id: r.credit_limit for r in session.scalars(select(Account).where(Account.id.in_(ids)))}
    assert stored[ids[0]] == Decimal("98765432109876.4321")
    assert stored[ids[1]] == stored[ids[2]] == Decimal(big)


# -- work while the server stores the rows (hub.core.copy_writer) ------------------------------------------
def test_meanwhile_runs_once_after_the_rows_are_sent_and_before_the_outcome(engine: sa.Engine,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.core import copy_writer

    steps: list[str] = []
    sent = copy_writer._send_end

    def send_end(pgconn: object):  # type: ignore[no-untyped-def]
        steps.append("end sent")
        return (yield from sent(pgconn))

    monkeypatch.setattr(copy_writer, "_send_end", send_end)
    with Session(engine) as session, session.begin():
        bulk.bulk_insert(session, ITEMS, [row(k) for k in range(1, 1001)], meanwhile=lambda: steps.append("work"))
        assert steps == ["end sent", "work"]
        assert session.scalar(select(sa.func.count()).select_from(ITEMS)) == 1000  # the connection goes on
    with engine.connect() as conn:
        assert conn.scalar(select(sa.func.sum(ITEMS.c.n))) == 1000 * 1001 // 2


@pytest.mark.parametrize("as_text", [False, True])
def test_a_refused_copy_is_reported_after_the_work_ran(engine: sa.Engine, as_text: bool) -> None:
    first = uuid.uuid4()
    worked: list[int] = []
    extra = {"day": "2024-03-01"} if as_text else {}  # a value that is not its column's type: text COPY
    with pytest.raises(sa.exc.IntegrityError) as raised, Session(engine) as session, session.begin():
        bulk.bulk_insert(session, ITEMS, [row(1, id=first, **extra), row(2, id=first)],
                         meanwhile=lambda: worked.append(1))
    assert worked == [1] and getattr(raised.value.orig, "sqlstate", None) == "23505"  # unique violation
    with engine.connect() as conn:
        assert conn.scalar(select(sa.func.count()).select_from(ITEMS)) == 0


def test_work_that_fails_leaves_the_connection_usable_and_nothing_stored(engine: sa.Engine) -> None:
    def fail() -> None:
        raise RuntimeError("the work failed")

    with Session(engine) as session:
        with pytest.raises(RuntimeError, match="the work failed"), session.begin_nested():
            bulk.bulk_insert(session, ITEMS, [row(1), row(2)], meanwhile=fail)
        bulk.bulk_insert(session, ITEMS, [row(3)], meanwhile=lambda: None)
        session.commit()
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(select(ITEMS.c.n))] == [3]


def test_meanwhile_runs_with_no_rows_and_on_either_database(store: Store) -> None:
    table = sa.Table("bulk_plain", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True))
    table.create(store.engine)
    try:
        worked: list[str] = []
        with Session(store.engine) as session, session.begin():
            bulk.bulk_insert(session, table, [], meanwhile=lambda: worked.append("none"))
            bulk.bulk_insert(session, table, [{"n": 1}, {"n": 2}], meanwhile=lambda: worked.append("two"))
        assert worked == ["none", "two"]
        with store.engine.connect() as conn:
            assert conn.scalar(select(sa.func.count()).select_from(table)) == 2
    finally:
        table.drop(store.engine)
