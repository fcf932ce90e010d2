"""Benchmark: a whole inbound sync run (files -> mapping -> PostgreSQL) against dlt and a bare COPY pipeline.

N customer records (``--records``, default 200,000) are written as JSON Lines files into a temporary
folder and loaded three ways, each in a child process of its own (so each one's peak memory is its own):

* **hub**: the file connector, a Hub mapping spec of 15 fields (renames, nested paths, trims, lower and
  title case, phone -> E.164, a decimal with thousands separators, a date in two formats, lookup tables,
  tag splitting), into ``accounts`` through the normal path: ``Runner.execute`` of a queued run, with
  validation, bindings, the hash-chained audit trail and checkpoints, into a fresh migrated database;
* **dlt**: a dlt resource reading the same files and applying the same transformations as a hand-written
  Python function, ``write_disposition="merge"``, ``primary_key="external_id"``, destination postgres;
* **copy**: the same hand-written function, then psycopg ``COPY`` into a temp table and
  ``INSERT ... SELECT ... ON CONFLICT (external_id) DO UPDATE`` into a plain table.

The machine's speed drifts by a quarter or more within minutes, so Hub's and COPY's first loads run as
``--pairs`` back-to-back pairs (each pair in a fresh database, the order alternating): vs_copy is the median
of the pairs' ratios, and the rates are the medians. dlt loads once.

Then the files are rewritten with 10% of the records changed and all three load everything again (Hub
with ``full=True``: it re-reads every record and skips the unchanged ones by content hash). The first loads
run in the order dlt, COPY, Hub and the re-loads Hub, COPY, dlt, so Hub's re-load runs right after Hub's
first load into the same database: their ratio is taken between neighbours, as vs_copy's are. Finally Hub
alone loads a second size (N/4, or 5N with ``--growth``) to see whether its peak memory grows with N.
The results are checked: each destination holds N rows, Hub has N accounts and N bindings, one audit
event per created or changed record, and every column of every row agrees across the three.

    .venv/bin/python bench/sync.py                     # 200,000 records
    .venv/bin/python bench/sync.py --records 2000      # CI smoke test (seconds)
    .venv/bin/python bench/sync.py --growth            # peak memory at N against 5N
    .venv/bin/python bench/sync.py --profile var/prof  # also cProfile Hub's runs (timings then inflated)

ends with one line:
RESULT hub_per_s=... copy_per_s=... dlt_per_s=... vs_copy=... copy_vs_dlt=... reload_per_s=...
       reload_vs_first=... hub_peak_mb=... peak_growth=... hub_cpu_us=... copy_cpu_us=...
       hub_server_us=... copy_server_us=... vs_copy_ceiling=...
where vs_copy = the median over the pairs of Hub / COPY first-load rate (target >= 0.7), reload_vs_first =
Hub re-load / the rate of Hub's first load just before it, into the same database (target >= 1.5),
peak_growth = Hub's first-load peak RSS at the larger size / at the smaller (target <= 1.10), hub_cpu_us and
copy_cpu_us = median client CPU per record of the first loads (Hub's with its mapping helper), hub_server_us and
copy_server_us = the database server's CPU per record in the same loads (``server_cpu.py``; only when the server
runs on this machine, and then also vs_copy_ceiling = the highest vs_copy that Hub's client and server CPU per
record allow with every core of this machine busy: cores / (Hub's CPU seconds per record) / COPY's rate; when it
is below 0.7, the target needs less CPU per record or more cores, whatever the pipeline's overlap).
Needs ``psycopg2-binary`` for dlt's postgres destination.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from typing import Any

import sqlalchemy as sa
from customers import COLUMNS, PATTERN, make_record, read_records, transform, write_files
from server_cpu import postmaster, server_cpu

from hub.testing.databases import drop_database, fresh_database

INSTANCE, STREAM, MAPPING = "bench_files", "customers", "bench_customers"
DB_NAME = f"hub_bench_sync_{os.getpid()}"  # per run: others may run this benchmark on the same server
COPY_TABLE = "bench.copy_accounts"
DLT_DATASET = "bench_dlt"

SPEC = """
mapping: bench_customers
description: Customers from a file drop become accounts.
source: {connector: files, stream: customers}
target: {module: accounts}
tables:
  countries: {Germany: DE, Deutschland: DE, China: CN, 中国: CN, United States: US, USA: US,
              United Kingdom: GB, France: FR}
