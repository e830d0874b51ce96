"""Each person's choice of times in their own zone or UTC, and whether they set their zone.

Plain ADD COLUMN (no batch copy): on SQLite a batch move drops the users table,
which accounts, incidents and the audit log point at. A person whose stored
zone is not the default UTC set it (on their profile, or an administrator did):
that zone stays theirs. A default UTC was never chosen, so the browser's zone is
shown for them until they choose one.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('users', sa.Column('time_zone_chosen', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('users', sa.Column('show_times_in', sa.String(8), nullable=False, server_default='mine'))
    op.execute(sa.text("UPDATE users SET time_zone_chosen = :chosen WHERE time_zone <> 'UTC'")
               .bindparams(chosen=True))


def downgrade() -> None:
    op.drop_column('users', 'show_times_in')
    op.drop_column('users', 'time_zone_chosen')
