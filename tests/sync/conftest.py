"""Fixtures of the sync tests: real Celery workers (subprocesses), a real broker, PostgreSQL, chaos.

The worker tests run against the PostgreSQL database of ``pg_url`` (emptied before each test) and a
Redis database of this session's own (15 for the main process, 14, 13, ... for xdist workers; flushed
before each test). Each worker is ``python -m celery -A hub.sync.celery_app worker --pool=solo ...`` in a
session (process group) of its own, logging to a file under the test's tmp_path; on failure the logs
are printed. ``WorkerPool.kill`` is kill -9 of the whole worker (its main process and its embedded beat);
every worker is killed when the test ends. Leases are 3 s and the beat ticks every second. The workers
load the test connectors of tests.sync.chaos and tests.sync.outage.

The helpers (WorkerPool, wait_for, the contact files and checksums) are plain functions and classes,
so bench/crash_soak.py uses them as well.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pluggy
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.config import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEYS
from hub.core.actor import Context
from hub.core.crypto import Keyring
from hub.core.db import make_engine
from hub.core.store import Store
from hub.mappings import versions
from hub.plugins import plugin_manager
from hub.sync import instances
from hub.sync.connector import Connector
from hub.sync.connector_types import connector_types
from hub.sync.models import DeadLetter, SyncRun
from tests.conftest import CI, _truncate
from tests.sync import chaos, outage

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3.0
TICK_SECONDS = 1.0
FINISHED = ("succeeded", "failed", "dead")
T = TypeVar("T")

CONTACTS_SPEC = """
mapping: {name}
source: {{connector: files, stream: contacts}}
target: {{module: contacts}}
fields:
  email: {{from: email, transform: [strip, lower, email]}}
  first_name: {{from: first}}
  last_name: {{from: last, transform: [strip]}}
  city: {{from: city}}
"""

#: Plain renames only, so the outbound direction (hub -> source fields) is derived from them.
ROUNDTRIP_SPEC = """
mapping: {name}
source: {{connector: files, stream: contacts}}
target: {{module: contacts}}
fields:
  email: {{from: email}}
  first_name: {{from: first}}
  last_name: {{from: last}}
  city: {{from: city}}
"""

FIRST = ["Wei", "Fang", "Emma", "Liam", "Olivia", "Noah", "Min", "Jing", "Lucas", "Mia", "芳", "伟"]
LAST = ["Wang", "Li", "Smith", "Müller", "Zhang", "Brown", "Chen", "Schmidt", "王", "李", "Taylor", "Weber"]
CITIES = ["Berlin", "上海", "Boston", "London", None]


# -- waiting ------------------------------------------------------------------------------------------
def wait_for(condition: Callable[[], T | None], timeout: float, message: str | Callable[[], str] = "condition",
             interval: float = 0.1) -> T:
    """Poll ``condition`` until it returns something truthy (returned); AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {text}")
        time.sleep(interval)


# -- workers ------------------------------------------------------------------------------------------
@dataclass
class Worker:
    """One Celery worker process (with its embedded beat when ``beat``), in a process group of its own."""

    number: int
    beat: bool
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


@dataclass
class WorkerPool:
    """Starts, kills (-9) and restarts Celery worker subprocesses; ``close`` kills them all."""

    base: Path
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)
    _count: int = 0

    def start(self, beat: bool = True, ready_timeout: float = 60.0) -> Worker:
        """A new worker, once it reports ready."""
        self._count += 1
        n = self._count
        self.base.mkdir(parents=True, exist_ok=True)
        log = self.base / f"worker-{n}.log"
        argv = [sys.executable, "-m", "celery", "-A", "hub.sync.celery_app", "worker", "--pool=solo",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO", "-n", f"w{n}@%h"]
        if beat:
            argv += ["--beat", "--schedule", str(self.base / f"beat-{n}")]
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        worker = Worker(n, beat, proc, log)
        self.workers.append(worker)

        def ready() -> bool:
            if not worker.alive():
                raise AssertionError(f"worker {n} exited with {proc.returncode}:\n{worker.log_text()[-4000:]}")
            return " ready." in worker.log_text()

        wait_for(ready, ready_timeout, lambda: f"worker {n} to be ready:\n{worker.log_text()[-4000:]}")
        return worker

    def kill(self, worker: Worker) -> None:
        """kill -9 the worker: its main process and its process group (the embedded beat)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.proc.wait(timeout=30)

    def restart(self, worker: Worker) -> Worker:
        """Kill what is left of ``worker`` (it may have killed itself) and start a new one like it."""
        self.kill(worker)
        return self.start(beat=worker.beat)

    def wait_dead(self, worker: Worker, timeout: float) -> None:
        """Wait until the worker's main process has exited (e.g. killed by its own run)."""
        wait_for(lambda: not worker.alive(), timeout, f"worker {worker.number} to die")

    def close(self) -> None:
        for worker in self.workers:
            self.kill(worker)

    def logs(self, tail: int = 20_000) -> str:
        return "\n".join(f"===== worker {w.number} (pid {w.pid}, {'alive' if w.alive() else 'gone'}) =====\n"
                         + w.log_text()[-tail:] for w in self.workers)


def worker_env(database_url: str, broker_url: str | None, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a test worker: this test's database and broker, short leases and ticks, chaos."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({
        "HUB_DATABASE_URL": database_url,
        "HUB_VAR_DIR": str(var_dir),
        "HUB_SYNC_LEASE_SECONDS": str(LEASE_SECONDS),
        "HUB_SYNC_TICK_SECONDS": str(TICK_SECONDS),
        "HUB_PLUGINS": "tests.sync.chaos,tests.sync.outage",
        "HUB_CHAOS_ALLOW_KILL": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    })
    if broker_url:
        env["HUB_BROKER_URL"] = broker_url
    env.update(extra)
    return env


