"""The builder's bulk writes store exactly what SQLAlchemy Core stores, and the dataset does not depend on workers.

Each table a chunk of incidents writes (and the health readings) is written twice from the same
rows, once by Core's `insert()` and once by `bench_bulk.write`, and read back raw from the driver:
every column the rows set must be equal, on SQLite (text timestamps, integer booleans, JSON text) and
on PostgreSQL (COPY). A dataset built by two worker processes equals the one built in-process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, text

from db.engine import make_engine
from db.models import HealthSignal, Incident, TimelineEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
# scripts/ is not a package: its modules are found through sys.path.
import bench_bulk
import bench_data

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _raw(conn, table, columns) -> list[tuple]:
    names = ", ".join(f'"{c}"' for c in columns)
    # Sorted here: rows without an id tie on every column PostgreSQL can order by (json has no ordering).
    return sorted((tuple(r) for r in conn.exec_driver_sql(f'SELECT {names} FROM "{table.name}"')), key=repr)


@pytest.fixture
def chunk(engine):
    """One generated chunk of 120 incidents (a third open) with the team and snapshots it refers to."""
    rng = random.Random(7)
    team = bench_data.seed_team(engine, rng, NOW)
    snapshots = bench_data.store_snapshots(engine, NOW)
    job = bench_data.ChunkJob(0, range(1, 121), team, snapshots, NOW, 0.3, 7,
                              engine.url.render_as_string(hide_password=False))
    batches, _ = bench_data.chunk_batches(job)
    today = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    batches["health_signals"] = [
        {"account_id": 1, "metric": "csat", "observed_at": today - dt.timedelta(days=d), "value": 4.5,
         "target": None if d % 2 else 4.0, "source": "import", "recorded_at": NOW, "recorded_by_id": None}
        for d in range(5)]
    return batches


def test_bulk_rows_equal_core_rows_for_every_table(engine, chunk) -> None:
    tables = [*bench_data.CHUNK_TABLES, HealthSignal.__table__]
    # Children first when clearing, parents first when writing.
    assert all(chunk[t.name] for t in tables), "every table has rows to compare"
    stored = {}
    for how in ("core", "bulk"):
        with engine.begin() as conn:
            for table in reversed(tables):
                conn.execute(delete(table))
            for table in tables:
                rows = chunk[table.name]
                if how == "core":
                    conn.execute(insert(table), rows)
                else:
                    bench_bulk.write(conn, bench_bulk.prepare(conn.dialect, table, rows))
        with engine.connect() as conn:
            stored[how] = {t.name: _raw(conn, t, list(chunk[t.name][0])) for t in tables}
    for table in tables:
        assert stored["bulk"][table.name] == stored["core"][table.name], table.name
    # And the app reads them back: a timestamp comes out aware UTC, JSON as the dict written.
    with engine.connect() as conn:
        first = conn.execute(select(Incident.detected_at, Incident.triage_result).order_by(Incident.id)).first()
    assert first.detected_at == chunk["incidents"][0]["detected_at"]
    assert first.triage_result == chunk["incidents"][0]["triage_result"]


def test_rows_with_different_columns_are_refused(engine) -> None:
    with engine.connect() as conn, pytest.raises(ValueError, match="same columns"):
        bench_bulk.prepare(conn.dialect, TimelineEvent.__table__, [{"kind": "note"}, {"kind": "note", "summary": ""}])


def test_a_naive_time_is_refused_as_the_app_refuses_it(engine) -> None:
    with pytest.raises(ValueError, match="naive"):
        bench_bulk.prepare(engine.dialect, HealthSignal.__table__, [{"observed_at": dt.datetime(2026, 1, 1)}])


def _digest(url: str) -> str:
    eng = make_engine(url)
    digest = hashlib.sha256()
    with eng.connect() as conn:
        for table in ("incidents", "timeline_events", "communications", "incident_reports", "sla_clock_facts",
                      "incident_facts"):
            for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1")):
                digest.update(repr(tuple(row)).encode())
    eng.dispose()
    return digest.hexdigest()


@pytest.mark.slow
def test_the_dataset_is_the_same_with_worker_processes(migrated_sqlite, tmp_path, monkeypatch) -> None:
    import shutil

    monkeypatch.setattr(bench_data, "CHUNK", 100)  # 350 incidents: four chunks
    urls = {}
    for workers in (0, 2):
        path = tmp_path / f"w{workers}.sqlite"
        shutil.copyfile(migrated_sqlite, path)
        urls[workers] = f"sqlite:///{path}"
        eng = make_engine(urls[workers])
        bench_data.build(eng, 350, NOW, open_share=0.1, signal_days=2, workers=workers)
        eng.dispose()
    assert _digest(urls[0]) == _digest(urls[2])


def _indexes(conn) -> set[tuple[str, str]]:
    if conn.dialect.name == "postgresql":
        return {(name, definition) for name, definition in conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"))}
    return {(name, sql) for name, sql in conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL")}


def test_indexes_deferred_for_the_load_come_back_as_migrated(engine) -> None:
    with engine.connect() as conn:
        migrated = _indexes(conn)
    assert len(migrated) > 40
    bench_data.build(engine, 200, NOW, open_share=0.1, signal_days=2)
    with engine.connect() as conn:
        assert _indexes(conn) == migrated
        if conn.dialect.name == "sqlite":
            # The full-text index was rebuilt from the table: its integrity check passes and it finds
            # exactly the incidents a plain scan finds.
            conn.exec_driver_sql("INSERT INTO incidents_fts(incidents_fts) VALUES('integrity-check')")
            by_index = {r[0] for r in conn.exec_driver_sql(
                "SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH '\"checkout\"'")}
            by_scan = {r[0] for r in conn.exec_driver_sql(
                "SELECT id FROM incidents WHERE lower(title) LIKE '%checkout%' OR lower(summary) LIKE '%checkout%'")}
            assert by_index == by_scan and by_index


def test_a_failed_load_still_puts_the_indexes_back(engine) -> None:
    with engine.connect() as conn:
        migrated = _indexes(conn)
    with pytest.raises(RuntimeError), bench_bulk.deferred_indexes(engine, ["incidents", "timeline_events"]):
        with engine.connect() as conn:
            assert _indexes(conn) < migrated
        raise RuntimeError("load failed")
    with engine.connect() as conn:
        assert _indexes(conn) == migrated
