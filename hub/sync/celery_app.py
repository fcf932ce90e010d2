"""The Celery application: at-least-once delivery done right, broker from HUB_BROKER_URL.

With no broker configured it uses kombu's SQLAlchemy transport on an SQLite file under HUB_VAR_DIR,
so the embedded default needs no server. The database, not Celery, records what a run did; tasks are
added by the sync engine.
"""

from __future__ import annotations

from celery import Celery

from hub.config import Settings


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app configured for late acks, redelivery on worker loss, prefetch 1 and JSON only."""
    settings = settings or Settings.from_env()
    broker = settings.broker_url or f"sqla+sqlite:///{(settings.var_dir / 'broker.db').resolve()}"
    app = Celery("hub", broker=broker)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        broker_transport_options={"visibility_timeout": 6 * 3600},
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        enable_utc=True,
    )
    return app


app = make_celery()
