"""The Flask application factory."""

from __future__ import annotations

import socket
import threading

from werkzeug.serving import make_server

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


def test_metrics_sends_one_charset_over_a_real_connection(sqlite_url: str) -> None:
    app = create_app({"TESTING": True}, settings=Settings(database_url=sqlite_url))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
    finally:
        server.shutdown()
        thread.join(10)
    head, _, body = raw.partition(b"\r\n\r\n")
    [content_type] = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")[1:]
                      if line.lower().startswith(b"content-type:")]
    assert content_type.lower().count(b"charset") == 1, content_type
    assert content_type.startswith(b"text/plain") and b"charset=utf-8" in content_type.lower()
    assert head.startswith(b"HTTP/1.1 200") and b"hub_sync_records" in body
