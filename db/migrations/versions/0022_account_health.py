"""Store each account's early warnings with the moment they stop holding: the health pages read them.

`account_health` holds, per account, the warnings the team default policy's early-warning rules
raise (and their risk score), the moment they were evaluated for, the first moment after it at which
they may change (a reading entering or leaving a rule's window or the lookback; empty: not before a
write), and a fingerprint of the rules. Writes that change an account's readings re-evaluate it in
their transaction and the scheduler pass re-evaluates the rows whose moment has come; a reader
evaluates live only the accounts whose row does not hold.

The backfill evaluates every account now with the code's own rules
(`core.account.signals.rebuild_account_health`), unlike earlier backfills written out in SQL: the
evaluation is the whole early-warning engine, and a row made by any other version of it is harmless,
because each row carries the fingerprint of the rules and code revision that made it and a reader
evaluates live any row whose fingerprint is not the current one's.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 19:10:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session


revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'account_health',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('rules_hash', sa.String(64), nullable=False),
        sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('warnings', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE',
                                name=op.f('fk_account_health_account_id_accounts')),
        sa.PrimaryKeyConstraint('account_id', name=op.f('pk_account_health')),
    )
    op.create_index('ix_account_health_valid_until', 'account_health', ['valid_until'])
    # Imported here, not at the top: Alembic reads every revision's header without the app's code.
    from core.account.signals import rebuild_account_health

    session = Session(bind=op.get_bind())
    try:
        rebuild_account_health(session, dt.datetime.now(dt.UTC))
        session.flush()
    finally:
        session.close()


def downgrade() -> None:
    op.drop_index('ix_account_health_valid_until', 'account_health')
    op.drop_table('account_health')
