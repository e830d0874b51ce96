"""The benchmark's dataset builder stores what the real flows would, and every timed page opens on it.

A small dataset (300 incidents, a tenth of them open so there is something to compare) is built on
SQLite and PostgreSQL; the stored deadlines of open incidents are recomputed through
`core.incident.flows.refresh_next_deadline`, the client times through the response log and the
messages, and the mix of timeline entries, messages and reports is checked against MIX.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.incident import flows
from core.sla import projection
from db.engine import session_scope
from db.models import Base, Communication, HealthSignal, Incident, IncidentReport, TimelineEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
# scripts/ is not a package: its modules are found through sys.path.
import bench_data
import bench_pages

SIZE = 300
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DEADLINE_FIELDS = ("next_deadline_at", "next_deadline_clock", "escalation_due_at", "next_client_update_due_at",
                   "next_alert_at")


def _as_utc(value: object) -> object:
    # SQLite hands datetimes back naive; the app's UTC type makes them aware, raw rows may not.
    return value.replace(tzinfo=dt.UTC) if isinstance(value, dt.datetime) and value.tzinfo is None else value


@pytest.fixture
def built(engine):
    """A 300-incident benchmark dataset on the test engine."""
    bench_data.build(engine, SIZE, NOW, open_share=0.1, signal_days=7)
    return engine


def test_open_incidents_carry_the_deadlines_the_flow_computes(built) -> None:
    with session_scope(built) as session:
        open_incidents = list(session.scalars(select(Incident).where(Incident.resolved_at.is_(None))))
        assert len(open_incidents) >= 10
        for incident in open_incidents:
            stored = {name: _as_utc(getattr(incident, name)) for name in DEADLINE_FIELDS}
            flows.refresh_next_deadline(session, incident, NOW)
            recomputed = {name: _as_utc(getattr(incident, name)) for name in DEADLINE_FIELDS}
            assert stored == recomputed, incident.id
        assert any(i.next_deadline_at for i in open_incidents)
        assert any(i.next_alert_at for i in open_incidents)
        session.rollback()


def test_closed_incidents_have_no_deadline_and_every_incident_a_real_snapshot(built) -> None:
    with built.connect() as conn:
        closed_with_deadline = conn.scalar(select(func.count()).select_from(Incident).where(
            Incident.resolved_at.is_not(None), Incident.next_deadline_at.is_not(None)))
        without_snapshot = conn.scalar(select(func.count()).select_from(Incident)
                                       .where(Incident.policy_snapshot_id.is_(None)))
    assert (closed_with_deadline, without_snapshot) == (0, 0)


def test_client_times_follow_the_messages_sent(built) -> None:
    with session_scope(built) as session:
        for incident in session.scalars(select(Incident).limit(60)):
            sent = sorted(_as_utc(at) for at in session.scalars(
                select(Communication.sent_at).where(Communication.incident_id == incident.id)))
            logged = [dt.datetime.fromisoformat(at) for at in incident.response_log.get("messages", [])]
            assert logged == sent
            assert _as_utc(incident.client_notified_at) == (sent[0] if sent else None)
            assert _as_utc(incident.last_client_update_at) == (sent[-1] if sent else None)


@pytest.mark.parametrize(("table", "low", "high"), [
    (TimelineEvent, 15, 25),    # about MIX["timeline_per_incident"] entries per incident
    (Communication, 3, 5),      # about MIX["messages_per_incident"]
])
def test_history_per_incident_is_the_stated_mix(built, table, low, high) -> None:
    with built.connect() as conn:
        rows = conn.scalar(select(func.count()).select_from(table))
    assert low <= rows / SIZE <= high


def test_one_report_per_ten_resolved_incidents_and_a_reading_per_account_metric_and_day(built) -> None:
    with built.connect() as conn:
        reports = conn.scalar(select(func.count()).select_from(IncidentReport))
        resolved = conn.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_not(None)))
        readings = conn.scalar(select(func.count()).select_from(HealthSignal))
        unresolved_reports = conn.scalar(select(func.count()).select_from(IncidentReport).join(
            Incident, Incident.id == IncidentReport.incident_id).where(Incident.resolved_at.is_(None)))
    assert 0.04 <= reports / resolved <= 0.18
    assert unresolved_reports == 0
    assert readings == bench_data.ACCOUNTS * len(bench_data.SIGNAL_METRICS) * 7


def test_the_sla_summary_is_what_the_flows_upkeep_computes_from_the_incidents(built) -> None:
    # The builder writes each incident's summary rows itself; the app computes them from the incident row
    # (core.sla.projection: dims_of, compute_clocks). Both must agree, rule tags included (the objectives
    # about kinds of incident read them), and so must the rollups summed from them.
    summary = ("sla_clock_facts", "incident_facts", "sla_rollup", "sla_rule_rollup", "sla_breach_heat",
               "sla_open_rollup", "sla_open_breach_heat", "incident_rollup")

    def rows() -> dict[str, set]:
        found = {}
        with built.connect() as conn:
            for name in summary:
                table = Base.metadata.tables[name]
                found[name] = {tuple((k, str(_as_utc(v))) for k, v in sorted(r.items())
                                     if k not in ("id", "updated_at")) for r in conn.execute(select(table)).mappings()}
        return found

    written = rows()
    assert any(r for r in written["incident_facts"] if dict(r)["rules"] not in ("", "None"))
    assert written["sla_rule_rollup"]
    with built.begin() as conn:
        for name in summary:
            conn.execute(Base.metadata.tables[name].delete())
    with session_scope(built) as session:
        assert projection.backfill(session, now=NOW) == SIZE
    assert rows() == written


def test_every_bench_page_opens_on_the_dataset(app_db) -> None:
    bench_data.build(app_db, SIZE, NOW, open_share=0.1, signal_days=7)
    pages, status_path = bench_pages.targets(app_db, NOW, 12, bench_data.SEARCH_TEXT)
    assert len(pages) == 20
    for page in pages.values():
        bench_pages.page_run(page, timeout=60)  # raises with the page's exception when it fails
    bench_pages.status_route_run(status_path)
