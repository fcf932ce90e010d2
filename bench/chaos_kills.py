"""Chaos, kills: `hub worker --beat` killed with SIGKILL again and again during one inbound run.

The real command an operator runs (`hub worker --beat`: a Celery worker with the scheduler beside it) reads
``records`` contacts from JSON Lines files into a fresh PostgreSQL database over Redis. Its main process is
killed with SIGKILL ``kills`` times at random moments (only the main process, as the kernel's OOM killer or
a crashed container runtime would: not its process group) and started again. Counted at the end: records
lost, records duplicated, and orphans: processes of a killed worker (its scheduler, pool children) still
alive some seconds after their parent died. Every process started carries a tag in its environment, so
orphans are found in /proc whatever their parent has become.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hub.core.migrate import upgrade
from hub.sync import dispatch
from hub.testing.databases import fresh_database
from tests.sync.conftest import (
    CONTACTS_SPEC,
    FINISHED,
    LEASE_SECONDS,
    configure,
    count,
    digest,
    files_config,
    flush_redis,
    landed,
    make_store,
    point_celery_at,
    run_row,
    source_digest,
    wait_for,
    wait_run,
    worker_env,
    write_contact_files,
)

#: Seconds a killed worker's children get to notice and exit before they count as orphans.
ORPHAN_GRACE = 8.0


@dataclass
class KillReport:
    records: int
    kills: int
    lost: int
    duplicated: int
    orphans: int
    status: str
    seconds: float


def tagged(tag: str) -> list[int]:
    """Pids of live processes whose environment carries HUB_CHAOS_TAG=tag (zombies excluded)."""
    needle = f"HUB_CHAOS_TAG={tag}".encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle not in fh.read() + b"\0":
                    continue
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z":
            found.append(int(entry))
    return found


def hub_command() -> str:
    """The installed `hub` beside this interpreter."""
    return str(Path(sys.executable).with_name("hub"))


def start_worker(env: dict[str, str], tag: str, log: Path, ready_timeout: float = 60.0) -> subprocess.Popen[bytes]:
    """`hub worker --beat` with its own tag, once it reports ready."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([hub_command(), "worker", "--beat"], env={**env, "HUB_CHAOS_TAG": tag},
                                cwd=log.parent, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"worker {tag} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        return " ready." in log.read_text(errors="replace")

    wait_for(ready, ready_timeout, f"worker {tag} to be ready")
    return proc


def orphans_of(tag: str) -> int:
    """How many of ``tag``'s processes outlive ORPHAN_GRACE seconds; kills them so they do no more harm."""
    deadline = time.monotonic() + ORPHAN_GRACE
    while tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = tagged(tag)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(left)


def run(db_url: str, redis_url: str, records: int, kills: int, seed: int, batch_size: int = 500,
        max_wait: float = 900.0) -> KillReport:
    rnd = random.Random(seed)
    url = fresh_database(db_url, "chaos_kills")
    upgrade(url)
    store = make_store(url)
    flush_redis(redis_url)
    point_celery_at(redis_url)
    orphans = 0
    with tempfile.TemporaryDirectory(prefix="chaos-kills-") as tmp:
        base = Path(tmp)
        rows = write_contact_files(base / "data", records, files=4)
        configure(store, "src", "files", files_config(base / "data"), "src_contacts",
                  CONTACTS_SPEC.format(name="src_contacts"), batch_size=batch_size, max_attempts=kills + 5)
        env = {k: v for k, v in worker_env(url, redis_url, base / "var").items() if k != "HUB_CHAOS_ALLOW_KILL"}
        number = 1
        proc = start_worker(env, f"k{number}", base / f"worker-{number}.log")
        started = time.monotonic()
        the_run = dispatch.start(store, "src", "contacts")
        done_kills = 0
        try:
            targets = sorted(rnd.sample(range(max(kills, records - 6 * batch_size)), kills))
            for target in targets:
                def moment(target: int = target) -> str | None:
                    r = run_row(store, the_run.id)
                    if r.status in FINISHED:
                        return "finished"
                    return "due" if r.read >= target else None

                if wait_for(moment, 180 + LEASE_SECONDS, f"the run to pass {target} records",
                            interval=0.02) == "finished":
                    break
                time.sleep(rnd.uniform(0.0, 0.15))
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                done_kills += 1
                orphans += orphans_of(f"k{number}")
                print(f"kill {done_kills}: {run_row(store, the_run.id).read} records read, orphans so far {orphans}",
                      file=sys.stderr)
                number += 1
                proc = start_worker(env, f"k{number}", base / f"worker-{number}.log")
            done = wait_run(store, the_run.id, max_wait)
            seconds = time.monotonic() - started
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            for n in range(1, number + 1):
                for pid in tagged(f"k{n}"):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
    got = landed(store.engine, "src")
    ids = [ext for ext, _, _ in got]
    expected = {str(r["id"]) for r in rows}
    lost = len(expected - set(ids))
    contacts = count(store.engine, "SELECT count(*) FROM contacts")
    duplicated = (len(ids) - len(set(ids))) + max(0, contacts - len(set(ids)))
    if digest(got) != source_digest(rows):
        lost = max(lost, 1)
    store.engine.dispose()
    return KillReport(records, done_kills, lost, duplicated, orphans, done.status, seconds)
