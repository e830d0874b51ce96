"""The client's view and one outage across many clients: status pages, subscribers, platform outages.

`status_pages` (one per incident: the signed link's nonce, the client headline, revocation) and
`status_subscribers` (email with double opt-in, webhook, the internal stakeholder tier);
`communications.public_status` is the stage a status page post shows; `outages` are platform
outages, the parents of one incident per affected account (`incidents.outage_id`). Nothing to move:
existing incidents stand alone and have no status page until a CSM makes one.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.ForeignKey:
    return sa.ForeignKey(f'{target}.id', ondelete=ondelete, name=op.f(f'fk_{table}_{column}_{target}'))


def _stamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'outages',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('title', sa.String(200), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('client_impact', sa.Text(), nullable=False),
        sa.Column('severity', sa.String(2), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        _stamp('started_at'), _stamp('resolved_at', True),
        sa.Column('owner_id', sa.Integer(), _fk('outages', 'owner_id', 'users'), nullable=True),
        sa.Column('created_by_id', sa.Integer(), _fk('outages', 'created_by_id', 'users'), nullable=True),
        sa.Column('idempotency_key', sa.String(64), nullable=True),
        _stamp('created_at'), _stamp('updated_at'),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_outages_idempotency_key')),
    )
    op.create_index('ix_outages_status_started', 'outages', ['status', 'started_at'])
    # A plain ADD COLUMN without a foreign key: SQLite can add a constraint only by copying the table, and
    # dropping the old `incidents` would cascade-delete every row that references it (timelines, messages).
    # `core.outage` is the only writer of this column and outages are never deleted.
    op.add_column('incidents', sa.Column('outage_id', sa.Integer(), nullable=True))
    op.create_index('ix_incidents_outage', 'incidents', ['outage_id'])
    op.add_column('communications', sa.Column('public_status', sa.String(16), nullable=True))
    op.create_table(
        'status_pages',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('incident_id', sa.Integer(), _fk('status_pages', 'incident_id', 'incidents', 'CASCADE'),
                  nullable=False),
        sa.Column('nonce', sa.String(64), nullable=False),
        sa.Column('headline', sa.String(200), nullable=False),
        sa.Column('client_impact', sa.Text(), nullable=False),
        _stamp('created_at'),
        sa.Column('created_by_id', sa.Integer(), _fk('status_pages', 'created_by_id', 'users'), nullable=True),
        _stamp('revoked_at', True),
        sa.Column('revoked_by_id', sa.Integer(), _fk('status_pages', 'revoked_by_id', 'users'), nullable=True),
        _stamp('updated_at'),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.UniqueConstraint('incident_id', name=op.f('uq_status_pages_incident_id')),
    )
    op.create_table(
        'status_subscribers',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('status_page_id', sa.Integer(),
                  _fk('status_subscribers', 'status_page_id', 'status_pages', 'CASCADE'), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('address', sa.String(500), nullable=False),
        sa.Column('user_id', sa.Integer(), _fk('status_subscribers', 'user_id', 'users', 'CASCADE'), nullable=True),
        sa.Column('secret', sa.String(128), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('nonce', sa.String(64), nullable=False),
        sa.Column('added_by_id', sa.Integer(), _fk('status_subscribers', 'added_by_id', 'users', 'SET NULL'),
                  nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        _stamp('created_at'), _stamp('confirmation_sent_at', True), _stamp('confirmed_at', True),
        _stamp('unsubscribed_at', True), _stamp('updated_at'),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.UniqueConstraint('status_page_id', 'kind', 'address', name='uq_status_subscribers_page_kind_address'),
    )
    op.create_index('ix_status_subscribers_page_state', 'status_subscribers', ['status_page_id', 'state'])


def downgrade() -> None:
    op.drop_index('ix_status_subscribers_page_state', 'status_subscribers')
    op.drop_table('status_subscribers')
    op.drop_table('status_pages')
    # Plain DROP COLUMN (SQLite 3.35+): no table copy, so no ON DELETE CASCADE empties the tables below.
    op.drop_column('communications', 'public_status')
    op.drop_index('ix_incidents_outage', 'incidents')
    op.drop_column('incidents', 'outage_id')
    op.drop_index('ix_outages_status_started', 'outages')
    op.drop_table('outages')
