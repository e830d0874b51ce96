"""Sign-in throttling per (username, client) with a per-username delay, instead of one lock per username.

The old table counted failures per username alone, so anyone could keep a
colleague locked out. Its rows are short-lived counters (a 15-minute window),
so they are dropped rather than converted: upgrading lifts any lock in force.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table('login_throttle')
    op.create_table(
        'login_throttle',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('client', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('username', 'client', name=op.f('pk_login_throttle')),
    )
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.create_index('ix_login_throttle_last_failure_at', ['last_failure_at'], unique=False)
    op.create_table(
        'login_delays',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('retry_after', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('username', name=op.f('pk_login_delays')),
    )
    with op.batch_alter_table('login_delays', schema=None) as batch_op:
        batch_op.create_index('ix_login_delays_last_failure_at', ['last_failure_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_delays', schema=None) as batch_op:
        batch_op.drop_index('ix_login_delays_last_failure_at')
    op.drop_table('login_delays')
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index('ix_login_throttle_last_failure_at')
    op.drop_table('login_throttle')
    op.create_table(
        'login_throttle',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('username', name=op.f('pk_login_throttle')),
    )