def redis_db_for(worker_id: str) -> int:
    """This session's Redis database: 15 for the main process, 14, 13, ... for xdist workers gw0, gw1, ..."""
    index = int(worker_id[2:]) if worker_id.startswith("gw") and worker_id[2:].isdigit() else 0
    return 15 - index % 15


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.flushdb()
    finally:
        client.close()


def point_celery_at(url: str) -> None:
    """Make this process send its Celery messages to ``url`` (the app reads HUB_BROKER_URL on import)."""
    os.environ["HUB_BROKER_URL"] = url
    from hub.sync.celery_app import app

    if app.conf.broker_url != url:
        if app._pool is not None:  # already connected elsewhere: start over
            app._pool.force_close_all()
            app._pool = None
        app.conf.broker_url = url


# -- configuration ------------------------------------------------------------------------------------
def all_types() -> dict[str, type[Connector]]:
    """The installed connector types plus the chaos and outage ones (as the workers see them with HUB_PLUGINS)."""
    return {**connector_types(plugin_manager(entry_points=False)), **chaos.TYPES, **outage.TYPES}


def make_store(url: str) -> Store:
    return Store(make_engine(url), Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY),
                 plugins=plugin_manager())


def save_mapping(store: Store, spec: str) -> int:
    """Save a mapping spec; its version."""
    with store.writing(Context.system("test")) as tx:
        return versions.save(tx.session, spec, "test").version


def configure(store: Store, name: str, type_name: str, config: Mapping[str, Any], mapping: str,
              spec: str | None = None, *, stream: str = "contacts", module: str = "contacts",
              directions: Iterable[str] = ("inbound",), batch_size: int = 500, max_attempts: int = 5,
              types: Mapping[str, type[Connector]] | None = None) -> None:
    """A connector instance with routes of ``stream`` through ``mapping`` (saved from ``spec`` if given)."""
    if spec is not None:
        save_mapping(store, spec)
    with store.writing(Context.system("test")) as tx:
        instances.add_instance(tx.session, tx.audit, store.keyring, types or all_types(), name, type_name, dict(config))
        for direction in directions:
            instances.add_route(tx.session, tx.audit, name, stream, direction, module, mapping,
                                batch_size=batch_size, max_attempts=max_attempts)


def files_config(path: Path, pattern: str = "contacts-*.jsonl", **extra: Any) -> dict[str, Any]:
    return {"path": str(path), "streams": {"contacts": {"pattern": pattern}}, **extra}


# -- data ---------------------------------------------------------------------------------------------
def contact_rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    """``n`` source contacts with external ids c000000, c000001, ... (from ``start``)."""
    return [{"id": f"c{i:06d}", "email": f"person{i}@example{i % 50}.com", "first": FIRST[i % len(FIRST)],
             "last": f"{LAST[i % len(LAST)]}-{i}", "city": CITIES[i % len(CITIES)]}
            for i in range(start, start + n)]


