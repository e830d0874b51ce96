"""Incidents remember when the client must next hear from us, so lists can flag overdue updates.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_client_update_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_incidents_next_client_update_due', ['next_client_update_due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_next_client_update_due')
        batch_op.drop_column('next_client_update_due_at')
