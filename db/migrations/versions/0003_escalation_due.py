"""Incidents remember when their required escalation falls due, so lists can flag overdue ones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:47:04.284254
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_incidents_escalation_due', ['escalation_due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_escalation_due')
        batch_op.drop_column('escalation_due_at')

