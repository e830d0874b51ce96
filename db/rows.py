"""Row-level helpers for read-modify-write: lock a row, or create it if missing.

On PostgreSQL these take `SELECT ... FOR UPDATE` row locks; on SQLite the
write transaction already holds the database write lock (`BEGIN IMMEDIATE`).
They must only be called inside `session_scope()`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import Base

M = TypeVar("M", bound=Base)


def get_for_update(session: Session, model: type[M], key: Any) -> M | None:
    """Load the row with primary key `key`, locked until the unit of work ends."""
    return session.get(model, key, with_for_update=True, populate_existing=True)


def get_or_create_for_update(session: Session, model: type[M], key: Any, **defaults: Any) -> M:
    """Lock the row with primary key `key` (a tuple for a composite key), inserting it first when missing."""
    pk_names = [column.name for column in model.__mapper__.primary_key]
    values = dict(zip(pk_names, key if isinstance(key, tuple) else (key,), strict=True))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).values({**values, **defaults}).on_conflict_do_nothing()
    session.execute(stmt)
    row = get_for_update(session, model, key)
    assert row is not None  # just inserted or already there
    return row
