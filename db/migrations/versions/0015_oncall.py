"""On-call schedules, pages, external contacts, notification rules, followers and drills.

`oncall_schedules` / `oncall_layers` / `oncall_overrides` / `oncall_swaps` say who answers each
escalation level at any moment; `external_contacts` are people paged from outside the app;
`notification_rules` how each person is reached; `pages` one level's paging of one incident
(one live page per incident and level); `incident_followers` who follows an incident.
`notifications.page_id` / `contact_id` tie a notification to its page and outside contact;
`incidents.is_drill` marks exercises; `users.phone`, `quiet_from`, `quiet_to` a person's number
and quiet hours. Existing rows: no drills, no phone, no quiet hours, nobody follows anything.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("state IN ('open', 'acknowledged')")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f'{target}.id', ondelete=ondelete, name=op.f(f'fk_{table}_{column}_{target}'))


def _stamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        'oncall_schedules',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(80), nullable=False),
        sa.Column('level', sa.String(16), nullable=True),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('time_zone', sa.String(64), nullable=False),
        sa.Column('manager', sa.String(32), nullable=False),
        sa.Column('ack_timeout_minutes', sa.Integer(), nullable=False),
        sa.Column('repeats', sa.Integer(), nullable=False),
        sa.Column('ack_expires_minutes', sa.Integer(), nullable=False),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        _stamp('created_at'), _stamp('updated_at'),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.UniqueConstraint('name', name=op.f('uq_oncall_schedules_name')),
    )
    op.create_table(
        'oncall_layers',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('schedule_id', sa.Integer(), _fk('oncall_layers', 'schedule_id', 'oncall_schedules', 'CASCADE'),
                  nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(80), nullable=False),
        sa.Column('rotation', sa.String(16), nullable=False),
        sa.Column('shift_hours', sa.Integer(), nullable=False),
        sa.Column('start_local', sa.String(19), nullable=False),
        sa.Column('time_zone', sa.String(64), nullable=False),
        sa.Column('members', sa.JSON(), nullable=False),
        _stamp('created_at'), _stamp('updated_at'),
        sa.Column('version', sa.Integer(), nullable=False),
    )
    op.create_index('uq_oncall_layers_schedule_position', 'oncall_layers', ['schedule_id', 'position'], unique=True)
    op.create_table(
        'oncall_overrides',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('schedule_id', sa.Integer(),
                  _fk('oncall_overrides', 'schedule_id', 'oncall_schedules', 'CASCADE'), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('who', sa.String(32), nullable=False),
        _stamp('starts_at'), _stamp('ends_at'),
        sa.Column('replaces', sa.String(32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), _fk('oncall_overrides', 'created_by_id', 'users', 'SET NULL'),
                  nullable=True),
        _stamp('created_at'),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_oncall_overrides_schedule_ends', 'oncall_overrides', ['schedule_id', 'ends_at'])
    op.create_table(
        'oncall_swaps',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('schedule_id', sa.Integer(), _fk('oncall_swaps', 'schedule_id', 'oncall_schedules', 'CASCADE'),
                  nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('requester_id', sa.Integer(), _fk('oncall_swaps', 'requester_id', 'users', 'CASCADE'),
                  nullable=False),
        sa.Column('asked_id', sa.Integer(), _fk('oncall_swaps', 'asked_id', 'users', 'CASCADE'), nullable=False),
        _stamp('starts_at'), _stamp('ends_at'),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('override_id', sa.Integer(), _fk('oncall_swaps', 'override_id', 'oncall_overrides', 'SET NULL'),
                  nullable=True),
        _stamp('created_at'),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
    )
    op.create_index('ix_oncall_swaps_asked_state', 'oncall_swaps', ['asked_id', 'state'])
    op.create_table(
        'external_contacts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(120), nullable=False),
        sa.Column('organisation', sa.String(120), nullable=False),
        sa.Column('email', sa.String(254), nullable=False),
        sa.Column('phone', sa.String(40), nullable=False),
        sa.Column('endpoint_id', sa.Integer(),
                  _fk('external_contacts', 'endpoint_id', 'notification_endpoints', 'SET NULL'), nullable=True),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        _stamp('created_at'),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.UniqueConstraint('name', name=op.f('uq_external_contacts_name')),
    )
    op.create_table(
        'notification_rules',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), _fk('notification_rules', 'user_id', 'users', 'CASCADE'), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(16), nullable=False),
        sa.Column('delay_minutes', sa.Integer(), nullable=False),
        _stamp('created_at'),
    )
    op.create_index('ix_notification_rules_user', 'notification_rules', ['user_id', 'position'])
    op.create_table(
        'pages',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('incident_id', sa.Integer(), _fk('pages', 'incident_id', 'incidents', 'CASCADE'), nullable=False),
        sa.Column('schedule_id', sa.Integer(), _fk('pages', 'schedule_id', 'oncall_schedules', 'SET NULL'),
                  nullable=True),
        sa.Column('level', sa.String(16), nullable=False),
        sa.Column('alert_key', sa.String(200), nullable=False),
        sa.Column('subject', sa.String(300), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('next_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('acknowledged_by', sa.String(160), nullable=False),
        sa.Column('acknowledged_user_id', sa.Integer(), _fk('pages', 'acknowledged_user_id', 'users', 'SET NULL'),
                  nullable=True),
        sa.Column('ack_version', sa.Integer(), nullable=True),
        sa.Column('ack_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_reason', sa.String(200), nullable=False),
        _stamp('created_at'), _stamp('updated_at'),
        sa.Column('version', sa.Integer(), nullable=False),
    )
    op.create_index('ix_pages_live_next', 'pages', ['next_at'], sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index('uq_pages_live_incident_level', 'pages', ['incident_id', 'level'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index('ix_pages_incident', 'pages', ['incident_id', 'created_at'])
    op.create_table(
        'incident_followers',
        sa.Column('incident_id', sa.Integer(), _fk('incident_followers', 'incident_id', 'incidents', 'CASCADE'),
                  primary_key=True),
        sa.Column('user_id', sa.Integer(), _fk('incident_followers', 'user_id', 'users', 'CASCADE'),
                  primary_key=True),
        _stamp('created_at'),
    )
    op.create_index('ix_incident_followers_user', 'incident_followers', ['user_id'])
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('page_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_notifications_page_id_pages'), 'pages', ['page_id'], ['id'],
                                 ondelete='SET NULL')
        batch.create_foreign_key(op.f('fk_notifications_contact_id_external_contacts'), 'external_contacts',
                                 ['contact_id'], ['id'], ondelete='SET NULL')
    op.create_index('ix_notifications_page', 'notifications', ['page_id'])
    op.add_column('incidents', sa.Column('is_drill', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('users', sa.Column('phone', sa.String(40), nullable=False, server_default=''))
    op.add_column('users', sa.Column('quiet_from', sa.String(5), nullable=False, server_default=''))
    op.add_column('users', sa.Column('quiet_to', sa.String(5), nullable=False, server_default=''))


def downgrade() -> None:
    op.drop_column('users', 'quiet_to')
    op.drop_column('users', 'quiet_from')
    op.drop_column('users', 'phone')
    op.drop_column('incidents', 'is_drill')
    op.drop_index('ix_notifications_page', table_name='notifications')
    with op.batch_alter_table('notifications') as batch:
        batch.drop_constraint(op.f('fk_notifications_contact_id_external_contacts'), type_='foreignkey')
        batch.drop_constraint(op.f('fk_notifications_page_id_pages'), type_='foreignkey')
        batch.drop_column('contact_id')
        batch.drop_column('page_id')
    op.drop_table('incident_followers')
    op.drop_table('pages')
    op.drop_table('notification_rules')
    op.drop_table('external_contacts')
    op.drop_table('oncall_swaps')
    op.drop_table('oncall_overrides')
    op.drop_table('oncall_layers')
    op.drop_table('oncall_schedules')
