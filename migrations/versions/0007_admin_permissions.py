"""roles hold admin permissions (users.manage, connectors.read, ...) beside their module grants

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('role_admin_permissions',
    sa.Column('role_id', sa.Uuid(), nullable=False),
    sa.Column('permission', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_role_admin_permissions_role_id_roles'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role_id', 'permission', name=op.f('pk_role_admin_permissions'))
    )


def downgrade() -> None:
    op.drop_table('role_admin_permissions')
