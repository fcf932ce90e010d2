"""runs wait to retry without holding a worker (due_at, retry budget), record when their message was sent;
one scheduler lease

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.core.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', hub.core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('sent_at', hub.core.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('retry_streak', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('retry_since', hub.core.types.UTCDateTime(), nullable=True))
    op.create_table('sync_scheduler_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('lease_until', hub.core.types.UTCDateTime(), nullable=False),
    sa.Column('heartbeat_at', hub.core.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sync_scheduler_leases'))
    )


def downgrade() -> None:
    op.drop_table('sync_scheduler_leases')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_column('retry_since')
        batch_op.drop_column('retry_streak')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('due_at')
