"""The Flask application factory."""

from __future__ import annotations

from hub.app import create_app
from hub.config import Settings


def test_healthz_reports_the_database(sqlite_url: str) -> None:
    app = create_app({"TESTING": True}, settings=Settings(database_url=sqlite_url))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_says_when_the_database_is_down() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    app = create_app({"TESTING": True}, settings=Settings(database_url=url))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "error"
