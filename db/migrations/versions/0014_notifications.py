"""The notification outbox, webhook endpoints, and each incident's next alert time.

`notifications` holds every message before it is sent (claimed, retried, dead-lettered
in place); `notification_endpoints` the team's webhooks (generic, Slack, Teams, SMS
gateway). `incidents.next_alert_at` lets a scheduler pass read only the incidents that
have an alert due; existing open incidents start at NULL and are filled by the first
pass that sees them (see core.alerts.scheduler).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'notification_endpoints',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(80), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('url', sa.String(2000), nullable=False),
        sa.Column('secret', sa.String(200), nullable=False),
        sa.Column('levels', sa.JSON(), nullable=False),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.UniqueConstraint('name', name=op.f('uq_notification_endpoints_name')),
    )
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('incident_id', sa.Integer(), sa.ForeignKey('incidents.id', ondelete='CASCADE',
                                                             name=op.f('fk_notifications_incident_id_incidents')),
                  nullable=True),
        sa.Column('rule', sa.String(64), nullable=False),
        sa.Column('channel', sa.String(16), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL',
                                                         name=op.f('fk_notifications_user_id_users')),
                  nullable=True),
        sa.Column('endpoint_id', sa.Integer(),
                  sa.ForeignKey('notification_endpoints.id', ondelete='SET NULL',
                                name=op.f('fk_notifications_endpoint_id_notification_endpoints')),
                  nullable=True),
        sa.Column('recipient', sa.String(320), nullable=False),
        sa.Column('level', sa.String(16), nullable=True),
        sa.Column('dedupe_key', sa.String(200), nullable=False),
        sa.Column('subject', sa.String(300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.String(64), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('acknowledged_by_id', sa.Integer(),
                  sa.ForeignKey('users.id', ondelete='SET NULL',
                                name=op.f('fk_notifications_acknowledged_by_id_users')),
                  nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_notifications_dedupe_key')),
    )
    op.create_index('ix_notifications_pending_due', 'notifications', ['due_at'],
                    sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))
    op.create_index('ix_notifications_incident_created', 'notifications', ['incident_id', 'created_at'])
    op.create_index('ix_notifications_user_unread', 'notifications', ['user_id', 'read_at'])
    op.create_index('ix_notifications_state_updated', 'notifications', ['state', 'updated_at'])
    op.add_column('incidents', sa.Column('next_alert_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_incidents_next_alert', 'incidents', ['next_alert_at'])


def downgrade() -> None:
    op.drop_index('ix_incidents_next_alert', table_name='incidents')
    op.drop_column('incidents', 'next_alert_at')
    op.drop_table('notifications')
    op.drop_table('notification_endpoints')
