"""Row-level helpers for read-modify-write: lock a row, lock it only while it is still the version a user saw,
or create it if missing.

On PostgreSQL these take `SELECT ... FOR UPDATE` row locks; on SQLite the
write transaction already holds the database write lock (`BEGIN IMMEDIATE`).
They must only be called inside `session_scope()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import Base

M = TypeVar("M", bound=Base)


def get_for_update(session: Session, model: type[M], key: Any) -> M | None:
    """Load the row with primary key `key`, locked until the unit of work ends."""
    return session.get(model, key, with_for_update=True, populate_existing=True)


def current_for_update(session: Session, model: type[M], key: Any, expected_version: int | None, *,
                       missing: Callable[[], Exception], stale: Callable[[M], Exception]) -> M:
    """The row with primary key `key`, locked, if it is still at `expected_version` (None: whatever its version).

    Raises `missing()` when there is no such row and `stale(row)` when someone saved it since the
    caller read it: the caller's words say what happened and that nothing of theirs was saved.
    """
    row = get_for_update(session, model, key)
    if row is None:
        raise missing()
    # Every model a user edits has an integer `version` (SQLAlchemy's version_id_col).
    if expected_version is not None and row.version != expected_version:  # type: ignore[attr-defined]
        raise stale(row)
    return row


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
