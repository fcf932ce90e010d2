"""Benchmark: batch upsert of contacts through the store's write path vs a bare INSERT ... ON CONFLICT.

Ours validates every field (e-mail, phone), checks access, binds external ids, diffs against the stored
row and writes a hash-chained audit event per record. The baseline is SQLAlchemy Core's
``INSERT ... ON CONFLICT (external_id) DO UPDATE`` of the same rows into a table of the same shape, with
no validation, bindings or audit. Both run in the same process, on the same data, in batches of the
same size, against the same PostgreSQL. Then ours again with the same rows (all unchanged).

    python bench/store_write.py --records 100000
ends with one line: RESULT records_per_s=... bare_per_s=... vs_bare=... unchanged_per_s=...
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from hub.config import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEYS
from hub.core.actor import Context
from hub.core.binding import ExternalRef
from hub.core.crypto import Keyring
from hub.core.db import make_engine
from hub.core.migrate import upgrade
from hub.core.models import Contact
from hub.core.store import Store
from hub.core.types import new_id, utcnow
from hub.core.write import Row
from hub.plugins import plugin_manager
from hub.testing.databases import fresh_database

FIRST = ["Wei", "Fang", "Emma", "Liam", "Olivia", "Noah", "Min", "Jing", "Lucas", "Mia", "芳", "伟"]
LAST = ["Wang", "Li", "Smith", "Müller", "Zhang", "Brown", "Chen", "Schmidt", "王", "李", "Taylor", "Weber"]


def make_rows(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    return [{
        "external_id": f"c{i:08d}",
        "first_name": rnd.choice(FIRST),
        "last_name": rnd.choice(LAST),
        "email": f"person{i}@example{rnd.randrange(50)}.com",
        "phone": f"+49 30 {rnd.randrange(1_000_000, 9_999_999)}",
        "city": rnd.choice(["Berlin", "上海", "Boston", "London"]),
        "country": rnd.choice(["DE", "CN", "US", "GB"]),
        "job_title": rnd.choice(["CEO", "Buyer", "CTO", "采购经理"]),
    } for i in range(n)]


def bare_table(metadata: sa.MetaData) -> sa.Table:
    """A copy of the contacts table with a unique external_id, written without the hub."""
    cols = [sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in Contact.__table__.columns]
    return sa.Table("bench_bare_contacts", metadata, *cols, sa.Column("external_id", sa.String(255), unique=True))


def bare_batch(engine: sa.Engine, table: sa.Table, rows: list[dict[str, Any]]) -> float:
    """One batch of the baseline: INSERT ... ON CONFLICT DO UPDATE, no validation, bindings or audit."""
    cols = [c.name for c in table.columns if c.name not in ("id", "external_id", "created_at")]
    start = time.perf_counter()
    now = utcnow()
    values = [{**{c: None for c in cols}, **r, "id": new_id(), "created_at": now, "updated_at": now,
               "version": 1, "tags": [], "custom": {}, "do_not_email": False} for r in rows]
    stmt = pg_insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=["external_id"], set_={c: stmt.excluded[c] for c in cols})
    with engine.begin() as conn:
        conn.execute(stmt, values)
    return time.perf_counter() - start


def hub_batch(store: Store, rows: list[dict[str, Any]], counts: dict[str, int]) -> float:
    """One batch through the store's write path (validation, bindings, audit)."""
    start = time.perf_counter()
    chunk = [Row({k: v for k, v in r.items() if k != "external_id"},
                 ref=ExternalRef("bench", "contacts", r["external_id"])) for r in rows]
    with store.writing(Context.system("bench")) as tx:
        result = tx.write_many("contacts", chunk)
    for k, v in result.counts.items():
        counts[k] = counts.get(k, 0) + v
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--pg", default=os.environ.get("HUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = p.parse_args()
    url = fresh_database(args.pg, "hub_bench_store")
    upgrade(url)
    engine = make_engine(url)
    metadata = sa.MetaData()
    table = bare_table(metadata)
    metadata.create_all(engine)
    store = Store(engine, Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY), plugins=plugin_manager())
    rows = make_rows(args.records)
    print(f"{args.records} contacts, batches of {args.batch}, PostgreSQL", file=sys.stderr)
    # Interleaved batch by batch, so a change in machine load affects both sides alike.
    bare_s = hub_s = 0.0
    counts: dict[str, int] = {}
    for i in range(0, len(rows), args.batch):
        bare_s += bare_batch(engine, table, rows[i:i + args.batch])
        hub_s += hub_batch(store, rows[i:i + args.batch], counts)
    print(f"bare INSERT ... ON CONFLICT: {bare_s:.2f}s", file=sys.stderr)
    print(f"hub write path (validation, bindings, audit): {hub_s:.2f}s {counts}", file=sys.stderr)
    again: dict[str, int] = {}
    again_s = sum(hub_batch(store, rows[i:i + args.batch], again) for i in range(0, len(rows), args.batch))
    print(f"hub again, all unchanged: {again_s:.2f}s {again}", file=sys.stderr)
    with engine.connect() as conn:
        n_contacts = conn.scalar(sa.text("SELECT count(*) FROM contacts"))
        n_audit = conn.scalar(sa.text("SELECT count(*) FROM audit_events"))
        n_bind = conn.scalar(sa.text("SELECT count(*) FROM bindings"))
    assert counts.get("created") == args.records and n_contacts == args.records, (counts, n_contacts)
    assert n_audit == args.records and n_bind == args.records, (n_audit, n_bind)
    assert again.get("unchanged") == args.records, again
    engine.dispose()
    hub_rate, bare_rate, again_rate = args.records / hub_s, args.records / bare_s, args.records / again_s
    print(f"RESULT records_per_s={hub_rate:.0f} bare_per_s={bare_rate:.0f} vs_bare={hub_rate / bare_rate:.2f} "
          f"unchanged_per_s={again_rate:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
