"""The declarative base every model shares: stable constraint names, UTC timestamps, JSON columns.

One `Base` (one `MetaData`) for the whole schema, so Alembic sees every table
through `db.models.Base.metadata`. `UtcDateTime` refuses naive values: times are
stored in UTC and shown in the user's zone by the pages. Never contains business
rules or queries: those live in `core`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    MetaData,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python and UTC in the database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC times")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic diffs stay clean)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def utc_now() -> dt.datetime:
    """The current time in UTC: the default of the `created_at`/`updated_at` columns."""
    return dt.datetime.now(dt.UTC)


def versioned(version: Mapped[int]) -> Mapping[str, Any]:
    """The mapper arguments of a row people edit: SQLAlchemy checks `version` on every UPDATE.

    A stale edit then fails instead of overwriting. Read-only, as SQLAlchemy only reads it.
    """
    return MappingProxyType({"version_id_col": version})
