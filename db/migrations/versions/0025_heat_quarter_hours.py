"""Breach heat per UTC quarter hour of detection, so a reader at +05:30 or +05:45 gets the map from the rollups.

The heat rollups counted breaches per UTC hour of detection, which moves exactly only to zones a whole
number of hours from UTC. For India (+05:30), Nepal (+05:45), Newfoundland (-03:30) and the like, the
dashboard read every breached clock's own detection time instead: 0.53 s of SQL at a million incidents.
`sla_breach_heat` and `sla_open_breach_heat` gain `quarter` (0-3, the quarter of the UTC hour) in
their key; every zone in use today is a whole number of quarter hours from UTC. Both tables are small
rollups, so they are dropped, made again and refilled from the clock facts, with the rules of
`core.sla.projection.rebuild_rollups` written out here (a migration keeps doing what it did when the
code moves on). Downgrade sums the quarters back into hours.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table and whether it counts open clocks.
TABLES = {'sla_breach_heat': False, 'sla_open_breach_heat': True}
KEY = ('week', 'severity', 'tier', 'csm_id', 'policy_name', 'weekday', 'hour')


def _create(name: str, *, quarter: bool) -> None:
    key = (*KEY, 'quarter') if quarter else KEY
    op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('severity', sa.String(length=2), nullable=False),
        sa.Column('tier', sa.String(length=16), nullable=False),
        sa.Column('csm_id', sa.Integer(), nullable=False),
        sa.Column('policy_name', sa.String(length=64), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('hour', sa.Integer(), nullable=False),
        *([sa.Column('quarter', sa.Integer(), nullable=False)] if quarter else []),
        sa.Column('breached', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
        sa.UniqueConstraint(*key, name=f'uq_{name}_key'),
    )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    # The quarter of the UTC hour of detection (SQLite keeps UTC times as text, "YYYY-MM-DD HH:MM:SS...").
    minute = ("EXTRACT(MINUTE FROM timezone('UTC', f.detected_at))" if postgresql
              else "strftime('%M', f.detected_at)")
    quarter = f'CAST(CAST({minute} AS INTEGER) / 15 AS INTEGER)'
    key = ', '.join(f'f.{column}' for column in KEY)
    for name, is_open in TABLES.items():
        op.drop_table(name)
        _create(name, quarter=True)
        condition = 'f.is_open' if is_open else 'NOT f.is_open'
        op.execute(f"INSERT INTO {name} ({', '.join(KEY)}, quarter, breached) "
                   f"SELECT {key}, {quarter}, COUNT(*) FROM sla_clock_facts f "
                   f"WHERE {condition} AND f.state = 'breached' GROUP BY {key}, {quarter}")


def downgrade() -> None:
    columns = ', '.join(KEY)
    for name in TABLES:
        op.execute(f'CREATE TABLE {name}_hours AS SELECT {columns}, SUM(breached) AS breached FROM {name} '
                   f'GROUP BY {columns}')
        op.drop_table(name)
        _create(name, quarter=False)
        op.execute(f'INSERT INTO {name} ({columns}, breached) SELECT {columns}, breached FROM {name}_hours')
        op.drop_table(f'{name}_hours')
