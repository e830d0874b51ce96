"""The incident cockpit: the client's confirmation of the fix, the war room link, phase steps done.

Plain ADD COLUMN (no batch copy): on SQLite a batch move drops the incidents
table, and its ON DELETE CASCADE would empty the tables that point at it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('incidents', sa.Column('client_confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('incidents', sa.Column('war_room_url', sa.String(500), nullable=True))
    op.add_column('incidents', sa.Column('steps_done', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    op.drop_column('incidents', 'steps_done')
    op.drop_column('incidents', 'war_room_url')
    op.drop_column('incidents', 'client_confirmed_at')
