"""Schema migrations: bring any database to the newest schema with Alembic.

Used by `python -m core init` (and so `make run`), by the tests, and at
start by `prepare_database()`, which whatever starts the app calls (the
router, every page's guard, a server module's start-up) so that
`streamlit run app.py` on an empty database migrates it instead of failing
on every page. Concurrent starts are serialised (PostgreSQL advisory lock,
SQLite's write lock), so two processes never apply a migration twice. It
must never create tables any other way: the migrations are the schema's
history.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import NameFilterParentNames, NameFilterType
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from db.engine import get_engine, is_sqlite

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at our migrations (and at `url` when given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Held while migrating a PostgreSQL database ("EDMI"); SQLite's BEGIN IMMEDIATE does the same job.
MIGRATION_LOCK_KEY = 0x45444D49
INIT_COMMAND = ".venv/bin/python -m core init"


class DatabaseNotReady(RuntimeError):
    """The database cannot be brought to this code's schema; the message says what to run or check."""


def upgrade(engine: Engine | None = None) -> None:
    """Apply every pending migration to the database behind `engine`, one process at a time."""
    engine = engine or get_engine()
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A second process starting at the same moment waits here, then finds nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def code_heads() -> set[str]:
    """The newest revisions this code's migrations reach."""
    return set(_scripts().get_heads())


def current_revisions(engine: Engine) -> set[str]:
    """The revisions the database says it is at (empty for a database never migrated)."""
    # Deferred: only looking, so no write lock (and a read-only file can still be read).
    bind = engine.execution_options(sqlite_begin="DEFERRED") if is_sqlite(engine) else engine
    with bind.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


_prepared: set[str] = set()
_prepared_lock = threading.Lock()


def prepare_database(engine: Engine | None = None) -> None:
    """Migrate the database to this code's schema at start, once per process; else raise DatabaseNotReady.

    Cheap once it has succeeded: later calls in the process do not touch the
    database. A failure is not remembered, so a page shows the app as soon
    as the cause (a server down, a missing folder) is fixed.
    """
    engine = engine or get_engine()
    key = engine.url.render_as_string(hide_password=False)
    if key in _prepared:
        return
    with _prepared_lock:  # other sessions of this process wait for the migration, not for tables
        if key in _prepared:
            return
        try:
            current = current_revisions(engine)
            known = {script.revision for script in _scripts().walk_revisions()}
            if current - known:
                raise DatabaseNotReady(_newer_schema(engine, current - known))
            if current != code_heads():
                upgrade(engine)
        except DatabaseNotReady:
            raise
        except Exception as error:
            raise DatabaseNotReady(_cannot_prepare(engine, error)) from error
        _prepared.add(key)


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _newer_schema(engine: Engine, revisions: set[str]) -> str:
    return (
        f"The database {_where(engine)} is at schema revision {', '.join(sorted(revisions))}, which this "
        "version of Escalation Desk does not know: newer code has upgraded it. Run that newer version, "
        "or set DATABASE_URL to a database for this one."
    )


def _cannot_prepare(engine: Engine, error: Exception) -> str:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    return (
        f"The database {_where(engine)} could not be brought up to date "
        f"({reason[0][:300] if reason else type(error).__name__}). Check DATABASE_URL (and that the "
        f"database server is running and writable), then run `{INIT_COMMAND}` (or `make run`) from "
        "the project folder, and reload this page."
    )


# Objects the migrations create that the models cannot describe: SQLite's FTS5
# table (and its shadow tables) and PostgreSQL's pg_trgm indexes (0004).
UNMODELLED_PREFIXES = ("incidents_fts", "ix_incidents_title_trgm", "ix_incidents_summary_trgm")


def include_name(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
    """False for objects the models leave to hand-written migrations (for autogenerate/compare)."""
    return not (name or "").startswith(UNMODELLED_PREFIXES)
