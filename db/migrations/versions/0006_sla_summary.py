"""SLA summary for the dashboard: per-clock and per-incident facts and their weekly rollups.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:45:00.000000

Existing incidents get their summary rows from `python -m core init`
(core.sla.projection.backfill), not from this migration: the clocks are computed
by the clock engine in Python.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must match db.models.SLA_BUCKET_COLUMNS (core.sla.metrics.DURATION_BOUNDS plus one).
BUCKET_COLUMNS = [f"h{i:02d}" for i in range(31)]


def upgrade() -> None:
    op.create_table('sla_clock_facts',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('clock', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=2), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('csm_id', sa.Integer(), nullable=False),
    sa.Column('policy_name', sa.String(length=64), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('target_seconds', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actual_seconds', sa.Integer(), nullable=True),
    sa.Column('bucket', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_sla_clock_facts_incident_id_incidents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('incident_id', 'clock', name=op.f('pk_sla_clock_facts'))
    )
    with op.batch_alter_table('sla_clock_facts', schema=None) as batch_op:
        batch_op.create_index('ix_sla_clock_facts_account_week', ['account_id', 'week'], unique=False)
        batch_op.create_index('ix_sla_clock_facts_open_week', ['week'], unique=False,
                              sqlite_where=sa.text('is_open = 1'), postgresql_where=sa.text('is_open'))
        batch_op.create_index('ix_sla_clock_facts_open_clock', ['clock', 'policy_name', 'week'],
                              unique=False, sqlite_where=sa.text('is_open = 1'), postgresql_where=sa.text('is_open'))
        batch_op.create_index('ix_sla_clock_facts_open_state_detected', ['is_open', 'state', 'detected_at'],
                              unique=False)

    op.create_table('sla_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('clock', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=2), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('csm_id', sa.Integer(), nullable=False),
    sa.Column('policy_name', sa.String(length=64), nullable=False),
    sa.Column('target_seconds', sa.Integer(), nullable=False),
    sa.Column('met', sa.Integer(), nullable=False),
    sa.Column('breached', sa.Integer(), nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in BUCKET_COLUMNS],
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_rollup')),
    sa.UniqueConstraint('week', 'clock', 'severity', 'tier', 'csm_id', 'policy_name', 'target_seconds',
                        name='uq_sla_rollup_key')
    )
    with op.batch_alter_table('sla_rollup', schema=None) as batch_op:
        batch_op.create_index('ix_sla_rollup_clock_week', ['clock', 'week'], unique=False)

    op.create_table('sla_breach_heat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('severity', sa.String(length=2), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('csm_id', sa.Integer(), nullable=False),
    sa.Column('policy_name', sa.String(length=64), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('breached', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_breach_heat')),
    sa.UniqueConstraint('week', 'severity', 'tier', 'csm_id', 'policy_name', 'weekday', 'hour',
                        name='uq_sla_breach_heat_key')
    )

    op.create_table('incident_facts',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('csm_id', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=2), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('policy_name', sa.String(length=64), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_repeat', sa.Boolean(), nullable=False),
    sa.Column('emergency_seconds', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_facts_incident_id_incidents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('incident_id', name=op.f('pk_incident_facts'))
    )
    with op.batch_alter_table('incident_facts', schema=None) as batch_op:
        batch_op.create_index('ix_incident_facts_account_detected', ['account_id', 'detected_at'], unique=False)
        batch_op.create_index('ix_incident_facts_resolved_at', ['resolved_at'], unique=False)
        batch_op.create_index('ix_incident_facts_updated_at', ['updated_at'], unique=False)

    op.create_table('incident_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=2), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('csm_id', sa.Integer(), nullable=False),
    sa.Column('policy_name', sa.String(length=64), nullable=False),
    sa.Column('incidents', sa.Integer(), nullable=False),
    sa.Column('repeats', sa.Integer(), nullable=False),
    sa.Column('emergency_seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_rollup')),
    sa.UniqueConstraint('week', 'account_id', 'severity', 'tier', 'csm_id', 'policy_name',
                        name='uq_incident_rollup_key')
    )


def downgrade() -> None:
    op.drop_table('incident_rollup')
    with op.batch_alter_table('incident_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_facts_updated_at')
        batch_op.drop_index('ix_incident_facts_resolved_at')
        batch_op.drop_index('ix_incident_facts_account_detected')
    op.drop_table('incident_facts')
    op.drop_table('sla_breach_heat')
    with op.batch_alter_table('sla_rollup', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_rollup_clock_week')
    op.drop_table('sla_rollup')
    with op.batch_alter_table('sla_clock_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clock_facts_open_state_detected')
        batch_op.drop_index('ix_sla_clock_facts_open_clock')
        batch_op.drop_index('ix_sla_clock_facts_open_week')
        batch_op.drop_index('ix_sla_clock_facts_account_week')
    op.drop_table('sla_clock_facts')
