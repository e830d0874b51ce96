"""Schema migrations: bring any database to the newest schema with Alembic.

Used by `python -m core init` (and so `make run`) and by the tests. It must
never create tables any other way: the migrations are the schema's history.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from db.engine import get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at our migrations (and at `url` when given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine | None = None) -> None:
    """Apply every pending migration to the database behind `engine`."""
    engine = engine or get_engine()
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


# Objects the migrations create that the models cannot describe: SQLite's FTS5
# table (and its shadow tables) and PostgreSQL's pg_trgm indexes (0004).
UNMODELLED_PREFIXES = ("incidents_fts", "ix_incidents_title_trgm", "ix_incidents_summary_trgm")


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """False for objects the models leave to hand-written migrations (for autogenerate/compare)."""
    return not (name or "").startswith(UNMODELLED_PREFIXES)
