"""Opening an incident is idempotent: the token of the form or request that opened it, unique.

NULL for incidents opened before (and by the demo): a unique index allows any
number of NULLs on SQLite and PostgreSQL alike.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('incidents', sa.Column('idempotency_key', sa.String(64), nullable=True))
    op.create_index('uq_incidents_idempotency_key', 'incidents', ['idempotency_key'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_incidents_idempotency_key', table_name='incidents')
    op.drop_column('incidents', 'idempotency_key')
