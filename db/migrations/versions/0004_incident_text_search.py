"""Free-text search over incident titles and summaries uses a text index, not a scan.

SQLite gets an FTS5 table with the trigram tokenizer (substring matches, the
same answers as LIKE, served from the index) kept in step with `incidents` by
triggers. PostgreSQL gets pg_trgm GIN indexes, which serve ILIKE '%...%'. If the
database refuses CREATE EXTENSION (a role without the right), search still
works, only unindexed: the migration says so and goes on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:40:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

SQLITE_UP = [
    """CREATE VIRTUAL TABLE incidents_fts USING fts5(
           title, summary, content='incidents', content_rowid='id', tokenize='trigram')""",
    "INSERT INTO incidents_fts(rowid, title, summary) SELECT id, title, summary FROM incidents",
    """CREATE TRIGGER incidents_fts_insert AFTER INSERT ON incidents BEGIN
           INSERT INTO incidents_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
       END""",
    """CREATE TRIGGER incidents_fts_delete AFTER DELETE ON incidents BEGIN
           INSERT INTO incidents_fts(incidents_fts, rowid, title, summary)
           VALUES ('delete', old.id, old.title, old.summary);
       END""",
    """CREATE TRIGGER incidents_fts_update AFTER UPDATE OF title, summary ON incidents BEGIN
           INSERT INTO incidents_fts(incidents_fts, rowid, title, summary)
           VALUES ('delete', old.id, old.title, old.summary);
           INSERT INTO incidents_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
       END""",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS incidents_fts_update",
    "DROP TRIGGER IF EXISTS incidents_fts_delete",
    "DROP TRIGGER IF EXISTS incidents_fts_insert",
    "DROP TABLE IF EXISTS incidents_fts",
]


def _trgm_schema(bind: sa.Connection) -> str | None:
    return bind.scalar(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        return
    if bind.dialect.name != "postgresql":
        return
    schema = _trgm_schema(bind)
    if schema is None:
        # In public when we may, so that dropping an app schema never drops it for the others.
        for statement in ("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
                          "CREATE EXTENSION IF NOT EXISTS pg_trgm"):
            try:
                with bind.begin_nested():
                    op.execute(statement)
                break
            except sa.exc.DBAPIError as exc:
                problem = exc.orig
        schema = _trgm_schema(bind)
        if schema is None:
            log.warning("pg_trgm is not available (%s); incident search will scan instead of "
                        "using an index. A database owner can run CREATE EXTENSION pg_trgm.", problem)
            return
    # Qualified: the extension may live outside this schema's search_path.
    ops = f'"{schema}".gin_trgm_ops'
    op.execute(f"CREATE INDEX ix_incidents_title_trgm ON incidents USING gin (title {ops})")
    op.execute(f"CREATE INDEX ix_incidents_summary_trgm ON incidents USING gin (summary {ops})")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_incidents_summary_trgm")
        op.execute("DROP INDEX IF EXISTS ix_incidents_title_trgm")
