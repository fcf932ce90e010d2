"""Hub: a plugin-extensible CRM integration hub and record store.

The public API: the store and its write path, the actor context, the error tree, settings.
"""

from __future__ import annotations

from hub.config import Settings
from hub.core.actor import Actor, Context
from hub.core.binding import ExternalRef
from hub.core.read import Condition
from hub.core.store import Store, Tx
from hub.core.write import BatchResult, Row, RowResult
from hub.errors import (
    AccessDenied,
    AuthError,
    ConfigError,
    ConflictError,
    ConnectorError,
    HubError,
    MappingError,
    NotFound,
    PermanentError,
    RetryableError,
    ValidationError,
)

__all__ = [
    "AccessDenied", "Actor", "AuthError", "BatchResult", "Condition", "ConfigError", "ConflictError",
    "ConnectorError", "Context", "ExternalRef", "HubError", "MappingError", "NotFound", "PermanentError",
    "RetryableError", "Row", "RowResult", "Settings", "Store", "Tx", "ValidationError",
]
