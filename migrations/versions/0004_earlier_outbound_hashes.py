"""bindings remember the hashes of a few earlier outbound writes (late echoes)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 05:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('earlier_outbound_hashes', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.drop_column('earlier_outbound_hashes')
