"""The Celery application: at-least-once delivery done right, broker from HUB_BROKER_URL.

With no broker configured it uses kombu's SQLAlchemy transport on an SQLite file under HUB_VAR_DIR,
so the embedded default needs no server. The database, not Celery, records what a run did. Late acks,
redelivery when a worker is lost and prefetch 1 give at-least-once delivery; the run's claim in the
database turns that into at-most-one attempt at a time. The visibility timeout (Redis) is longer than
any run; a run whose worker died is found sooner by its expired lease (every worker looks, see
hub.sync.resender).

Beat is Hub's LeasedScheduler (hub.sync.scheduler): one per deployment, enforced through the database,
with no schedule file. A worker's embedded beat and its pool processes die with the worker, even when it
is killed with SIGKILL (hub.sync.lifeline).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import beat_embedded_init, worker_process_init

from hub.config import Settings


def broker_url(settings: Settings) -> str:
    """HUB_BROKER_URL, or the embedded broker: kombu's SQLAlchemy transport on var/broker.db."""
    if settings.broker_url:
        return settings.broker_url
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqla+sqlite:///{(settings.var_dir / 'broker.db').resolve()}"


def transport_options(url: str) -> dict[str, object]:
    """Broker options for ``url``: Redis redelivers an unacknowledged message after the visibility timeout,
    which must outlast any run (a dead worker's run is found sooner, by its expired lease); the SQLAlchemy
    transport takes no such option."""
    return {"visibility_timeout": 6 * 3600} if url.startswith(("redis", "rediss")) else {}


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app configured for late acks, redelivery on worker loss, prefetch 1 and JSON only."""
    settings = settings or Settings.from_env()
    broker = broker_url(settings)
    app = Celery("hub", broker=broker, include=["hub.sync.tasks"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        broker_transport_options=transport_options(broker),
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
        beat_scheduler="hub.sync.scheduler:LeasedScheduler",
        # Used only by a file-backed scheduler chosen on the command line: never the current folder.
        beat_schedule_filename=str(settings.var_dir / "celerybeat-schedule"),
        beat_schedule={"hub-tick": {"task": "hub.sync.tick",
                                    "schedule": float(os.environ.get("HUB_SYNC_TICK_SECONDS", "30"))}},
    )
    return app


@beat_embedded_init.connect
@worker_process_init.connect
def _die_with_worker(**_: Any) -> None:
    """A worker's embedded beat and its pool processes end when the worker does, however it ends."""
    from hub.sync.lifeline import die_with_parent

    die_with_parent()


app = make_celery()
