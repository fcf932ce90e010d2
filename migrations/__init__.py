"""Alembic migrations of the record store (run with `hub db upgrade`)."""
