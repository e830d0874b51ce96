"""The response log of an incident (escalations, level responses, client messages) and the rules it fired.

The escalation ladder, the per-level response clocks and the client schedule
read it with the incident row, so lists and boards need no extra query. Existing
incidents get theirs from the escalations and client messages already stored.
incident_facts.rules lists the rules each triage fired, so an objective about a
kind of incident ("data issues resolved within 6 hours") finds its incidents.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:10:00
"""

import datetime as dt
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLIENT_CHANNELS = ('email', 'phone')  # core.communication.flows.CLIENT_CHANNELS


def _iso(value: object) -> str:
    # Stored times are UTC; SQLite hands them back as naive text.
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat()


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch copy: on SQLite a batch move drops the old
    # incidents table, and its ON DELETE CASCADE would empty escalations and messages.
    op.add_column('incidents', sa.Column('response_log', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    bind = op.get_bind()
    logs: dict[int, dict[str, object]] = {}
    for incident_id, level, at in bind.execute(sa.text(
            'SELECT incident_id, to_level, escalated_at FROM escalations ORDER BY escalated_at, id')):
        logs.setdefault(incident_id, {}).setdefault('escalations', []).append([level, _iso(at)])  # type: ignore[union-attr]
    channels = ', '.join(f"'{c}'" for c in CLIENT_CHANNELS)
    for incident_id, at in bind.execute(sa.text(
            f'SELECT incident_id, sent_at FROM communications WHERE channel IN ({channels}) ORDER BY sent_at, id')):
        logs.setdefault(incident_id, {}).setdefault('messages', []).append(_iso(at))  # type: ignore[union-attr]
    # A first notice recorded as a milestone (a call nobody logged as a message) counts too.
    for incident_id, at in bind.execute(sa.text(
            'SELECT id, client_notified_at FROM incidents WHERE client_notified_at IS NOT NULL')):
        messages = logs.setdefault(incident_id, {}).setdefault('messages', [])
        if _iso(at) not in messages:  # type: ignore[operator]
            messages.insert(0, _iso(at))  # type: ignore[union-attr]
    for incident_id, log in logs.items():
        bind.execute(sa.text('UPDATE incidents SET response_log = :log WHERE id = :id'),
                     {'log': json.dumps(log), 'id': incident_id})


    # The rules each triage fired, for objectives scoped to a kind of incident ("data issues").
    op.add_column('incident_facts', sa.Column('rules', sa.Text(), nullable=False, server_default=''))
    done = 0
    while True:
        rows = bind.execute(sa.text(
            'SELECT id, triage_result FROM incidents WHERE id > :after ORDER BY id LIMIT 5000'),
            {'after': done}).all()
        if not rows:
            break
        for incident_id, result in rows:
            data = json.loads(result) if isinstance(result, str) else (result or {})
            ids = sorted({r.get('rule_id', '') for r in data.get('reasons', [])} - {''})
            if ids:
                bind.execute(sa.text('UPDATE incident_facts SET rules = :rules WHERE incident_id = :id'),
                             {'rules': ',' + ','.join(ids) + ',', 'id': incident_id})
        done = rows[-1][0]


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+) for the same reason: no table copy, no cascade.
    op.drop_column('incident_facts', 'rules')
    op.drop_column('incidents', 'response_log')
