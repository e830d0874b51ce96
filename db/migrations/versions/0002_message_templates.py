"""Message templates: every saved version of each client message template.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:57:59.819167
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('message_template_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('is_shipped', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_message_template_versions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_template_versions')),
    sa.UniqueConstraint('key', 'version', name='uq_message_template_versions_key_version')
    )
    with op.batch_alter_table('message_template_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_template_versions_key'), ['key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('message_template_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_template_versions_key'))

    op.drop_table('message_template_versions')
