"""Fixtures of the people tests: the fast fresh databases of tests/fresh_db.py."""

from __future__ import annotations

from tests.fresh_db import _sqlite_template, db_url, empty_pg_url, sqlite_url  # noqa: F401  (fixtures)
