"""Store each policy snapshot once: incidents point at a shared, never-edited `policy_snapshots` row.

Until now every incident carried its own copy of the whole policy (about 16 KB), so a million
incidents held a million copies of a handful of policies. `policy_snapshots` keeps each distinct
body once, named by the SHA-256 of its canonical JSON; `incidents.policy_snapshot_id` points at it.
The move is exact: each body is the JSON the incident stored, parsed and kept as it was (never
re-made by today's code), and incidents with the same stored text share a row. One pass over the
incidents: the distinct stored texts go to a keyed temporary table, then one UPDATE looks each
incident's text up there. The old column is dropped in place (SQLite 3.35+ DROP COLUMN, no table
copy, so no ON DELETE CASCADE fires); on SQLite, `VACUUM` afterwards returns the freed space to
the disk. Downgrade puts a copy back on every incident.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 16:10:00
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def content_hash(body: object) -> str:
    """SHA-256 of the canonical JSON of `body` (the same rule as core.policy.store.snapshot_hash)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(',', ':'), ensure_ascii=False)
                          .encode()).hexdigest()


def upgrade() -> None:
    op.create_table(
        'policy_snapshots',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('content_hash', sa.String(64), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('content_hash', name=op.f('uq_policy_snapshots_content_hash')),
    )
    op.add_column('incidents', sa.Column('policy_snapshot_id', sa.Integer(), nullable=True))
    bind = op.get_bind()
    as_text = 'CAST(policy_snapshot AS TEXT)'
    # The lookup key: the text itself on SQLite; its MD5 on PostgreSQL, whose index rows cannot hold 16 KB.
    key = as_text if bind.dialect.name == 'sqlite' else f'md5({as_text})'
    op.execute('CREATE TEMPORARY TABLE snapshot_texts (lookup TEXT NOT NULL PRIMARY KEY, stored TEXT NOT NULL, '
               'snapshot_id INTEGER)')
    op.execute(f'INSERT INTO snapshot_texts (lookup, stored) SELECT {key}, MIN({as_text}) FROM incidents '
               f'GROUP BY {key}')
    snapshots = sa.table('policy_snapshots', sa.column('id', sa.Integer()), sa.column('content_hash', sa.String()),
                         sa.column('body', sa.JSON()), sa.column('created_at', sa.DateTime(timezone=True)))
    ids: dict[str, int] = {}
    for lookup, stored in bind.execute(sa.text('SELECT lookup, stored FROM snapshot_texts')).all():
        body = json.loads(stored)
        digest = content_hash(body)
        if digest not in ids:
            ids[digest] = bind.execute(sa.insert(snapshots).values(
                content_hash=digest, body=body, created_at=sa.func.now()).returning(snapshots.c.id)).scalar_one()
        bind.execute(sa.text('UPDATE snapshot_texts SET snapshot_id = :i WHERE lookup = :k'),
                     {'i': ids[digest], 'k': lookup})
    op.execute(f'UPDATE incidents SET policy_snapshot_id = '
               f'(SELECT snapshot_id FROM snapshot_texts WHERE snapshot_texts.lookup = {key})')
    op.execute('DROP TABLE snapshot_texts')
    op.create_index('ix_incidents_policy_snapshot', 'incidents', ['policy_snapshot_id'])
    op.drop_column('incidents', 'policy_snapshot')


def downgrade() -> None:
    op.add_column('incidents', sa.Column('policy_snapshot', sa.JSON(), nullable=True))
    op.execute('UPDATE incidents SET policy_snapshot = '
               '(SELECT body FROM policy_snapshots WHERE policy_snapshots.id = incidents.policy_snapshot_id)')
    op.drop_index('ix_incidents_policy_snapshot', 'incidents')
    op.drop_column('incidents', 'policy_snapshot_id')
    op.drop_table('policy_snapshots')