fields:
  name:           {from: company, transform: [strip]}
  email:          {from: contact.email, transform: [strip, lower]}
  phone:          {from: contact.phone, transform: [{phone: {region: DE}}]}
  website:        {from: web, transform: [strip, lower]}
  street:         {from: address.street, transform: [strip]}
  postal_code:    {from: address.zip, transform: [strip]}
  city:           {from: address.city, transform: [strip, title]}
  country:        {from: address.country, transform: [strip], lookup: countries}
  currency:       {from: currency, transform: [strip, upper]}
  credit_limit:   {from: credit_limit, transform: [{decimal: {thousands: ","}}]}
  industry:       {from: industry, transform: [strip, lower]}
  account_type:   {from: kind, lookup: {table: {C: customer, P: partner, V: vendor, X: prospect}}}
  status:         {from: state, lookup: {table: {A: active, I: inactive, B: blocked}, default: active}}
  tags:           {from: labels, transform: [split]}
  customer_since: {from: since, transform: [{date: ["%d.%m.%Y", "%Y-%m-%d"]}]}
"""

# -- databases --------------------------------------------------------------------------------------------
def plain_dsn(url: str) -> str:
    """``url`` without SQLAlchemy's driver suffix (for psycopg and dlt)."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def files_config(folder: Path) -> dict[str, Any]:
    return {"path": str(folder), "streams": {STREAM: {"pattern": PATTERN, "format": "jsonl", "key": "id"}}}


def setup_hub(url: str, folder: Path, batch: int) -> None:
    """Migrate, add the custom date field, save the mapping, configure the instance and its route."""
    from connectors.files import FilesConnector
    from hub.config import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEYS
    from hub.core.actor import Context
    from hub.core.crypto import Keyring
    from hub.core.db import make_engine
    from hub.core.migrate import upgrade
    from hub.core.modules import define_custom_field, field_names
    from hub.core.store import Store
    from hub.mappings import versions
    from hub.plugins import plugin_manager
    from hub.sync.instances import add_instance, add_route

    upgrade(url)
    engine = make_engine(url)
    store = Store(engine, Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY), plugins=plugin_manager())
    with store.writing(Context.system("bench")) as tx:
        define_custom_field(tx.session, "accounts", "customer_since", "date", label="Customer since")
        versions.save(tx.session, SPEC, tx.ctx.actor.name, catalog=field_names(tx.session))
        add_instance(tx.session, tx.audit, store.keyring, {"files": FilesConnector}, INSTANCE, "files",
                     files_config(folder))
        add_route(tx.session, tx.audit, INSTANCE, STREAM, "inbound", "accounts", MAPPING, batch_size=batch)
    engine.dispose()


