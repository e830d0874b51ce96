"""Open clocks in the rollups as recorded, so the dashboard never classifies every open clock at query time.

`sla_open_rollup` counts the open clocks per rollup key as their facts record them (running,
paused, breached) and `sla_open_breach_heat` the open ones recorded as breached per hour of
detection. The scheduler pass records a running clock past its deadline as breached
(core.sla.projection.record_breaches); the dashboard adds the few that passed their deadline since
the last pass, found through the partial index `ix_sla_clock_facts_running_deadline`. The backfill
is two INSERT ... SELECT over the open facts, with the rules of
`core.sla.projection.rebuild_rollups` written out here because a migration must keep doing what it
did when the code moves on. Running clocks already past their deadline stay 'running' until the
first pass: the dashboard's correction counts them as breached meanwhile.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUP_KEY = 'week, clock, severity, tier, csm_id, policy_name, target_seconds'
HEAT_KEY = 'week, severity, tier, csm_id, policy_name, weekday, hour'


def upgrade() -> None:
    op.create_table(
        'sla_open_rollup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('clock', sa.String(length=32), nullable=False),
        sa.Column('severity', sa.String(length=2), nullable=False),
        sa.Column('tier', sa.String(length=16), nullable=False),
        sa.Column('csm_id', sa.Integer(), nullable=False),
        sa.Column('policy_name', sa.String(length=64), nullable=False),
        sa.Column('target_seconds', sa.Integer(), nullable=False),
        sa.Column('running', sa.Integer(), nullable=False),
        sa.Column('paused', sa.Integer(), nullable=False),
        sa.Column('breached', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_open_rollup')),
        sa.UniqueConstraint('week', 'clock', 'severity', 'tier', 'csm_id', 'policy_name', 'target_seconds',
                            name='uq_sla_open_rollup_key'),
    )
    op.create_index('ix_sla_open_rollup_clock_week', 'sla_open_rollup', ['clock', 'week'])
    op.create_table(
        'sla_open_breach_heat',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('severity', sa.String(length=2), nullable=False),
        sa.Column('tier', sa.String(length=16), nullable=False),
        sa.Column('csm_id', sa.Integer(), nullable=False),
        sa.Column('policy_name', sa.String(length=64), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('hour', sa.Integer(), nullable=False),
        sa.Column('breached', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_open_breach_heat')),
        sa.UniqueConstraint('week', 'severity', 'tier', 'csm_id', 'policy_name', 'weekday', 'hour',
                            name='uq_sla_open_breach_heat_key'),
    )
    op.create_index('ix_sla_clock_facts_running_deadline', 'sla_clock_facts', ['deadline'],
                    sqlite_where=sa.text("is_open = 1 AND state = 'running'"),
                    postgresql_where=sa.text("is_open AND state = 'running'"))
    counts = ', '.join(f"SUM(CASE WHEN state = '{state}' THEN 1 ELSE 0 END)"
                       for state in ('running', 'paused', 'breached'))
    op.execute(f'INSERT INTO sla_open_rollup ({ROLLUP_KEY}, running, paused, breached) '
               f'SELECT {ROLLUP_KEY}, {counts} FROM sla_clock_facts WHERE is_open '
               f"AND state IN ('running', 'paused', 'breached') GROUP BY {ROLLUP_KEY}")
    op.execute(f'INSERT INTO sla_open_breach_heat ({HEAT_KEY}, breached) '
               f"SELECT {HEAT_KEY}, COUNT(*) FROM sla_clock_facts WHERE is_open AND state = 'breached' "
               f'GROUP BY {HEAT_KEY}')


def downgrade() -> None:
    op.drop_index('ix_sla_clock_facts_running_deadline', 'sla_clock_facts')
    op.drop_table('sla_open_breach_heat')
    op.drop_index('ix_sla_open_rollup_clock_week', 'sla_open_rollup')
    op.drop_table('sla_open_rollup')
