"""Keep home, compose, health and policies flat as incidents grow: two indexes and two read models.

`ix_incidents_account_status` lets "open incidents of the accounts I own" start from the account,
and `ix_incidents_status_policy` answers open counts per policy from the index alone.
`account_incident_days` (incidents per account and UTC day, drills aside: the derived ticket
count) and `incident_answer_readings` (a CSAT or uptime given in an incident's triage answers)
are read models of incidents that the open flow keeps current, so the health pages read one row
per account and day instead of every incident of their window. The backfill computes both
exactly from the existing incidents with two INSERT ... SELECT (no copy of the incidents table);
its rules are those of `core.account.signals.rebuild_signal_days`, written out here because a
migration must keep doing what it did when the code moves on.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The answers that are health readings, and the metric each one is (core.account.signals._ANSWER_METRICS).
ANSWER_METRICS = {'csat': 'csat', 'uptime_pct': 'uptime_pct'}


def upgrade() -> None:
    op.create_index('ix_incidents_account_status', 'incidents', ['account_id', 'status'])
    op.create_index('ix_incidents_status_policy', 'incidents', ['status', 'policy_name'])
    op.create_table(
        'account_incident_days',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('tickets', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE',
                                name=op.f('fk_account_incident_days_account_id_accounts')),
        sa.PrimaryKeyConstraint('account_id', 'day', name=op.f('pk_account_incident_days')),
    )
    op.create_table(
        'incident_answer_readings',
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('metric', sa.String(32), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ondelete='CASCADE',
                                name=op.f('fk_incident_answer_readings_incident_id_incidents')),
        sa.PrimaryKeyConstraint('incident_id', 'metric', name=op.f('pk_incident_answer_readings')),
    )
    op.create_index('ix_account_incident_days_day', 'account_incident_days', ['day'])
    op.create_index('ix_incident_answer_readings_account_observed', 'incident_answer_readings',
                    ['account_id', 'observed_at'])
    op.create_index('ix_incident_answer_readings_observed_at', 'incident_answer_readings', ['observed_at'])
    postgres = op.get_bind().dialect.name == 'postgresql'
    # Stored times are UTC: naive text on SQLite, timestamptz on PostgreSQL.
    day = "(detected_at AT TIME ZONE 'UTC')::date" if postgres else 'date(detected_at)'
    op.execute(f'INSERT INTO account_incident_days (account_id, day, tickets) '
               f'SELECT account_id, {day}, count(*) FROM incidents WHERE NOT is_drill GROUP BY account_id, {day}')
    for answer, metric in ANSWER_METRICS.items():
        value = (f"CAST(answers ->> '{answer}' AS DOUBLE PRECISION)" if postgres
                 else f"CAST(json_extract(answers, '$.{answer}') AS REAL)")
        op.execute(f"INSERT INTO incident_answer_readings (incident_id, metric, account_id, observed_at, value) "
                   f"SELECT id, '{metric}', account_id, detected_at, {value} FROM incidents "
                   f"WHERE NOT is_drill AND {value} IS NOT NULL")


def downgrade() -> None:
    op.drop_index('ix_incident_answer_readings_observed_at', 'incident_answer_readings')
    op.drop_index('ix_incident_answer_readings_account_observed', 'incident_answer_readings')
    op.drop_table('incident_answer_readings')
    op.drop_index('ix_account_incident_days_day', 'account_incident_days')
    op.drop_table('account_incident_days')
    op.drop_index('ix_incidents_status_policy', 'incidents')
    op.drop_index('ix_incidents_account_status', 'incidents')