def setup_copy(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS bench")
        conn.exec_driver_sql(f"""CREATE TABLE {COPY_TABLE} (
            external_id text PRIMARY KEY, name varchar(200) NOT NULL, email varchar(254), phone varchar(32),
            website varchar(300), street varchar(200), postal_code varchar(20), city varchar(100),
            country varchar(2), currency varchar(3), credit_limit numeric(18, 4), industry varchar(100),
            account_type varchar(16) NOT NULL, status varchar(16) NOT NULL, tags jsonb NOT NULL,
            customer_since date)""")
    engine.dispose()


def check_mapping(n: int) -> None:
    """The compiled Hub mapping and the hand-written function agree on the first records."""
    from hub.mappings import compile_mapping

    compiled = compile_mapping(SPEC)
    rng = random.Random(11)
    for i in range(n):
        record = make_record(i, rng, changed=False)
        expected = {k: v for k, v in transform(record).items() if k != "external_id"}
        got = compiled(record)
        if got != expected:
            raise SystemExit(f"mapping and hand-written transform differ on {record}:\n  {got}\n  {expected}")


# -- the contenders (each runs in a child process) --------------------------------------------------------
def peak_mb() -> float:
    """This process's peak resident set (VmHWM), or its children's if larger, in MB."""
    kb = 0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                kb = int(line.split()[1])
    except OSError:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kb = max(kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return kb / 1024


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (Hub's mapping helper, once its run is over)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_hub(url: str, full: bool, profile: str | None) -> dict[str, Any]:
    import logging

    from sqlalchemy.orm import Session

    from connectors.files import FilesConnector
    from hub.config import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEYS
    from hub.core.crypto import Keyring
    from hub.core.db import make_engine
    from hub.core.store import Store
    from hub.plugins import plugin_manager
    from hub.sync import runs
    from hub.sync.models import SyncRun
    from hub.sync.runner import Runner

    logging.basicConfig(level=logging.WARNING)
    engine = make_engine(url)
    store = Store(engine, Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY), plugins=plugin_manager())
    with Session(engine) as session, session.begin():
        run_id = runs.queue(session, INSTANCE, STREAM, full=full)[0].id
    runner = Runner(store, {"files": FilesConnector})
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start, cpu, helpers = time.perf_counter(), time.process_time(), _children_cpu()
    status = runner.execute(run_id)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu + _children_cpu() - helpers
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    with Session(engine) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        counts = {k: getattr(run, k) for k in ("read", "created", "updated", "unchanged", "skipped", "quarantined")}
        error = run.error
    engine.dispose()
    return {"seconds": seconds, "cpu_s": cpu, "status": status, "error": error, "run_id": str(run_id),
            "counts": counts}


def run_copy(url: str, folder: Path) -> dict[str, Any]:
    import psycopg

    cols = ", ".join(COLUMNS)
    keys = [c for c in COLUMNS if c != "external_id"]
    upsert = (f"INSERT INTO {COPY_TABLE} AS t ({cols}) SELECT {cols} FROM stage "
              f"ON CONFLICT (external_id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in keys)} "
              f"WHERE ({', '.join(f't.{c}' for c in keys)}) IS DISTINCT FROM "
              f"({', '.join(f'EXCLUDED.{c}' for c in keys)})")
    dumps = json.dumps
    start, cpu = time.perf_counter(), time.process_time()
    with psycopg.connect(plain_dsn(url)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE stage (LIKE {COPY_TABLE}) ON COMMIT DROP")
        with cur.copy(f"COPY stage ({cols}) FROM STDIN") as copy:
            for record in read_records(folder):
                row = transform(record)
                row["tags"] = dumps(row["tags"], ensure_ascii=False)
                copy.write_row([row[c] for c in COLUMNS])
        cur.execute(upsert)
        written = cur.rowcount
        conn.commit()
    return {"seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu, "written": written}


def run_dlt(url: str, folder: Path, pipelines_dir: Path) -> dict[str, Any]:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    import dlt

    @dlt.resource(name="accounts", write_disposition="merge", primary_key="external_id",
                  columns={"tags": {"data_type": "json"},
                           "credit_limit": {"data_type": "decimal", "precision": 18, "scale": 4}})
    def accounts() -> Iterator[list[dict[str, Any]]]:
        page: list[dict[str, Any]] = []
        for record in read_records(folder):
            page.append(transform(record))
            if len(page) == 1000:  # dlt's advice: yield pages, not single items
                yield page
                page = []
        if page:
            yield page

    dsn = sa.engine.make_url(plain_dsn(url))
    if dsn.password is None:  # dlt insists on a password; a server that trusts the client ignores it
        dsn = dsn.set(password="unused")
    start, cpu = time.perf_counter(), time.process_time()
    pipeline = dlt.pipeline(pipeline_name="hub_bench_sync", pipelines_dir=str(pipelines_dir),
                            destination=dlt.destinations.postgres(
                                credentials=dsn.render_as_string(hide_password=False)),
                            dataset_name=DLT_DATASET)
    info = pipeline.run(accounts())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    info.raise_on_failed_jobs()
    return {"seconds": seconds, "cpu_s": cpu}


def child(args: argparse.Namespace) -> int:
    """One contender's one load; prints its measurements as the last line (JSON)."""
    folder = Path(args.dir)
    if args.contender == "hub":
        out = run_hub(args.db, args.phase == "reload", args.profile)
    elif args.contender == "copy":
        out = run_copy(args.db, folder)
    else:
        out = run_dlt(args.db, folder, folder.parent / "dlt")
    out["peak_mb"] = peak_mb()
    print(json.dumps(out))
    return 0


def spawn(contender: str, phase: str, folder: Path, url: str, profile: str | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--contender", contender, "--phase", phase,
           "--dir", str(folder), "--db", url]
    if profile:
        cmd += ["--profile", profile]
    pm = postmaster()
    server_before = server_cpu(pm)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{contender} ({phase}) failed with exit status {proc.returncode}:\n{proc.stdout}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    time.sleep(0.2)  # the child's backends end and are reaped, so their time is the postmaster's
    server_after = server_cpu(pm)
    result["server_cpu_s"] = None if server_before is None or server_after is None else server_after - server_before
    if contender == "hub" and result["status"] != "succeeded":
        raise SystemExit(f"hub run ({phase}) ended {result['status']}: {result['error']}")
    return result


# -- checks -----------------------------------------------------------------------------------------------
_COMPARE = ("name", "email", "phone", "website", "street", "postal_code", "city", "country", "currency",
            "credit_limit", "industry", "account_type", "status")


def _differing(conn: sa.Connection, left: str, right: str) -> int:
    """Rows present on one side only, or with any column different."""
    cols = [*_COMPARE, "tags", "customer_since"]
    row = " OR ".join(f"l.{c} IS DISTINCT FROM r.{c}" for c in cols)
    return int(conn.scalar(sa.text(
        f"SELECT count(*) FROM ({left}) l FULL JOIN ({right}) r ON l.external_id = r.external_id "
        f"WHERE l.external_id IS NULL OR r.external_id IS NULL OR {row}")))


def verify(url: str, n: int, runs_seen: dict[str, dict[str, Any]], phase: str) -> None:
    """Row counts, bindings, audit events of the run, and equal content in all three destinations."""
    changed = (n + 6) // 10  # records i with i % 10 == 3
    hub_run = runs_seen["hub"]
    c = hub_run["counts"]
    expect = ({"read": n, "created": n, "updated": 0, "unchanged": 0} if phase == "first"
              else {"read": n, "created": 0, "updated": changed, "unchanged": n - changed})
    got = {k: c[k] for k in expect}
    assert got == expect and c["quarantined"] == 0 and c["skipped"] == 0, (phase, c, expect)
    engine = sa.create_engine(url)
    hub_side = ("SELECT b.external_id, a.name, a.email, a.phone, a.website, a.street, a.postal_code, a.city, "
                "a.country, a.currency, a.credit_limit, a.industry, a.account_type, a.status, a.tags::jsonb AS tags, "
                "(a.custom->>'customer_since')::date AS customer_since "
                "FROM bindings b JOIN accounts a ON a.id = b.record_id WHERE b.connector = :i")
    copy_side = f"SELECT * FROM {COPY_TABLE}"
    dlt_side = (f"SELECT external_id, {', '.join(_COMPARE)}, tags::jsonb AS tags, customer_since "
                f"FROM {DLT_DATASET}.accounts")
    with engine.connect() as conn:
        counts = {
            "accounts": conn.scalar(sa.text("SELECT count(*) FROM accounts WHERE deleted_at IS NULL")),
            "bindings": conn.scalar(sa.text("SELECT count(*) FROM bindings WHERE connector = :i"), {"i": INSTANCE}),
            "audit": conn.scalar(sa.text("SELECT count(*) FROM audit_events WHERE request_id = :r"),
                                 {"r": hub_run["run_id"]}),
            "copy": conn.scalar(sa.text(f"SELECT count(*) FROM {COPY_TABLE}")),
            "dlt": conn.scalar(sa.text(f"SELECT count(*) FROM {DLT_DATASET}.accounts")),
        }
        audit_expected = n if phase == "first" else changed
        assert counts == {"accounts": n, "bindings": n, "audit": audit_expected, "copy": n, "dlt": n}, counts
        hub_vs_copy = _differing(conn, hub_side.replace(":i", f"'{INSTANCE}'"), copy_side)
        copy_vs_dlt = _differing(conn, copy_side, dlt_side)
    engine.dispose()
    assert hub_vs_copy == 0 and copy_vs_dlt == 0, f"{phase}: rows differ: hub/copy {hub_vs_copy}, dlt {copy_vs_dlt}"
    print(f"  checked {phase}: {counts['accounts']} accounts, {counts['bindings']} bindings, "
          f"{counts['audit']} audit events of the run, {counts['copy']} COPY rows, {counts['dlt']} dlt rows; "
          f"all columns equal across the three", file=sys.stderr)


# -- the benchmark ----------------------------------------------------------------------------------------
def line(phase: str, name: str, n: int, result: dict[str, Any]) -> None:
    rate, server = n / result["seconds"], result.get("server_cpu_s")
    print(f"  {phase:7} {name:5} {result['seconds']:8.2f} s {rate:10,.0f} records/s   "
          f"client CPU {result['cpu_s']:7.2f} s ({result['cpu_s'] / n * 1e6:4.0f} us/record)   "
          f"server CPU {'n/a' if server is None else f'{server / n * 1e6:4.0f} us/record'}   "
          f"peak {result['peak_mb']:7.1f} MB", file=sys.stderr)


def hub_peak_at(base: str, work: Path, n: int, files: int, batch: int) -> float:
    """Hub's first-load peak memory at ``n`` records, in a database and folder of their own."""
    folder = work / f"growth-{n}"
    write_files(folder, n, files, changed=False)
    url = fresh_database(base, f"{DB_NAME}_growth")
    try:
        setup_hub(url, folder, batch)
        result = spawn("hub", "first", folder, url)
    finally:
        drop_database(url)
        shutil.rmtree(folder)
    assert result["counts"]["created"] == n, result
    line("first", "hub", n, result)
    return float(result["peak_mb"])


def first_pair(base: str, folder: Path, batch: int, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """One extra back-to-back pair of first loads (Hub, COPY) in a database of its own; odd pairs run COPY first."""
    url = fresh_database(base, f"{DB_NAME}_pair")
    try:
        setup_hub(url, folder, batch)
        setup_copy(url)
        order = ("copy", "hub") if index % 2 else ("hub", "copy")
        got = {name: spawn(name, "first", folder, url) for name in order}
    finally:
        drop_database(url)
    return got["hub"], got["copy"]


def cpu_bound(pairs: list[tuple[dict[str, Any], dict[str, Any]]], n: int) -> str:
    """The RESULT fields on server CPU: each first load's server CPU per record and the highest vs_copy
    Hub's client and server CPU per record allow on this machine's cores (empty if the server is not local)."""
    if any(run.get("server_cpu_s") is None for pair in pairs for run in pair):
        return ""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    hub_server = median([h["server_cpu_s"] for h, _ in pairs])
    hub_total = median([h["cpu_s"] + h["server_cpu_s"] for h, _ in pairs]) / n  # CPU seconds per record
    copy_rate = median([n / c["seconds"] for _, c in pairs])
    ceiling = cores / hub_total / copy_rate  # every core busy with Hub's work and nothing else
    print(f"CPU per record, client and server: Hub {hub_total * 1e6:.0f} us; on {cores} cores that allows at most "
          f"{cores / hub_total:,.0f} records/s, {ceiling:.2f} times COPY's rate", file=sys.stderr)
    return (f" hub_server_us={hub_server / n * 1e6:.0f} "
            f"copy_server_us={median([c['server_cpu_s'] for _, c in pairs]) / n * 1e6:.0f} "
            f"vs_copy_ceiling={ceiling:.2f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--files", type=int, default=4, help="JSON Lines files the records are spread over")
    p.add_argument("--batch", type=int, default=1000, help="the route's batch size")
    p.add_argument("--pairs", type=int, default=3, help="back-to-back first loads of Hub and COPY (median ratio)")
    p.add_argument("--growth", action="store_true", help="compare Hub's peak memory at N with 5N (default: N/4)")
    p.add_argument("--profile", metavar="DIR", help="write cProfile stats of Hub's runs here (slows them down)")
    p.add_argument("--keep", action="store_true", help="keep the database (named in the output) and the files")
    p.add_argument("--pg", default=os.environ.get("HUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    p.add_argument("--contender", choices=["hub", "copy", "dlt"], help=argparse.SUPPRESS)
    p.add_argument("--phase", choices=["first", "reload"], help=argparse.SUPPRESS)
    p.add_argument("--dir", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.contender:
        return child(args)

    n = args.records
    check_mapping(min(n, 2000))
    work = Path(tempfile.mkdtemp(prefix="hub-bench-sync-"))
    folder = work / "drop"
    profile_dir = Path(args.profile) if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    url = fresh_database(args.pg, DB_NAME)
    try:
        write_files(folder, n, args.files, changed=False)
        setup_hub(url, folder, args.batch)
        setup_copy(url)
        print(f"{n} customer records in {args.files} JSON Lines files, 15 mapped fields, route batches of "
              f"{args.batch}, PostgreSQL database {DB_NAME}, files in {folder}; each load in a child process of "
              "its own", file=sys.stderr)
        pairs = []
        for i in range(1, max(1, args.pairs)):
            hub_i, copy_i = first_pair(args.pg, folder, args.batch, i)
            line(f"first#{i}", "hub", n, hub_i)
            line(f"first#{i}", "copy", n, copy_i)
            pairs.append((hub_i, copy_i))
        results: dict[str, dict[str, dict[str, Any]]] = {}
        for phase in ("first", "reload"):
            if phase == "reload":
                write_files(folder, n, args.files, changed=True)
            results[phase] = {}
            for name in ("dlt", "copy", "hub") if phase == "first" else ("hub", "copy", "dlt"):
                prof = str(profile_dir / f"hub-{phase}.prof") if profile_dir and name == "hub" else None
                results[phase][name] = spawn(name, phase, folder, url, prof)
                line(phase, name, n, results[phase][name])
            verify(url, n, results[phase], phase)
        if not args.keep:
            drop_database(url)  # before the growth run: the disk holds one database at a time
        small, large = (n, 5 * n) if args.growth else (max(1, n // 4), n)
        if args.growth:
            peak_small, peak_large = results["first"]["hub"]["peak_mb"], hub_peak_at(args.pg, work, large,
                                                                                     args.files, args.batch)
        else:
            peak_small, peak_large = hub_peak_at(args.pg, work, small, args.files, args.batch), \
                results["first"]["hub"]["peak_mb"]
    finally:
        if not args.keep:
            drop_database(url)
            shutil.rmtree(work, ignore_errors=True)
    first, reload = results["first"], results["reload"]
    pairs.append((first["hub"], first["copy"]))
    ratios = [copy_run["seconds"] / hub_run["seconds"] for hub_run, copy_run in pairs]
    rate = {"hub": median([n / h["seconds"] for h, _ in pairs]), "copy": median([n / c["seconds"] for _, c in pairs]),
            "dlt": n / first["dlt"]["seconds"]}
    print(f"Hub / COPY first-load rate in each back-to-back pair: {', '.join(f'{r:.2f}' for r in ratios)} "
          f"(median {median(ratios):.2f})", file=sys.stderr)
    reload_rate = n / reload["hub"]["seconds"]
    growth = peak_large / peak_small
    print(f"peak growth: Hub's first-load peak {peak_small:.1f} MB at {small} records, {peak_large:.1f} MB at "
          f"{large} records ({'N vs 5N' if args.growth else 'N/4 vs N; --growth compares N with 5N'})",
          file=sys.stderr)
    if profile_dir:
        print(f"profiles of Hub's runs in {profile_dir} (rates above include profiling overhead)", file=sys.stderr)
    print(f"RESULT hub_per_s={rate['hub']:.0f} copy_per_s={rate['copy']:.0f} dlt_per_s={rate['dlt']:.0f} "
          f"vs_copy={median(ratios):.2f} copy_vs_dlt={rate['copy'] / rate['dlt']:.2f} "
          f"reload_per_s={reload_rate:.0f} reload_vs_first={reload_rate / (n / first['hub']['seconds']):.2f} "
          f"hub_peak_mb={first['hub']['peak_mb']:.0f} peak_growth={growth:.2f} "
          f"hub_cpu_us={median([h['cpu_s'] for h, _ in pairs]) / n * 1e6:.0f} "
          f"copy_cpu_us={median([c['cpu_s'] for _, c in pairs]) / n * 1e6:.0f}{cpu_bound(pairs, n)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
