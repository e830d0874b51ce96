"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db.engine import normalise_url, session_scope
from db.migrate import include_name
from db.models import Base, User


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(context, Base.metadata) == []


def test_every_model_table_exists(engine):
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgres://u:p@h:5432/db", "postgresql://u:p@h:5432/db"),
        ("postgresql+psycopg2://h/db", "postgresql://h/db"),
        ("postgresql://h/db", "postgresql://h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_spellings(url, expected):
    assert normalise_url(url) == expected


def test_times_round_trip_as_utc(engine):
    moment = dt.datetime(2026, 6, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with session_scope(engine) as s:
        s.add(User(username="tz", display_name="Tz", role="csm", password_hash="x",
                   created_at=moment))
    with session_scope(engine) as s:
        stored = s.query(User).filter_by(username="tz").one().created_at
    assert stored == moment and stored.tzinfo == dt.UTC


def test_naive_times_are_refused(engine):
    with pytest.raises(Exception, match="naive datetime"), session_scope(engine) as s:
        s.add(User(username="naive", display_name="N", role="csm", password_hash="x",
                   created_at=dt.datetime(2026, 1, 1)))


def test_failed_unit_of_work_rolls_back(engine):
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        s.add(User(username="ghost", display_name="G", role="csm", password_hash="x"))
        s.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as s:
        assert s.query(User).filter_by(username="ghost").count() == 0
