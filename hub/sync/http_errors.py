"""The translation of HTTP failures into the hub's connector errors, shared by every connector that speaks HTTP.

| what happened | error |
| --- | --- |
| 401, 403 | AuthError |
| 408, 425, 429, every 5xx | RetryableError, with the server's Retry-After (seconds or an HTTP date, capped) |
| any other status | PermanentError (a connector may say more: a missing endpoint is its ConfigError) |
| a timeout, a reset or refused connection, any other socket or HTTP-library failure | RetryableError |

    raise status_error(503, "odoo: search_read: HTTP 503", response.headers.get("Retry-After"))
    raise transport_error("scim: GET /Users", exc, timeout=30)
"""

from __future__ import annotations

import datetime as dt
import email.utils

import requests
import urllib3.exceptions

from hub.errors import AuthError, ConnectorError, PermanentError, RetryableError
from hub.sync.retry import RETRY_AFTER_CAP

#: Statuses worth another try besides every 5xx: request timeout, too early, too many requests.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
AUTH_STATUSES = frozenset({401, 403})


def error_class(status: int) -> type[ConnectorError]:
    """The hub error an HTTP error ``status`` stands for."""
    if status in AUTH_STATUSES:
        return AuthError
    if status in RETRYABLE_STATUSES or status >= 500:
        return RetryableError
    return PermanentError


def status_error(status: int, message: str, retry_after_header: str | None = None) -> ConnectorError:
    """The hub error for an HTTP answer with error ``status``; ``message`` names the call and the status."""
    kind = error_class(status)
    if kind is RetryableError:
        return RetryableError(message, retry_after=retry_after(retry_after_header))
    return kind(message)


def retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """A Retry-After header in seconds from ``now`` (a number of seconds or an HTTP date), at most
    RETRY_AFTER_CAP; None when it is missing or unreadable."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), RETRY_AFTER_CAP)


def transport_error(what: str, exc: BaseException, timeout: float | None = None) -> RetryableError:
    """The RetryableError for a call that got no HTTP answer: timed out, reset, refused, or another failure."""
    causes = _causes(exc)
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return RetryableError(f"{what}: the connection was reset by the server (ConnectionResetError)")
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return RetryableError(f"{what}: the connection was refused, is the service down? (ConnectionRefusedError)")
    timeouts = (TimeoutError, requests.Timeout, urllib3.exceptions.TimeoutError)
    if any(isinstance(c, timeouts) and not isinstance(c, urllib3.exceptions.NewConnectionError) for c in causes):
        within = f": did not answer within {timeout:g} s" if timeout is not None else ""
        return RetryableError(f"{what}: timed out{within} ({type(exc).__name__})")
    text = " ".join(str(exc).split())
    return RetryableError(f"{what}: {type(exc).__name__}: {text[:300]}")


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (causes, contexts, exception arguments), breadth first, at most 20."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [x for x in (current.__cause__, current.__context__, *current.args) if isinstance(x, BaseException)]
    return seen
