"""Runs one attempt of a sync run: claim it, build its connector and mapping, execute with retries, finish.

This is what a Celery task calls (hub.sync.tasks); it holds the policy, not the mechanics:
transient connector errors (RetryableError) are retried with exponential backoff and jitter, bounded
in attempts and time, honouring a server's Retry-After; a permanent or configuration error fails the
run; anything else ends the attempt, and the run is queued again until its attempts run out.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from tenacity import RetryCallState, Retrying, retry_if_exception_type
from tenacity.wait import wait_exponential_jitter

from hub.core.db import writer
from hub.core.store import Store
from hub.errors import ConfigError, PermanentError, RetryableError
from hub.logs import Redactor
from hub.sync import runs
from hub.sync.connector import Connector
from hub.sync.engine import InboundRun, Tally
from hub.sync.instances import build, get_instance, get_route
from hub.sync.models import SyncRun

log = logging.getLogger("hub.sync")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How transient connector errors are retried within one attempt."""

    attempts: int = 8
    max_seconds: float = 600.0
    initial: float = 0.5
    cap: float = 60.0

    def wait(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter, but never less than the server's Retry-After."""
        backoff = wait_exponential_jitter(multiplier=self.initial, max=self.cap)(state)
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None) or 0.0
        return max(backoff, min(float(after), self.cap * 5))


@lru_cache(maxsize=64)
def _compiled(name: str, version: int, spec_hash: str, spec: str) -> Any:
    from hub.mappings import compile_mapping

    return compile_mapping(spec)


def load_mapping(session: Session, name: str, version: int | None = None) -> tuple[Any, int]:
    """A mapping version (default: the pinned one, else the latest), compiled once per process."""
    from hub.mappings.versions import get

    found = get(session, name, version)
    return _compiled(found.name, found.version, found.spec_hash, found.spec), found.version


def worker_id() -> str:
    """A name for this attempt's lease: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Runner:
    """Executes runs for one worker process."""

    store: Store
    types: Mapping[str, type[Connector]]
    lease_seconds: float = runs.LEASE_SECONDS
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_batch: Callable[[SyncRun, Tally], None] | None = None
    redactor: Redactor | None = None
    mapping_process: bool = True

    def execute(self, run_id: uuid.UUID) -> str | None:
        """One attempt of the run; returns its status afterwards, or None if there was nothing to do.

        Raises runs.Busy when another worker holds the run or its route (the caller retries later).
        """
        engine = self.store.engine
        run = runs.claim(engine, run_id, worker_id(), self.lease_seconds)
        if run is None:
            return None
        connector: Connector | None = None
        keeper = LeaseKeeper(engine, run, self.lease_seconds)
        keeper.start()
        try:
            with Session(engine) as session:
                instance = get_instance(session, run.instance)
                route = get_route(session, run.instance, run.stream, run.direction)
                mapping, version = load_mapping(session, route.mapping)
            connector = build(self.store.keyring, self.types, instance, self.redactor)
            hook = self.on_batch
            if run.direction == "inbound":
                job = InboundRun(self.store, run, connector, mapping, version, route.batch_size,
                                 self.lease_seconds, instance.rate_limit,
                                 on_batch=(lambda t: hook(run, t)) if hook is not None else None,
                                 mapping_process=self.mapping_process)
                self.with_retries(run, job.execute, lambda: job.batches_done)
            else:
                from hub.sync.outbound import OutboundRun

                out = OutboundRun(self.store, run, connector, mapping, version, route.module, route.batch_size,
                                  self.lease_seconds, retry=self.retry)
                self.with_retries(run, out.execute, lambda: out.batches_done)
        except runs.LeaseLost:
            log.warning("run %s: lease lost; another worker continues it", run.id)
            return "running"
        except RetryableError as exc:
            status = runs.release_for_retry(engine, run, f"transient errors did not clear: {exc}")
            log.warning("run %s: attempt %s failed (%s); now %s", run.id, run.attempts, exc, status)
            return status
        except (PermanentError, ConfigError) as exc:
            runs.finish(engine, run, "failed", f"{type(exc).__name__}: {exc}")
            log.error("run %s failed: %s", run.id, exc)
            return "failed"
        except Exception as exc:
            status = runs.release_for_retry(engine, run, f"{type(exc).__name__}: {exc}")
            log.exception("run %s: attempt %s crashed; now %s", run.id, run.attempts, status)
            return status
        finally:
            keeper.stop()
            if connector is not None:
                connector.close()
        runs.finish(engine, run, "succeeded")
        return "succeeded"

    def with_retries(self, run: SyncRun, work: Callable[[], T], progress: Callable[[], int] = lambda: 0) -> T:
        """Call ``work`` again (from the last committed checkpoint) on RetryableError, per the policy.

        The budget (attempts and seconds) bounds failures *without progress*: it starts afresh whenever a
        batch has committed since the last failure, so the retries spent on any one record stay bounded
        while a long run through a flaky connection still finishes.
        """
        engine = self.store.engine
        budget = {"progress": progress(), "failures": 0, "since": time.monotonic()}

        def stop(state: RetryCallState) -> bool:
            now = progress()
            if now != budget["progress"]:
                budget.update(progress=now, failures=0, since=time.monotonic())
            budget["failures"] += 1
            return (budget["failures"] >= self.retry.attempts
                    or time.monotonic() - budget["since"] >= self.retry.max_seconds)

        def count(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.info("run %s: transient error, retry %s: %s", run.id, state.attempt_number, exc)
            runs.count_retry(engine, run, self.lease_seconds)

        retrying = Retrying(retry=retry_if_exception_type(RetryableError), wait=self.retry.wait, stop=stop,
                            before_sleep=count, reraise=True)
        return retrying(work)


class LeaseKeeper(threading.Thread):
    """Renews a run's lease every third of its length while the attempt works, so a live worker keeps its
    run through a batch that takes longer than the lease. It stops when the lease is lost (another worker
    took the run over) and the attempt's next commit then stops too."""

    def __init__(self, engine: Any, run: SyncRun, lease_seconds: float) -> None:
        super().__init__(name=f"lease-{run.id}", daemon=True)
        self.engine, self.sync_run, self.lease_seconds = engine, run, lease_seconds
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.lease_seconds / 3):
            try:
                with Session(writer(self.engine)) as session, session.begin():
                    runs.heartbeat(session, self.sync_run, self.lease_seconds)
            except runs.LeaseLost:
                return
            except Exception as exc:  # e.g. the database briefly locked: try again next time
                log.warning("run %s: could not renew the lease: %s", self.sync_run.id, exc)

    def stop(self) -> None:
        self._done.set()


def run_status(session: Session, run_id: uuid.UUID) -> SyncRun:
    """The run row, or ConfigError."""
    run = session.scalar(select(SyncRun).where(SyncRun.id == run_id))
    if run is None:
        raise ConfigError(f"no sync run {run_id}")
    return run

