"""The API's per-token rate limit, counted in the database so every server process shares it.

`api_rate_counts` holds one row per token (or alert source) and minute: the calls made in it.
Nothing to move: the in-memory counts of running processes simply start from zero.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'api_rate_counts',
        sa.Column('bucket', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('window_start', sa.DateTime(timezone=True), primary_key=True),
        sa.Column('count', sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('api_rate_counts')
