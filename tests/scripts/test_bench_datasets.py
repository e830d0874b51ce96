"""The bench reuses a dataset across migrations (upgraded in place, the time recorded) and rebuilds it when its
builder changed."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from db.engine import make_engine, session_scope
from db.migrate import alembic_config
from db.models import Incident, Setting

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
# scripts/ is not a package: its modules are found through sys.path.
import bench

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SIZE = 120


def _marker(engine) -> dict:
    with session_scope(engine) as session:
        return session.scalar(select(Setting.value).where(Setting.key == bench.MARKER))


def _incident_ids(engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(select(Incident.id).order_by(Incident.id)))


@pytest.mark.slow
def test_a_dataset_built_on_an_earlier_schema_is_upgraded_in_place_and_one_from_another_builder_is_rebuilt(
        tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    assert bench.ensure_dataset(url, SIZE, NOW)["incidents"] == SIZE
    engine = make_engine(url)
    first = _incident_ids(engine)
    assert _marker(engine)["builder"] == bench.builder_digest()
    # As if built before the latest revision: its schema one revision back, its marker saying so.
    heads = bench.schema_revisions(engine)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "-1")
    with engine.connect() as conn:
        earlier = conn.scalar(text("SELECT version_num FROM alembic_version"))
    assert [earlier] != heads
    with session_scope(engine) as session:
        marker = session.get(Setting, bench.MARKER)
        marker.value = {**marker.value, "revisions": [earlier]}
    tables_before = set(inspect(engine).get_table_names())

    info = bench.ensure_dataset(url, SIZE, NOW + dt.timedelta(days=1))

    assert _incident_ids(engine) == first  # reused, not rebuilt
    with engine.connect() as conn:
        assert [conn.scalar(text("SELECT version_num FROM alembic_version"))] == heads
    assert set(inspect(engine).get_table_names()) >= tables_before
    [step] = info["upgrades"]
    assert (step["from"], step["to"]) == ([earlier], heads) and step["upgrade_s"] >= 0
    assert _marker(engine)["revisions"] == heads and _marker(engine)["upgrades"] == info["upgrades"]
    # Reused again as it is: nothing more to run, nothing more recorded.
    assert bench.ensure_dataset(url, SIZE, NOW)["upgrades"] == info["upgrades"]

    # Another version of the builder: the dataset is built anew.
    monkeypatch.setattr(bench, "builder_digest", lambda: "another builder")
    engine.dispose()
    rebuilt = bench.ensure_dataset(url, SIZE, NOW)
    assert "upgrades" not in rebuilt and rebuilt["builder"] == "another builder"
    engine = make_engine(url)
    assert len(_incident_ids(engine)) == SIZE
    engine.dispose()


@pytest.mark.slow
def test_a_postgresql_dataset_is_vacuumed_once_per_schema_revision_as_autovacuum_would(pg_url):
    engine = make_engine(pg_url)
    try:
        from tests.conftest import _truncate

        _truncate(engine)
        heads = bench.schema_revisions(engine)
        with session_scope(engine) as session:
            session.merge(Setting(key=bench.MARKER, value={"incidents": 0, "revisions": heads}))
        info = bench.settled(engine, NOW)
        assert info["vacuumed_revisions"] == heads and info["vacuum_s"] >= 0
        assert _marker(engine)["vacuumed_at"] == NOW.isoformat()
        vacuumed = None
        for _ in range(50):  # a backend reports its statistics within about a second
            with engine.connect() as conn:
                vacuumed = conn.scalar(text("SELECT last_vacuum FROM pg_stat_user_tables "
                                            "WHERE relname = 'incidents' AND schemaname = current_schema()"))
            if vacuumed is not None:
                break
            time.sleep(0.1)
        assert vacuumed is not None
        # Already settled at this revision: nothing runs again.
        assert bench.settled(engine, NOW + dt.timedelta(days=1))["vacuumed_at"] == NOW.isoformat()
        # SQLite has nothing to settle.
        assert bench.settled(make_engine("sqlite://"), NOW) == {}
    finally:
        with session_scope(engine) as session:
            session.execute(Setting.__table__.delete().where(Setting.key == bench.MARKER))
        engine.dispose()