def contact(store: Store, external_id: str, instance: str = "src") -> dict[str, Any]:
    """The hub contact bound to ``external_id`` in the ``contacts`` stream of ``instance`` (deleted ones too)."""
    from hub.core.binding import find

    with store.reading(Context.system("test")) as tx:
        rid = find(tx.session, instance, "contacts", [external_id])[external_id]
        return tx.get("contacts", rid, include_deleted=True)


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_contact_files(folder: Path, n: int, files: int = 1, prefix: str = "contacts") -> list[dict[str, Any]]:
    """``n`` contacts spread over ``files`` JSONL files; returns the rows."""
    rows = contact_rows(n)
    per = -(-n // files)
    for f in range(files):
        write_jsonl(folder / f"{prefix}-{f:04d}.jsonl", rows[f * per:(f + 1) * per])
    return rows


def digest(triples: Iterable[tuple[str, str | None, str | None]]) -> str:
    """sha256 over sorted (external id, e-mail, last name) triples."""
    h = hashlib.sha256()
    for ext, email, last in sorted(triples, key=lambda t: t[0]):
        h.update(f"{ext}\x1f{email}\x1f{last}\x1e".encode())
    return h.hexdigest()


def source_digest(rows: Sequence[Mapping[str, Any]]) -> str:
    return digest((str(r["id"]), str(r["email"]).strip().lower(), str(r["last"]).strip()) for r in rows)


def landed(engine: sa.Engine, instance: str, stream: str = "contacts") -> list[tuple[str, str | None, str | None]]:
    """(external id, e-mail, last name) of every live contact bound to ``instance``/``stream``."""
    with engine.connect() as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(sa.text(
            "SELECT b.external_id, c.email, c.last_name FROM bindings b JOIN contacts c ON c.id = b.record_id "
            "WHERE b.connector = :i AND b.stream = :s AND b.module = 'contacts' AND c.deleted_at IS NULL"),
            {"i": instance, "s": stream})]


def count(engine: sa.Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one())


def run_row(store: Store, run_id: uuid.UUID) -> SyncRun:
    with Session(store.engine) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None, f"no run {run_id}"
        return run


def wait_run(store: Store, run_id: uuid.UUID, timeout: float, statuses: Sequence[str] = FINISHED,
             describe: Callable[[], str] | None = None) -> SyncRun:
    """Wait until the run's status is one of ``statuses``; the run row."""
    def reached() -> SyncRun | None:
        run = run_row(store, run_id)
        return run if run.status in statuses else None

    def explain() -> str:
        run = run_row(store, run_id)
        text = (f"run {run_id} to be {'/'.join(statuses)}; it is {run.status} (attempts {run.attempts}, "
                f"read {run.read}, error {run.error})")
        return text + ("\n" + describe() if describe else "")

    return wait_for(reached, timeout, explain, interval=0.2)


def dead_letters(store: Store, run_id: uuid.UUID | None = None) -> list[DeadLetter]:
    with Session(store.engine) as session:
        stmt = sa.select(DeadLetter).order_by(DeadLetter.created_at)
        if run_id is not None:
            stmt = stmt.where(DeadLetter.run_id == run_id)
        return list(session.scalars(stmt))


# -- fixtures -----------------------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell in teardown whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def broker_url(worker_id: str) -> Iterator[str]:
    """A Redis database of this session's own; this process sends its Celery messages there."""
    url = f"redis://127.0.0.1:6379/{redis_db_for(worker_id)}"
    try:
        flush_redis(url)
    except Exception as exc:
        if CI:
            pytest.fail(f"Redis is not reachable at {url} (CI=true: this is a failure, not a skip): {exc}")
        pytest.skip(f"Redis is not reachable at {url}: {exc}")
    before = os.environ.get("HUB_BROKER_URL")
    point_celery_at(url)
    yield url
    if before is None:
        os.environ.pop("HUB_BROKER_URL", None)
    else:
        os.environ["HUB_BROKER_URL"] = before


@pytest.fixture
def pg_store(pg_url: str, keyring: Keyring, plugins: pluggy.PluginManager) -> Iterator[Store]:
    """The store on the emptied PostgreSQL test database."""
    engine = make_engine(pg_url)
    _truncate(engine)
    yield Store(engine, keyring, plugins=plugins)
    engine.dispose()


@pytest.fixture
def workers(request: pytest.FixtureRequest, pg_store: Store, broker_url: str, pg_url: str,
            tmp_path: Path) -> Iterator[WorkerPool]:
    """A pool of Celery workers on the PostgreSQL test database and this session's Redis database."""
    flush_redis(broker_url)
    pool = WorkerPool(tmp_path / "workers", worker_env(pg_url, broker_url, tmp_path / "var"))
    try:
        yield pool
    finally:
        pool.close()
        failed = any(getattr(getattr(request.node, f"report_{w}", None), "failed", False)
                     for w in ("setup", "call"))
        if failed:
            print(pool.logs())
        flush_redis(broker_url)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path
