"""Shared test fixtures: an isolated data folder, migrated SQLite and PostgreSQL databases, users.

PostgreSQL is not optional: the database layer is tested on both engines.
Each run works in its own PostgreSQL schema, dropped at the end, so runs
never see each other's rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sys
import tempfile
import types
import uuid
from pathlib import Path

# Before any app import: cheap bcrypt, a private data folder, a private SQLite file.
_TMP = Path(tempfile.mkdtemp(prefix="escalation-desk-tests-"))
os.environ["ESCALATION_DESK_BCRYPT_ROUNDS"] = "4"
os.environ["ESCALATION_DESK_DATA"] = str(_TMP / "data")
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'app.db'}"
os.environ.setdefault("ESCALATION_DESK_COOKIE_KEY", "tests-only-" + uuid.uuid4().hex)

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.people import users
from db.engine import get_engine, make_engine, session_scope
from db.migrate import upgrade

PG_BASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
TEST_PASSWORD = "correct horse battery"


def pytest_configure(config: pytest.Config) -> None:
    upgrade(get_engine())


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A migrated PostgreSQL schema private to this test run."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_BASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    upgrade(make_engine(rendered))
    yield rendered
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run; each test gets its own copy (migrating per test took most of its time)."""
    path = tmp_path_factory.mktemp("migrated") / "db.sqlite"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()
    assert not path.with_name(path.name + "-wal").exists(), "closing the engine checkpoints the WAL into the file"
    return path


# PostgreSQL is the second engine of every database test; its round-trips make them slow.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def engine(request: pytest.FixtureRequest, tmp_path: Path):
    """A freshly migrated database on each engine (SQLite file per test, shared PG schema)."""
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        eng = make_engine(f"sqlite:///{path}")
    else:
        eng = make_engine(request.getfixturevalue("pg_url"))
        _truncate(eng)
    yield eng
    eng.dispose()


def _truncate(eng) -> None:
    from db.models import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app_db():
    """The app's own configured database (the one pages use), emptied of users and incidents."""
    eng = get_engine()
    from db.models import Base

    with eng.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    return eng


def make_user(eng, username: str, role: str, *, must_change: bool = False, active: bool = True) -> int:
    """Create a user with TEST_PASSWORD on `eng`; returns its id."""
    with session_scope(eng) as session:
        user, _ = users.create_user(
            session, username=username, display_name=username.title(), role=role,
            email=f"{username}@example.com", password=TEST_PASSWORD, actor=users.SYSTEM, now=NOW,
        )
        user.must_change_password = must_change
        user.is_active = active
        return user.id


@contextlib.contextmanager
def clean_main_module():
    """Start spawned processes without re-running whatever script is `__main__`.

    AppTest leaves a page script as `__main__`; multiprocessing's spawn would run
    that page again in the child. Children here only need importable functions.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


# The hostile corpora and the isolation measurements print their counts; `make test` runs quietly,
# so the counts of every passing test are repeated in one section at the end of the run.
_MEASURED_WORDS = ("checked", "refused", "blocked", "max gap", "warm median", "requests in", "outbox:")
_measured: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        _measured.extend(line for line in report.capstdout.splitlines()
                         if any(word in line for word in _MEASURED_WORDS))


def pytest_terminal_summary(terminalreporter) -> None:
    if _measured:
        terminalreporter.section("hostile corpora and isolation, as measured in this run")
        for line in _measured:
            terminalreporter.write_line(line)
