"""One database engine per process and the unit-of-work scopes every caller uses.

`DATABASE_URL` picks the database: an SQLite file under the data folder by
default, PostgreSQL for a team running several app processes. SQLite is
tuned so concurrent writers never lose an update (WAL, busy timeout and
`BEGIN IMMEDIATE` on every write transaction); PostgreSQL callers lock rows
they read-modify-write. This module must never hold a Session beyond one
unit of work, and never cache ORM objects.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session

from db.models import Base

REPO_ROOT = Path(__file__).resolve().parent.parent
_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def data_dir() -> Path:
    """The folder that holds the SQLite file and local secrets (outside git)."""
    path = Path(os.environ.get("ESCALATION_DESK_DATA", REPO_ROOT / "data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def normalise_url(url: str) -> str:
    """Accept the `postgres://` spelling that hosting providers hand out."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql+psycopg2://"):
        return "postgresql://" + url[len("postgresql+psycopg2://") :]
    return url


def database_url() -> str:
    """The configured database URL: `DATABASE_URL`, else the SQLite file in the data folder."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return normalise_url(url)
    return f"sqlite:///{data_dir() / 'escalation_desk.db'}"


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


BUSY_TIMEOUT_S = 15


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Put the database in WAL mode, waiting for another process doing the same.

    On a new file, two processes starting at once both switch the journal
    mode; SQLite refuses the second at once ("database is locked") instead of
    waiting out the busy timeout (seen here once in six two-process starts).
    So the switch is retried, with a growing pause, for as long as a busy
    write would be waited for.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.01
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        _switch_to_wal(cursor)
        for pragma in ("foreign_keys=ON", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that
        # reads, then writes, is how SQLite silently loses updates.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    """Create a new engine for `url` with the settings this app relies on."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default: the configured database)."""
    url = normalise_url(url or database_url())
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            _engines[url] = engine
        return engine


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    engine = engine or get_engine()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A read-only unit of work that does not take SQLite's write lock."""
    engine = engine or get_engine()
    bind = engine.execution_options(sqlite_begin="DEFERRED") if is_sqlite(engine) else engine
    with Session(bind, expire_on_commit=False, autoflush=False) as session:
        yield session  # closing the session rolls back: nothing is ever written here


def analyze(conn: Connection) -> None:
    """Refresh the planner's statistics of the app's own tables after a bulk load.

    On PostgreSQL a bare ANALYZE takes every table of every schema in the database, other test runs'
    and other datasets' too, and deadlocks with their TRUNCATEs; naming the tables keeps it to ours.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables))
    else:
        conn.exec_driver_sql("ANALYZE")
