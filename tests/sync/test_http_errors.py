"""The one translation of HTTP statuses, Retry-After and transport failures into the hub's errors."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from hub.errors import AuthError, ConnectorError, PermanentError, RetryableError
from hub.sync.http_errors import retry_after, status_error, transport_error
from hub.sync.retry import RETRY_AFTER_CAP

NOW = dt.datetime(2026, 12, 4, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("status", "kind"), [
    (400, PermanentError), (401, AuthError), (403, AuthError), (404, PermanentError), (405, PermanentError),
    (408, RetryableError), (409, PermanentError), (410, PermanentError), (422, PermanentError),
    (425, RetryableError), (429, RetryableError), (500, RetryableError), (502, RetryableError),
    (503, RetryableError), (504, RetryableError), (599, RetryableError), (302, PermanentError),
])
def test_status_translation(status: int, kind: type[ConnectorError]) -> None:
    error = status_error(status, f"x: HTTP {status}")
    assert type(error) is kind
    assert str(error) == f"x: HTTP {status}"


@pytest.mark.parametrize(("header", "seconds"), [
    ("7", 7.0), (" 12 ", 12.0), ("0", 0.0), ("-3", 0.0), ("1.5", 1.5), ("86400", RETRY_AFTER_CAP),
    ("Fri, 04 Dec 2026 12:00:30 GMT", 30.0), ("Fri, 04 Dec 2026 11:59:00 GMT", 0.0),
    ("Sat, 05 Dec 2026 12:00:00 GMT", RETRY_AFTER_CAP), ("soon", None), ("", None), (None, None), ("nan", None),
])
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert retry_after(header, NOW) == seconds


def test_retryable_statuses_carry_retry_after() -> None:
    error = status_error(503, "x: HTTP 503", "9")
    assert isinstance(error, RetryableError) and error.retry_after == 9.0
    assert status_error(429, "x").retry_after is None  # type: ignore[attr-defined]


def _wrapped(inner: BaseException) -> requests.ConnectionError:
    try:
        try:
            raise inner
        except OSError as e:
            raise requests.ConnectionError(e) from e
    except requests.ConnectionError as outer:
        return outer


@pytest.mark.parametrize(("exc", "words"), [
    (requests.ReadTimeout("read timed out"), "timed out: did not answer within 2 s"),
    (TimeoutError("timed out"), "timed out"),
    (_wrapped(ConnectionResetError(104, "Connection reset by peer")), "reset by the server (ConnectionResetError)"),
    (_wrapped(ConnectionRefusedError(111, "Connection refused")), "refused, is the service down?"),
    (OSError("no route to host"), "OSError: no route to host"),
])
def test_transport_failures_are_retryable(exc: BaseException, words: str) -> None:
    error = transport_error("x: GET /", exc, timeout=2)
    assert isinstance(error, RetryableError)
    assert words in str(error)
