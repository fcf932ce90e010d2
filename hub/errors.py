"""The one error tree of Hub: every error the hub raises on purpose derives from HubError.

    HubError
      ConfigError        bad connector or hub configuration; never retried
      ValidationError    bad input data; names the field and the value's problem
      MappingError       a record the mapping cannot transform; that record is quarantined
      AccessDenied       the actor may not do this
        NotFound         no such record, or one outside the actor's scope (same answer)
      ConflictError      the record changed since the caller read it (stale version)
      ConnectorError
        RetryableError   timeouts, 429/5xx, dropped sessions (carries retry_after)
        PermanentError   4xx, SOAP faults on bad data, missing remote records
          AuthError
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error Hub raises on purpose."""


class ConfigError(HubError):
    """Bad connector or hub configuration; never retried."""


class ValidationError(HubError):
    """Bad input data. ``field`` is ``module.field`` (or a spec path); the message names the problem."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class MappingError(HubError):
    """A record the mapping cannot transform; the caller quarantines that record, not the batch."""

    def __init__(self, field: str, transform: str, value: object, problem: str) -> None:
        self.field = field
        self.transform = transform
        self.value = value
        self.problem = problem
        super().__init__(f"{field}: {transform}: {problem} (value {value!r})")


class AccessDenied(HubError):
    """The actor is not allowed to do this."""


class NotFound(AccessDenied):
    """No such record, or a record outside the actor's scope: the two answer the same."""

    def __init__(self, module: str, record_id: object) -> None:
        self.module = module
        self.record_id = record_id
        super().__init__(f"{module}: no record with id {record_id}")


class ConflictError(HubError):
    """The record changed since the caller read it (its version moved on)."""


class ConnectorError(HubError):
    """An error at the connector boundary."""


class RetryableError(ConnectorError):
    """A transient failure: the engine retries, honouring ``retry_after`` seconds when given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class PermanentError(ConnectorError):
    """A failure that retrying will not fix; the record is quarantined."""


class AuthError(PermanentError):
    """The external system refused our credentials."""
