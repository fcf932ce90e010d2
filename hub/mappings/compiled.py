"""Stored mapping versions compiled once per process: the cache every run and replay loads mappings through."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from hub.mappings.compiler import compile_mapping
from hub.mappings.versions import get


@lru_cache(maxsize=64)
def _compiled(name: str, version: int, spec_hash: str, spec: str) -> Any:
    """Keyed by name, version and the spec's hash: a changed spec never hits a stale entry."""
    return compile_mapping(spec)


def load_mapping(session: Session, name: str, version: int | None = None) -> tuple[Any, int]:
    """A mapping version (default: the pinned one, else the latest), compiled once per process."""
    found = get(session, name, version)
    return _compiled(found.name, found.version, found.spec_hash, found.spec), found.version
