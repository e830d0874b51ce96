"""The HTTP API: tokens, account routing keys, and the alert dedup key of incidents opened by alerts.

`api_tokens` holds one row per token (a SHA-256 digest of the token, never the token itself; its
first characters for display; its scope, user, expiry, last use and revocation).
`api_idempotency` keeps the answer to each token's request sent with an Idempotency-Key.
`alert_sources` are the systems that send events by signed webhook (helpdesks, monitors), with
their field mapping, policy and secret.
`accounts.routing_key` names an account in alerts (unique; NULL for accounts without one).
`incidents.alert_dedup_key` is the monitoring alert's key that later alerts of the account join
while the incident is open. Existing rows: no tokens, no routing keys, no dedup keys.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(80), nullable=False),
        sa.Column('prefix', sa.String(16), nullable=False),
        sa.Column('hash', sa.String(64), nullable=False),
        sa.Column('scope', sa.String(16), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', name=op.f('fk_api_tokens_user_id_users')),
                  nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(),
                  sa.ForeignKey('users.id', name=op.f('fk_api_tokens_created_by_id_users')), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('uq_api_tokens_hash', 'api_tokens', ['hash'], unique=True)
    op.create_index('ix_api_tokens_prefix', 'api_tokens', ['prefix'])
    op.create_table(
        'api_idempotency',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('token_id', sa.Integer(),
                  sa.ForeignKey('api_tokens.id', ondelete='CASCADE', name=op.f('fk_api_idempotency_token_id_api_tokens')),
                  nullable=False),
        sa.Column('key', sa.String(64), nullable=False),
        sa.Column('request_hash', sa.String(64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('token_id', 'key', name=op.f('uq_api_idempotency_token_key')),
    )
    op.create_table(
        'alert_sources',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(64), nullable=False),
        sa.Column('secret', sa.String(128), nullable=False),
        sa.Column('signature_header', sa.String(64), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', name=op.f('fk_alert_sources_user_id_users')),
                  nullable=False),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.UniqueConstraint('name', name=op.f('uq_alert_sources_name')),
    )
    op.add_column('accounts', sa.Column('routing_key', sa.String(64), nullable=True))
    op.create_index('uq_accounts_routing_key', 'accounts', ['routing_key'], unique=True)
    op.add_column('incidents', sa.Column('alert_dedup_key', sa.String(255), nullable=True))
    op.create_index('ix_incidents_account_alert_dedup', 'incidents', ['account_id', 'alert_dedup_key'])


def downgrade() -> None:
    op.drop_index('ix_incidents_account_alert_dedup', table_name='incidents')
    op.drop_column('incidents', 'alert_dedup_key')
    op.drop_index('uq_accounts_routing_key', table_name='accounts')
    op.drop_column('accounts', 'routing_key')
    op.drop_table('alert_sources')
    op.drop_table('api_idempotency')
    op.drop_index('ix_api_tokens_prefix', table_name='api_tokens')
    op.drop_index('uq_api_tokens_hash', table_name='api_tokens')
    op.drop_table('api_tokens')
