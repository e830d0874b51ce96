"""Account health signals: one reading of a metric per account and moment, for early warnings.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'health_signals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('target', sa.Float(), nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_health_signals_account_id_accounts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_health_signals_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_health_signals')),
        sa.UniqueConstraint('account_id', 'metric', 'observed_at', 'source', name='uq_health_signals_reading'),
    )
    with op.batch_alter_table('health_signals', schema=None) as batch_op:
        batch_op.create_index('ix_health_signals_account_metric_observed', ['account_id', 'metric', 'observed_at'],
                              unique=False)
        batch_op.create_index('ix_health_signals_observed_at', ['observed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('health_signals', schema=None) as batch_op:
        batch_op.drop_index('ix_health_signals_observed_at')
        batch_op.drop_index('ix_health_signals_account_metric_observed')
    op.drop_table('health_signals')
