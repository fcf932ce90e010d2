"""A Celery worker started beside the CLI or the web app, for the embedded default (no broker server).

It is a real worker process (``celery worker --pool=solo``, with beat when asked), using the same
broker settings as every other process; with no HUB_BROKER_URL that is kombu's SQLAlchemy transport
on an SQLite file, so nothing needs to be installed or started by hand.

The worker dies with the process that started it, however that one ends (hub.sync.lifeline); leaving
the block stops it (SIGTERM, then SIGKILL after ``stop_timeout`` seconds) and waits for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from hub.sync.lifeline import preexec


class EmbeddedWorker:
    """``with EmbeddedWorker(log_file):`` runs a worker (and optionally beat) for the block's duration."""

    def __init__(self, log_file: Path, beat: bool = False, loglevel: str = "WARNING",
                 stop_timeout: float = 15.0) -> None:
        self.log_file, self.beat, self.loglevel, self.stop_timeout = log_file, beat, loglevel, stop_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EmbeddedWorker:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "celery", "-A", "hub.sync.celery_app", "worker", "--pool=solo",
                "--without-gossip", "--without-mingle", f"--loglevel={self.loglevel}",
                "-n", f"embedded-{os.getpid()}@%h"]
        if self.beat:
            argv.append("--beat")
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=dict(os.environ), preexec_fn=preexec())
        time.sleep(0.5)
        if self.process.poll() is not None:
            raise RuntimeError(f"the worker did not start; see {self.log_file}")
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop the worker (a warm shutdown: it finishes its current step) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:  # its run's lease runs out and another worker resumes it
            self.process.kill()
            self.process.wait()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
