"""Bulk writes for the benchmark datasets: rows stored byte for byte as SQLAlchemy Core stores them, only faster.

`insert_rows(conn, table, rows)` writes a list of plain dicts (every dict with the same keys) into one
table: SQLite through the driver's `executemany`, PostgreSQL through `COPY ... FROM STDIN`. Each value
goes through the column type's own bind processor, so JSON is serialised, booleans and dates are
converted exactly as the app's writes convert them; the one processor replaced is the app's UTC
timestamp on SQLite (`db.models.base.UtcDateTime`), whose chain of two Python calls per value was most
of the builder's time, by the same text in one call (tests/scripts/test_bench_bulk.py compares the
stored rows with Core's). It must never be used by the app: it skips the ORM, its events and its
defaults (a dict must carry every column it wants set).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Connection, Dialect, Engine, Table, text

from db.models.base import UtcDateTime

Convert = Callable[[Any], Any]
# Rows ready for the driver: the table's name, its columns and each row's values.
Prepared = tuple[str, list[str], list[tuple[Any, ...]]]


def _sqlite_utc(value: dt.datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME text: "YYYY-MM-DD HH:MM:SS.ffffff", always with microseconds, in UTC.
    if value is None:
        return None
    if value.tzinfo is dt.UTC:  # the builder's own times: one call
        return value.isoformat(" ", "microseconds")[:-6]
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: store timezone-aware UTC times")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _json(value: Any) -> str:
    # What the JSON type's bind processor sends on both engines (a Python None is stored as JSON null).
    return json.dumps(value)


def converters(dialect: Dialect, table: Table, columns: Sequence[str]) -> list[Convert | None]:
    """For each column, the function that turns a Python value into what the driver receives (None: as is)."""
    result: list[Convert | None] = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, UtcDateTime) and dialect.name == "sqlite":
            result.append(_sqlite_utc)
        elif isinstance(column_type, JSON):
            result.append(_json)
        else:
            result.append(column_type._cached_bind_processor(dialect))
    return result


def prepare(dialect: Dialect, table: Table, rows: Sequence[dict[str, Any]]) -> Prepared:
    """`rows` (dicts with the same keys) as the driver values of `table`'s columns."""
    if not rows:
        return table.name, [], []
    columns = list(rows[0])
    if any(len(row) != len(columns) for row in rows):
        raise ValueError(f"every row of {table.name} must set the same columns: {sorted(columns)}")
    convert = converters(dialect, table, columns)
    # Column by column: one list comprehension per column is far cheaper than a generator per row.
    values = [[row[name] for row in rows] if fn is None else [fn(row[name]) for row in rows]
              for name, fn in zip(columns, convert, strict=True)]
    return table.name, columns, list(zip(*values, strict=True))


def write(conn: Connection, prepared: Prepared) -> None:
    """Write prepared rows inside the connection's transaction: executemany on SQLite, COPY on PostgreSQL."""
    name, columns, values = prepared
    if not values:
        return
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy(f"COPY {quote(name)} ({names}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {quote(name)} ({names}) VALUES ({marks})", values)
    finally:
        cursor.close()


# SQLite's full-text tables kept by triggers on a table (db/migrations/versions/0004): rebuilt after a load.
FULL_TEXT = {"incidents": "incidents_fts"}


def _secondary_indexes(conn: Connection, tables: Sequence[str]) -> list[tuple[str, str, str]]:
    """(kind, name, definition) of the indexes of `tables` that back no constraint, and SQLite's triggers on them."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text(
            "SELECT 'index', i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename = ANY(:tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = "
            "(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"), {"tables": list(tables)})
    else:
        marks = ", ".join("?" for _ in tables)
        rows = conn.exec_driver_sql(
            f"SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks})", tuple(tables))
    return [(kind, name, sql) for kind, name, sql in rows]


@contextmanager
def deferred_indexes(engine: Engine, tables: Sequence[str]) -> Iterator[None]:
    """Load `tables` without their secondary indexes, then build each again from its own stored definition.

    Building an index once over sorted rows is about twice as fast as keeping it row by row (40k
    incidents on SQLite: 16.6 s of CPU with the indexes, 6.7 + 2.5 s without and rebuilt). The
    definitions are read from the database itself, so the schema after the load is the migrated one
    (tests/scripts/test_bench_bulk.py compares them); SQLite's full-text index is rebuilt from its table.
    """
    with engine.begin() as conn:
        saved = _secondary_indexes(conn, tables)
        for kind, name, _ in saved:
            conn.exec_driver_sql(f"DROP {kind.upper()} {conn.dialect.identifier_preparer.quote(name)}")
    try:
        yield
    finally:
        with engine.begin() as conn:
            for _, _, definition in saved:
                conn.exec_driver_sql(definition)
            if conn.dialect.name == "sqlite":
                for table in tables:
                    if table in FULL_TEXT:
                        conn.exec_driver_sql(f"INSERT INTO {FULL_TEXT[table]}({FULL_TEXT[table]}) VALUES('rebuild')")


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` inside the connection's transaction."""
    write(conn, prepare(conn.dialect, table, rows))
