"""What a running mapping reports besides its result: warnings, and MappingErrors built from failures."""

from __future__ import annotations

import threading
import types
from dataclasses import dataclass
from typing import Any

from hub.errors import MappingError


@dataclass(frozen=True)
class MappingWarning:
    """Something worth a look that did not stop the record (e.g. a lookup miss with ``on_miss: warn``)."""

    field: str
    transform: str
    value: Any
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.transform}: {self.problem} (value {self.value!r})"


class WarningSink:
    """Warnings of the records mapped in the current thread, until ``drain()`` takes them."""

    def __init__(self) -> None:
        self._local = threading.local()

    def add(self, warning: MappingWarning) -> None:
        pending: list[MappingWarning] | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = []
        pending.append(warning)

    def drain(self) -> list[MappingWarning]:
        pending: list[MappingWarning] = getattr(self._local, "pending", None) or []
        self._local.pending = []
        return pending


def describe_failure(fn: Any, value: Any, exc: BaseException) -> str:
    """A one-line problem for ``exc``, raised by transform ``fn`` on ``value``."""
    if isinstance(exc, MappingError):
        return exc.problem
    if isinstance(exc, ValueError):
        return str(exc) or "bad value"
    if isinstance(exc, TypeError | AttributeError):
        if isinstance(fn, types.MethodDescriptorType) and getattr(fn, "__objclass__", None) is str:
            return f"needs text, got {type(value).__name__}"
        return f"cannot take a value of type {type(value).__name__} ({exc})"
    return f"{type(exc).__name__}: {exc}"


def failure(field: str, transform: str, fn: Any, value: Any, exc: BaseException) -> MappingError:
    """The MappingError for transform ``transform`` of ``field`` failing on ``value``."""
    return MappingError(field, transform, value, describe_failure(fn, value, exc))
