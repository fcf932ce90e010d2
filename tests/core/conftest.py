"""Fixtures of the record-store tests: the fast fresh databases of tests/fresh_db.py and a sales pipeline."""

from __future__ import annotations

from typing import Any

import pytest

from hub.core.actor import Context
from hub.core.store import Store
from tests.fresh_db import _sqlite_template, db_url, empty_pg_url, sqlite_url  # noqa: F401  (fixtures)

STAGES = [
    {"name": "lead", "probability": 10},
    {"name": "proposal", "probability": 60},
    {"name": "won", "probability": 100, "outcome": "won"},
    {"name": "lost", "probability": 0, "outcome": "lost"},
]


@pytest.fixture
def pipeline(store: Store, ctx: Context) -> dict[str, Any]:
    """A sales pipeline with four stages (``STAGES``)."""
    with store.writing(ctx) as tx:
        return tx.create("pipelines", {"name": "Sales", "stages": STAGES})
