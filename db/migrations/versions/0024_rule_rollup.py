"""Stopped clocks summed per set of fired policy rules, so objectives about kinds of incident read no incidents.

An objective scoped to rules ("data issues: 100 % resolved within 6 hours") found its incidents by a
LIKE over every row of `incident_facts` on each dashboard render: the dashboard's largest cost at a
million incidents. `sla_rule_rollup` sums the stopped clocks of incidents where rules fired, keyed as
`sla_rollup` (without the target) plus the incident's set of rules (",id,id,"), so an incident that fired
two of an objective's rules counts once. It is kept current in the write transaction by
`core.sla.projection`. The backfill is one INSERT ... SELECT over the stopped facts joined to their
incident facts, with the rules of `core.sla.projection.rebuild_rollups` written out here because a
migration must keep doing what it did when the code moves on.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The histogram's buckets as this revision knows them (db.models.sla.SLA_DURATION_BUCKETS was 31).
BUCKETS = tuple(f'h{i:02d}' for i in range(31))
KEY = ('week', 'clock', 'severity', 'tier', 'csm_id', 'policy_name')


def upgrade() -> None:
    op.create_table(
        'sla_rule_rollup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('clock', sa.String(length=32), nullable=False),
        sa.Column('severity', sa.String(length=2), nullable=False),
        sa.Column('tier', sa.String(length=16), nullable=False),
        sa.Column('csm_id', sa.Integer(), nullable=False),
        sa.Column('policy_name', sa.String(length=64), nullable=False),
        sa.Column('rules', sa.Text(), nullable=False),
        sa.Column('met', sa.Integer(), nullable=False),
        sa.Column('breached', sa.Integer(), nullable=False),
        *(sa.Column(bucket, sa.Integer(), nullable=False) for bucket in BUCKETS),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_rule_rollup')),
        sa.UniqueConstraint(*KEY, 'rules', name='uq_sla_rule_rollup_key'),
    )
    op.create_index('ix_sla_rule_rollup_policy_clock_week', 'sla_rule_rollup', ['policy_name', 'clock', 'week'])
    key = ', '.join(f'f.{column}' for column in KEY)
    counts = ', '.join([f"SUM(CASE WHEN f.state = '{state}' THEN 1 ELSE 0 END)" for state in ('met', 'breached')]
                       + [f'SUM(CASE WHEN f.bucket = {i} THEN 1 ELSE 0 END)' for i in range(len(BUCKETS))])
    closed = 'NOT f.is_open' if op.get_bind().dialect.name == 'postgresql' else 'f.is_open = 0'
    op.execute(f"INSERT INTO sla_rule_rollup ({', '.join(KEY)}, rules, met, breached, {', '.join(BUCKETS)}) "
               f'SELECT {key}, i.rules, {counts} FROM sla_clock_facts f '
               f'JOIN incident_facts i ON i.incident_id = f.incident_id '
               f"WHERE {closed} AND i.rules <> '' GROUP BY {key}, i.rules")


def downgrade() -> None:
    op.drop_index('ix_sla_rule_rollup_policy_clock_week', 'sla_rule_rollup')
    op.drop_table('sla_rule_rollup')
