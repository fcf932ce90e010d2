"""The processes `hub serve --with-worker` and `hub worker --beat` start end with them, and one scheduler runs.

Real processes: the installed ``hub`` as a subprocess on the embedded default (SQLite, the SQLAlchemy
broker) in a folder of the test's own. Each is started with a marker in its environment, which every
process it starts inherits; the test looks for the marker in /proc, so it finds children that were
re-parented to init as well as those still below their parent.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.core.migrate import upgrade
from tests.sync.conftest import wait_for

HUB = Path(sys.executable).with_name("hub")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def marked(marker: str) -> list[int]:
    """Live processes (not zombies) whose environment holds ``HUB_TEST_MARK=marker``."""
    needle = f"HUB_TEST_MARK={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if needle not in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                continue
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry))
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Hub:
    """``hub`` subprocesses in one folder (cwd), database and var dir, each with a marker of its own."""

    def __init__(self, base: Path) -> None:
        self.base, self.cwd, self.var = base, base / "cwd", base / "var"
        self.cwd.mkdir(parents=True)
        self.url = f"sqlite:///{base / 'hub.db'}"
        upgrade(self.url)
        self.started: list[tuple[subprocess.Popen[bytes], str]] = []

    def env(self, marker: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update({"HUB_DATABASE_URL": self.url, "HUB_VAR_DIR": str(self.var), "HUB_SYNC_TICK_SECONDS": "1",
                    "HUB_LOG_FORMAT": "text", "HUB_TEST_MARK": marker, "PYTHONUNBUFFERED": "1",
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
        env.update(extra)
        return env

    def start(self, *args: str, name: str, program: tuple[str, ...] = (str(HUB),),
              **extra: str) -> tuple[subprocess.Popen[bytes], str]:
        """``program args...`` (default: the installed ``hub``) with a new marker, logging to NAME.log."""
        marker = uuid.uuid4().hex
        log = self.base / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen([*program, *args], cwd=self.cwd, env=self.env(marker, **extra), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.started.append((proc, marker))
        return proc, marker

    def log(self, name: str) -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        for proc, marker in self.started:
            for pid in [proc.pid, *marked(marker)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(tmp_path)
    try:
        yield h
    finally:
        h.close()


def children(proc: subprocess.Popen[bytes], marker: str) -> list[int]:
    """The marked processes besides ``proc`` (of a solo-pool worker with --beat: its beat)."""
    return [pid for pid in marked(marker) if pid != proc.pid]


def leftovers(marker: str) -> str:
    return "; ".join(f"{pid}: {command_line(pid)}" for pid in marked(marker))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_serve_with_worker_stops_its_worker_and_scheduler(hub: Hub, sig: signal.Signals) -> None:
    port = free_port()
    proc, marker = hub.start("serve", "--with-worker", "--port", str(port), name="serve")
    wait_for(lambda: "ready." in (hub.var / "worker.log").read_text(errors="replace")
             if (hub.var / "worker.log").exists() else False, 60,
             lambda: f"the worker to be ready:\n{hub.log('serve')}")
    wait_for(lambda: len(marked(marker)) >= 3, 30, lambda: f"serve, worker and beat: {leftovers(marker)}")
    proc.send_signal(sig)
    assert proc.wait(timeout=40) == 0, hub.log("serve")
    wait_for(lambda: not marked(marker), 10, lambda: f"no process left; left: {leftovers(marker)}")
    assert not list(hub.cwd.glob("celerybeat-schedule*"))


def test_kill_9_of_serve_takes_its_worker_along(hub: Hub) -> None:
    proc, marker = hub.start("serve", "--with-worker", "--port", str(free_port()), name="serve")
    wait_for(lambda: len(marked(marker)) >= 3, 60, lambda: f"serve, worker and beat: {leftovers(marker)}")
    proc.kill()
    proc.wait(timeout=10)
    wait_for(lambda: not marked(marker), 30, lambda: f"no process left; left: {leftovers(marker)}")


def test_kill_9_of_worker_beat_takes_its_beat_along_and_a_new_one_may_schedule(hub: Hub) -> None:
    for round_ in range(3):
        proc, marker = hub.start("worker", "--beat", name=f"worker-{round_}")
        wait_for(lambda proc=proc, marker=marker: children(proc, marker), 60,  # type: ignore[misc]
                 lambda round_=round_: f"a beat process:\n{hub.log(f'worker-{round_}')[-3000:]}")
        time.sleep(1.5)
        proc.kill()
        proc.wait(timeout=10)
        wait_for(lambda marker=marker: not marked(marker), 10,  # type: ignore[misc]
                 lambda marker=marker: f"the beat to end with its worker; left: {leftovers(marker)}")
    assert not list(hub.cwd.glob("celerybeat-schedule*")), list(hub.cwd.iterdir())


def test_a_second_scheduler_refuses_to_start(hub: Hub) -> None:
    first, marker = hub.start("worker", "--beat", name="first")
    wait_for(lambda: children(first, marker) and "scheduler lease" in hub.log("first"), 60,
             lambda: f"the first beat:\n{hub.log('first')[-3000:]}")
    second = subprocess.run([str(HUB), "worker", "--beat"], cwd=hub.cwd, env=hub.env(uuid.uuid4().hex),
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 1, second.stderr[-3000:]
    assert "another scheduler is running" in second.stderr
    # A beat started by Celery directly (as in the tests' worker pools) does not schedule either.
    other, _ = hub.start("-m", "celery", "-A", "hub.sync.celery_app", "worker", "--pool=solo", "--beat",
                         "--without-gossip", "--without-mingle", "--loglevel=INFO", "-n", "raw@%h", name="celery",
                         program=(sys.executable,))
    wait_for(lambda: "beat does not start" in hub.log("celery"), 60, lambda: hub.log("celery")[-3000:])
    before = len(re.findall(r"Sending due task hub-tick", hub.log("first")))
    time.sleep(4)
    ticks = len(re.findall(r"Sending due task hub-tick", hub.log("first"))) - before
    assert 2 <= ticks <= 6, ticks
    assert "Sending due task" not in hub.log("celery")
    assert other.poll() is None, "the worker goes on without its beat"
    assert not list(hub.cwd.glob("celerybeat-schedule*"))
