"""Prometheus metrics of sync, computed from the run rows at scrape time.

The database is the truth about runs, so the numbers are the same whichever process is scraped and
however many workers there are: records by outcome, run durations, retries, queue lag, open dead
letters, per connector instance and stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hub.core.types import utcnow
from hub.sync.models import DeadLetter, SyncRun

OUTCOMES = ("created", "updated", "unchanged", "deleted", "skipped", "quarantined", "written")


class SyncCollector(Collector):
    """A prometheus_client collector reading sync_runs and dead_letters."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        labels = ["connector", "stream", "direction"]
        records = CounterMetricFamily("hub_sync_records", "Records by outcome", labels=[*labels, "outcome"])
        retries = CounterMetricFamily("hub_sync_retries", "Transient errors retried", labels=labels)
        runs = GaugeMetricFamily("hub_sync_runs", "Runs by status", labels=[*labels, "status"])
        duration = CounterMetricFamily("hub_sync_run_duration_seconds", "Seconds spent in finished runs",
                                       labels=labels)
        finished = CounterMetricFamily("hub_sync_runs_finished", "Finished runs", labels=[*labels, "status"])
        lag = GaugeMetricFamily("hub_sync_queue_lag_seconds", "Age of the oldest queued run", labels=labels)
        dead = GaugeMetricFamily("hub_sync_dead_letters_open", "Open dead letters", labels=labels)
        now = utcnow()
        with Session(self.engine) as session:
            totals = session.execute(select(
                SyncRun.instance, SyncRun.stream, SyncRun.direction,
                *(func.sum(getattr(SyncRun, o)) for o in OUTCOMES), func.sum(SyncRun.retries),
            ).group_by(SyncRun.instance, SyncRun.stream, SyncRun.direction))
            for inst, stream, direction, *sums in totals:
                key = [inst, stream, direction]
                for outcome, value in zip(OUTCOMES, sums[:-1], strict=True):
                    records.add_metric([*key, outcome], float(value or 0))
                retries.add_metric(key, float(sums[-1] or 0))
            by_status = session.execute(select(SyncRun.instance, SyncRun.stream, SyncRun.direction, SyncRun.status,
                                               func.count()).group_by(SyncRun.instance, SyncRun.stream,
                                                                      SyncRun.direction, SyncRun.status))
            for inst, stream, direction, status, n in by_status:
                runs.add_metric([inst, stream, direction, status], float(n))
                if status in ("succeeded", "failed", "dead"):
                    finished.add_metric([inst, stream, direction, status], float(n))
            seconds: dict[tuple[str, str, str], float] = {}
            for r in session.execute(select(SyncRun.instance, SyncRun.stream, SyncRun.direction, SyncRun.started_at,
                                            SyncRun.finished_at).where(SyncRun.finished_at.is_not(None),
                                                                       SyncRun.started_at.is_not(None))):
                key3 = (r.instance, r.stream, r.direction)
                seconds[key3] = seconds.get(key3, 0.0) + (r.finished_at - r.started_at).total_seconds()
            for key3, total in seconds.items():
                duration.add_metric(list(key3), total)
            for inst, stream, direction, oldest in session.execute(select(
                    SyncRun.instance, SyncRun.stream, SyncRun.direction, func.min(SyncRun.queued_at))
                    .where(SyncRun.status == "queued").group_by(SyncRun.instance, SyncRun.stream, SyncRun.direction)):
                lag.add_metric([inst, stream, direction], max((now - _aware(oldest)).total_seconds(), 0.0))
            for inst, stream, direction, n in session.execute(select(
                    DeadLetter.instance, DeadLetter.stream, DeadLetter.direction, func.count())
                    .where(DeadLetter.status == "open")
                    .group_by(DeadLetter.instance, DeadLetter.stream, DeadLetter.direction)):
                dead.add_metric([inst, stream, direction], float(n))
        yield from (records, retries, runs, duration, finished, lag, dead)


def _aware(value: object) -> dt.datetime:
    """SQL aggregates bypass the column type: give naive UTC values their zone back."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
