"""The embedded default: no broker server (kombu's SQLAlchemy transport on SQLite under HUB_VAR_DIR) and
an SQLite database; a real worker process carries out `hub sync NAME --wait`, and sends again a run whose
message never reached the broker."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session

from hub.config import Settings
from hub.core.db import writer
from hub.sync import runs
from hub.sync.models import SyncRun
from tests.sync.conftest import (
    CONTACTS_SPEC,
    ROOT,
    WorkerPool,
    configure,
    count,
    dead_letters,
    digest,
    files_config,
    landed,
    make_store,
    source_digest,
    wait_run,
    worker_env,
    write_contact_files,
)


def test_hub_sync_wait_on_the_embedded_broker_and_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    rows = write_contact_files(data, 300, files=2)
    store = make_store(sqlite_url)
    configure(store, "src", "files", files_config(data), "src_contacts", CONTACTS_SPEC.format(name="src_contacts"),
              batch_size=100)
    env = worker_env(sqlite_url, None, tmp_path / "var")
    (tmp_path / "var").mkdir()  # see test_the_embedded_broker_makes_its_var_dir
    assert "HUB_BROKER_URL" not in env
    pool = WorkerPool(tmp_path / "workers", env)
    try:
        pool.start()
        assert "sqla+sqlite" in pool.workers[0].log_text()
        done = subprocess.run([sys.executable, "-m", "hub.cli", "sync", "src", "--wait", "--timeout", "90"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{pool.logs()}"
    except BaseException:
        print(pool.logs())
        raise
    finally:
        pool.close()

    assert ": succeeded" in done.stdout, done.stdout
    assert (tmp_path / "var" / "broker.db").exists()
    with Session(store.engine) as session:
        [run] = session.query(SyncRun).all()
        assert (run.status, run.read, run.created, run.attempts) == ("succeeded", 300, 300, 1)
    assert count(store.engine, "SELECT count(*) FROM contacts") == 300
    assert digest(landed(store.engine, "src")) == source_digest(rows)
    assert dead_letters(store) == []
    store.engine.dispose()


def test_the_embedded_broker_makes_its_var_dir(tmp_path: Path) -> None:
    """With the database elsewhere, nothing else creates HUB_VAR_DIR: the broker's SQLite file must."""
    from hub.sync.celery_app import make_celery

    app = make_celery(Settings(database_url=f"sqlite:///{tmp_path / 'db' / 'hub.db'}", var_dir=tmp_path / "var"))
    try:
        app.send_task("hub.sync.tick", retry=False)
    finally:
        app.close()
    assert (tmp_path / "var" / "broker.db").exists()


def test_a_queued_run_whose_message_is_missing_runs_within_seconds(sqlite_url: str, tmp_path: Path) -> None:
    """A run queued while its message could not reach the broker (the embedded broker locked by a worker that
    was starting) is sent again by a worker within seconds, with or without beat."""
    data = tmp_path / "data"
    write_contact_files(data, 50)
    store = make_store(sqlite_url)
    configure(store, "src", "files", files_config(data), "src_contacts", CONTACTS_SPEC.format(name="src_contacts"))
    with Session(writer(store.engine), expire_on_commit=False) as session, session.begin():
        run, created = runs.queue(session, "src", "contacts")  # the row, and no message
    assert created
    (tmp_path / "var").mkdir()
    pool = WorkerPool(tmp_path / "workers", worker_env(sqlite_url, None, tmp_path / "var"))
    try:
        pool.start(beat=False)
        started = time.monotonic()
        done = wait_run(store, run.id, 30, describe=pool.logs)
        took = time.monotonic() - started
    finally:
        pool.close()
    assert (done.status, done.created, done.attempts) == ("succeeded", 50, 1), done.error
    assert took < 15, f"the run waited {took:.0f}s for its message"
    store.engine.dispose()
