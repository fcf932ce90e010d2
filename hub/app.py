"""The Flask application factory. Blueprints (REST API, admin console) register here as they arrive."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

from hub.config import Settings
from hub.root import Hub
from hub.sync.metrics import SyncCollector


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None, hub: Hub | None = None) -> Flask:
    """A configured Flask app; ``config`` overrides Flask settings (tests pass TESTING=True).

    The app holds one Hub (hub.root): built from ``settings`` (default: the environment), or ``hub`` itself.
    """
    hub = hub or Hub.from_settings(settings)
    settings = hub.settings
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, HUB_SETTINGS=settings)
    app.config.update(config or {})
    store = hub.store
    app.extensions["hub"] = hub
    app.extensions["hub.store"] = store

    @app.get("/healthz")
    def healthz() -> Any:
        """Liveness and database reachability, for load balancers and compose health checks."""
        try:
            with store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # report, don't crash, when the database is down
            return jsonify(status="error", database=str(exc).splitlines()[0]), 503
        return jsonify(status="ok", database="ok")

    registry = CollectorRegistry()
    registry.register(SyncCollector(store.engine))

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus metrics (sync runs, records by outcome, retries, queue lag, dead letters)."""
        # content_type, not mimetype: CONTENT_TYPE_LATEST carries its charset and Flask would add a second
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    return app
