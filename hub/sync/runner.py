"""Runs a sync run step by step: claim it, build its connector and mapping, execute, and decide what next.

This is what a Celery task calls (hub.sync.tasks); it holds the policy, not the mechanics. A transient
connector error (RetryableError) ends the step: the run lets go of its worker and waits to retry
(status ``retrying``) as long as the retry policy (hub.sync.retry) says, never shorter than a server's
Retry-After; its message is sent again for that time. Retries are bounded in number and time *without
progress*; when they run out, the attempt ends. A permanent or configuration error fails the run;
anything else ends the attempt, and the run is queued again until its attempts run out.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.db import writer
from hub.core.store import Store
from hub.core.types import utcnow
from hub.errors import ConfigError, PermanentError, RetryableError
from hub.logs import Redactor
from hub.mappings.compiled import load_mapping
from hub.sync import runs
from hub.sync.connector import Connector
from hub.sync.engine import InboundRun
from hub.sync.instances import build, get_instance, get_route
from hub.sync.models import SyncRun
from hub.sync.retry import NO_RETRY, RetryPolicy
from hub.sync.run_state import Tally

log = logging.getLogger("hub.sync")


def worker_id() -> str:
    """A name for this attempt's lease: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Step:
    """What one step of a run came to: its status afterwards, and when it is due again if it waits."""

    status: str | None
    due_at: dt.datetime | None = None


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
    #: Connectors of runs waiting to retry, kept open for their next step if it comes to this process
    #: (with the instance config they were built with), as a retry within one call would keep them.
    waiting: dict[uuid.UUID, tuple[Connector, Any]] = field(default_factory=dict)
    keep_waiting: int = 16

    def execute(self, run_id: uuid.UUID) -> str | None:
        """One attempt of the run, here, until it ends (waiting out its retries in this process, with the same
        connector); its status afterwards, or None if there was nothing to do. Workers call ``step``
        instead, which never waits.

        Raises runs.Busy when another worker holds the run or its route (the caller retries later).
        """
        while True:
            step = self.step(run_id)
            if step.status != "retrying" or step.due_at is None:
                return step.status
            time.sleep(max((step.due_at - utcnow()).total_seconds(), 0.0))

    def step(self, run_id: uuid.UUID) -> Step:
        """Claim the run and work on it until it ends, fails, or meets a transient error (then it waits to
        retry, without this worker); Step(None) if there was nothing to do (finished, or not due yet).

        Raises runs.Busy when another worker holds the run or its route.
        """
        engine = self.store.engine
        run = runs.claim(engine, run_id, worker_id(), self.lease_seconds)
        if run is None:
            return Step(None)
        connector: Connector | None = None
        progress: Callable[[], int] = lambda: 0  # noqa: E731
        keeper = LeaseKeeper(engine, run, self.lease_seconds)
        keeper.start()
        try:
            with Session(engine) as session:
                instance = get_instance(session, run.instance)
                route = get_route(session, run.instance, run.stream, run.direction)
                mapping, version = load_mapping(session, route.mapping)
            connector = self._connector(run.id, instance)
            hook = self.on_batch
            if run.direction == "inbound":
                job = InboundRun(self.store, run, connector, mapping, version, route.batch_size,
                                 self.lease_seconds, instance.rate_limit,
                                 on_batch=(lambda t: hook(run, t)) if hook is not None else None,
                                 mapping_process=self.mapping_process)
                progress = lambda: job.batches_done  # noqa: E731
                job.execute()
            else:
                from hub.sync.outbound import OutboundRun

                out = OutboundRun(self.store, run, connector, mapping, version, route.module, route.batch_size,
                                  self.lease_seconds, retry=NO_RETRY)
                progress = lambda: out.batches_done  # noqa: E731
                out.execute()
        except runs.LeaseLost:
            log.warning("run %s: lease lost; another worker continues it", run.id)
            return Step("running")
        except RetryableError as exc:
            step = self._transient(run, exc, progress() > 0)
            if step.status == "retrying" and connector is not None:
                self._keep(run.id, connector, instance.config)
                connector = None
            return step
        except (PermanentError, ConfigError) as exc:
            runs.finish(engine, run, "failed", f"{type(exc).__name__}: {exc}")
            log.error("run %s failed: %s", run.id, exc)
            return Step("failed")
        except Exception as exc:
            status = runs.release_for_retry(engine, run, f"{type(exc).__name__}: {exc}")
            log.exception("run %s: attempt %s crashed; now %s", run.id, run.attempts, status)
            return self._next_attempt(run, status)
        finally:
            keeper.stop()
            if connector is not None:
                connector.close()
        runs.finish(engine, run, "succeeded")
        return Step("succeeded")

    @staticmethod
    def _next_attempt(run: SyncRun, status: str) -> Step:
        """After a failed attempt: when the next one should start (5 s, doubling per attempt, at most 60 s)."""
        if status != "queued":
            return Step(status)
        return Step(status, utcnow() + dt.timedelta(seconds=RetryPolicy.attempt_pause(run.attempts)))

    def _connector(self, run_id: uuid.UUID, instance: Any) -> Connector:
        """The connector kept for this run's retry if its instance's config is unchanged, else a new one."""
        kept = self.waiting.pop(run_id, None)
        if kept is not None:
            if kept[1] == instance.config:
                return kept[0]
            kept[0].close()
        return build(self.store.keyring, self.types, instance, self.redactor)

    def _keep(self, run_id: uuid.UUID, connector: Connector, config: Any) -> None:
        self.waiting[run_id] = (connector, config)
        while len(self.waiting) > self.keep_waiting:  # the oldest goes
            self.waiting.pop(next(iter(self.waiting)))[0].close()

    def _transient(self, run: SyncRun, exc: RetryableError, progressed: bool) -> Step:
        """After a transient error: wait to retry, or end the attempt when the budget without progress is spent.

        The budget (errors in a row and seconds) starts afresh whenever a batch has committed since the last
        error, so the retries spent on any one record stay bounded while a long run through a flaky
        connection still finishes.
        """
        engine = self.store.engine
        now = utcnow()
        streak = 1 if progressed else run.retry_streak + 1
        since = now if progressed or run.retry_since is None else run.retry_since
        if self.retry.exhausted(streak, (now - since).total_seconds()):
            status = runs.release_for_retry(engine, run, f"transient errors did not clear: {exc}")
            log.warning("run %s: attempt %s failed (%s); now %s", run.id, run.attempts, exc, status)
            return self._next_attempt(run, status)
        delay = self.retry.delay(streak, exc.retry_after)
        due = runs.wait_to_retry(engine, run, f"RetryableError: {exc}", delay, streak, since)
        if due is None:
            log.warning("run %s: lease lost; another worker continues it", run.id)
            return Step("running")
        log.info("run %s: transient error, retry %s in %.1fs: %s", run.id, streak, delay, exc)
        return Step("retrying", due)


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

