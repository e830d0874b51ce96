"""Breaches recorded as they happen: the dashboard's figures do not depend on when the scheduler last ran.

Incidents with clocks in every state (met, breached, running, paused, running past its deadline)
are written through the real flows; every dashboard query is compared between (a) no scheduler
pass, (b) a pass at `now`, (c) a pass earlier and more clocks past their deadline since, and
(d) the old query-time classification of every open fact, kept here as a small Python reference.
On SQLite and PostgreSQL; plus the migration's backfill, two passes at once and an incident
write after a recorded breach.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.orm import Session

from core.incident import flows as incidents
from core.incident.lifecycle import Milestone
from core.people.users import SYSTEM
from core.policy.loading import load_preset
from core.sla import projection, queries
from core.sla.metrics import Attainment, state_now
from core.sla.queries import DashboardFilter
from db.engine import analyze, session_scope
from db.migrate import alembic_config, upgrade
from db.models import Incident, IncidentFact, SlaClockFact
from tests.db.test_flat_pages import plans_of
from tests.db.test_sla_summary import POLICIES, SCENARIOS, T0, reset, write

DAY = dt.timedelta(days=1)
# The two moments the dashboard is read at: a pass may have run at the first, more clocks fall due by the second.
NOW_1 = T0 + 27 * DAY + dt.timedelta(hours=10)
NOW_2 = NOW_1 + dt.timedelta(hours=30)
ZONES = ("UTC", "Europe/Paris", "Asia/Kolkata")  # Kolkata is +05:30: the heat map reads detection moments
OPEN_TABLES = ("sla_open_rollup", "sla_open_breach_heat")
HEAT_TABLES = ("sla_breach_heat", "sla_open_breach_heat")
HOUR_KEY = ("week", "severity", "tier", "csm_id", "policy_name", "weekday", "hour")
ROLLUP_TABLES = ("sla_rollup", "sla_rule_rollup", "sla_breach_heat", *OPEN_TABLES, "incident_rollup")


def build(engine) -> dict[str, Any]:
    """About thirty incidents over four weeks, written at their own times, a few left paused; returns ids."""
    account_ids = reset(engine)
    rng = random.Random(21)
    specs = []
    for n in range(30):
        # The last ten are detected in the day before NOW_1: still running then, some past due by NOW_2.
        detected = rng.randint(0, 60 * 24 * 25) if n < 20 else int((NOW_1 - T0).total_seconds() // 60) - rng.randint(
            300, 60 * 20)
        done = n % 3 == 0
        specs.append({
            "account": n % 3, "policy": POLICIES[n % len(POLICIES)], "scenario": list(SCENARIOS)[n % len(SCENARIOS)],
            "detected": detected, "ack": rng.choice([None, 5, 45]), "notify": rng.choice([None, 20, 200]),
            "mobilize": rng.choice([None, 30]), "resolve": rng.randint(60, 60 * 30) if done and n < 20 else None,
            "pause": None, "reopen": n % 9 == 0})
    ids = [write(engine, account_ids, spec) for spec in specs]
    # Left waiting on the client (after their last step, before NOW_1): their resolution clocks stay paused.
    for iid, spec in zip(ids, specs, strict=True):
        if spec["resolve"] is None and spec["policy"] == "default" and spec["detected"] % 2 == 0:
            with session_scope(engine) as s:
                at = T0 + (spec["detected"] + 250) * dt.timedelta(minutes=1)
                incidents.pause_clocks(s, incident_id=iid, reason="waiting on the client", actor=SYSTEM, now=at)
    return {"accounts": account_ids, "incidents": ids}


# --------------------------------------------------------------------------
# The old classification, in Python: every open fact judged against `now`.


def old_facts(engine, now: dt.datetime) -> list[dict[str, Any]]:
    """Every clock fact with its state at `now` as the dashboard judged it before breaches were recorded."""
    with session_scope(engine) as s:
        rows = [dict(r) for r in s.execute(select(projection.FACTS)).mappings()]
    for row in rows:
        row["now_state"] = state_now(row["state"], row["deadline"], not row["is_open"], now)
    return rows


def _matches(row: dict[str, Any], flt: DashboardFilter) -> bool:
    week = queries.as_date(row["week"])
    return ((flt.week_from is None or week >= flt.week_from) and (flt.week_to is None or week <= flt.week_to)
            and all(not values or row[column] in values for column, values in (
                ("severity", flt.severities), ("tier", flt.tiers), ("policy_name", flt.policies),
                ("csm_id", flt.csm_ids), ("clock", flt.clocks)))
            and (flt.account_id is None or row["account_id"] == flt.account_id))


def old_attainment(rows, flt: DashboardFilter, by) -> dict:
    """Attainment per group by the old rule."""
    states = defaultdict(list)
    for row in rows:
        if _matches(row, flt):
            states[tuple(queries.as_date(row[b]) if b == "week" else row[b] for b in by)].append(row["now_state"])
    return {key: Attainment.of_states(s) for key, s in states.items()}


def old_within(rows, flt: DashboardFilter, *, clock: str, seconds: int, target: int | None, now) -> tuple[int, int]:
    """(within, decided): stopped clocks done within `seconds`, out of stopped ones plus open ones past it."""
    mine = [r for r in rows if r["clock"] == clock and _matches(r, replace(flt, clocks=()))
            and (target is None or r["target_seconds"] == target)]
    closed = [r for r in mine if not r["is_open"]]
    late = [r for r in mine if r["is_open"] and r["detected_at"] < now - dt.timedelta(seconds=seconds)]
    return sum(r["actual_seconds"] <= seconds for r in closed), len(closed) + len(late)


def old_heat(rows, flt: DashboardFilter, zone: str) -> dict:
    """Breached clocks per weekday and hour of detection on the zone's clocks."""
    cells: Counter = Counter()
    for row in rows:
        if row["now_state"] == "breached" and _matches(row, flt):
            local = row["detected_at"].astimezone(ZoneInfo(zone))
            cells[(local.weekday(), local.hour)] += 1
    return dict(cells)


def old_recent(rows, flt: DashboardFilter) -> list[tuple[int, dt.datetime]]:
    """Breached clocks, newest detection first, as (incident, detected at)."""
    breached = [r for r in rows if r["now_state"] == "breached" and _matches(r, flt)]
    return sorted(((r["incident_id"], r["detected_at"]) for r in breached), reverse=True,
                  key=lambda x: (x[1], x[0]))


# --------------------------------------------------------------------------
# What the dashboard shows.

GROUPINGS = [("clock",), ("clock", "severity"), ("policy_name", "week"), ("tier", "csm_id"), ()]
WITHIN = [("acknowledge", 900, None), ("resolution", 4 * 3600, None), ("resolution", 86400, 86400),
          ("client_notification", 3600, None), ("resolution", 72 * 3600, None)]


def filters(built: dict[str, Any], engine) -> list[DashboardFilter]:
    """The filters every query is compared under: none, dimensions, a week range, one CSM, one account."""
    with engine.connect() as conn:
        csm = conn.execute(text("SELECT min(csm_id) FROM sla_clock_facts")).scalar_one()
    return [DashboardFilter(), DashboardFilter(severities=("P1", "P2")), DashboardFilter(policies=("default",)),
            DashboardFilter.for_dates((T0 + 14 * DAY).date(), (T0 + 30 * DAY).date()),
            DashboardFilter(csm_ids=(csm,)), DashboardFilter(clocks=("resolution", "acknowledge")),
            DashboardFilter(account_id=built["accounts"][0])]


def dashboard(engine, flts, now: dt.datetime) -> dict[str, Any]:
    """Every figure of the dashboard's queries under each filter at `now`."""
    out: dict[str, Any] = {}
    with session_scope(engine) as s:
        for i, flt in enumerate(flts):
            for by in GROUPINGS:
                out[("attainment", i, by)] = {k: v for k, v in queries.attainment(s, flt, now=now, by=by).items()
                                              if v != Attainment()}
            for clock, seconds, target in WITHIN:
                count = queries.within_share(s, flt, clock=clock, seconds=seconds, now=now, target_seconds=target)
                out[("within", i, clock, seconds, target)] = (count.within, count.decided)
            for zone in ZONES:
                out[("heat", i, zone)] = queries.breach_heat(s, flt, now=now, time_zone=zone)
            recent = queries.recent_breaches(s, flt, now=now)
            out[("recent", i)] = [(r.incident_id, r.detected_at) for r in recent]
            out[("recent clocks", i)] = sorted((r.incident_id, r.clock) for r in recent)
            out[("recent 5", i)] = [(r.incident_id, r.detected_at) for r in queries.recent_breaches(
                s, flt, now=now, limit=5)]
        out["objectives"] = queries.objective_results(
            s, flts[0], now=now, policies={name: load_preset(name) for name in POLICIES}, people=5,
            hours_per_week=40)
    return out


def reference(engine, flts, now: dt.datetime) -> dict[str, Any]:
    """The same figures by the old classification (objectives aside: they are sums of the above)."""
    rows = old_facts(engine, now)
    out: dict[str, Any] = {}
    for i, flt in enumerate(flts):
        for by in GROUPINGS:
            out[("attainment", i, by)] = old_attainment(rows, flt, by)
        for clock, seconds, target in WITHIN:
            out[("within", i, clock, seconds, target)] = old_within(rows, flt, clock=clock, seconds=seconds,
                                                                    target=target, now=now)
        for zone in ZONES:
            out[("heat", i, zone)] = old_heat(rows, flt, zone)
        recent = old_recent(rows, flt)
        out[("recent", i)] = recent
        out[("recent 5", i)] = recent[:5]
    return out


def assert_figures(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every figure the reference has is the same; the dashboard's whole output equal where both give it."""
    for key, value in expected.items():
        assert got[key] == value, key


def record(engine, now: dt.datetime) -> int:
    """One scheduler pass's recording of breaches."""
    with session_scope(engine) as s:
        return projection.record_breaches(s, now)


def rollups(engine) -> dict[str, set]:
    """Every rollup table's non-empty rows, without their ids."""
    out = {}
    with engine.connect() as conn:
        for name in ROLLUP_TABLES:
            rows = conn.execute(text(f"SELECT * FROM {name}")).mappings()
            out[name] = {tuple(sorted((k, str(round(v, 3) if isinstance(v, float) else v)) for k, v in r.items()
                                      if k != "id")) for r in rows
                         if any(v for k, v in r.items() if k not in ("id", "week", "csm_id", "weekday", "hour",
                                                                      "quarter", "target_seconds", "account_id")
                                and isinstance(v, int | float))}
    return out


def rebuilt(engine) -> dict[str, set]:
    """The rollups as rebuild_rollups computes them from the facts (the database is left rebuilt)."""
    with session_scope(engine) as s:
        projection.rebuild_rollups(s)
    return rollups(engine)


# --------------------------------------------------------------------------


def test_the_dashboard_is_the_same_with_or_without_a_pass_and_as_the_old_classification(engine):
    built = build(engine)
    flts = filters(built, engine)
    expected = {now: reference(engine, flts, now) for now in (NOW_1, NOW_2)}
    # The data covers every state the dashboard counts, at both moments.
    for now in (NOW_1, NOW_2):
        states = Counter(r["now_state"] for r in old_facts(engine, now))
        assert all(states[s] for s in ("met", "breached", "running", "paused")), states
    assert sum(v["heat", 0, "Asia/Kolkata"] != v["heat", 0, "UTC"] for v in expected.values())
    # (a) no pass has run.
    without = {now: dashboard(engine, flts, now) for now in (NOW_1, NOW_2)}
    for now in (NOW_1, NOW_2):
        assert_figures(without[now], expected[now])
    # (c) a pass at NOW_1, then more clocks pass their deadline before NOW_2.
    assert record(engine, NOW_1) > 0
    assert dashboard(engine, flts, NOW_1) == without[NOW_1]
    assert dashboard(engine, flts, NOW_2) == without[NOW_2]
    # (b) a pass at NOW_2: those too are recorded; a second pass finds nothing.
    assert record(engine, NOW_2) > 0
    assert record(engine, NOW_2) == 0
    assert dashboard(engine, flts, NOW_2) == without[NOW_2]
    # The incremental rollups are those a bulk rebuild computes.
    assert rollups(engine) == rebuilt(engine)
    assert dashboard(engine, flts, NOW_2) == without[NOW_2]


def test_a_pass_touches_no_incident_and_no_version(engine):
    build(engine)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT id, version, updated_at, next_deadline_at FROM incidents ORDER BY id")).all()
        facts_before = conn.execute(text("SELECT updated_at FROM incident_facts ORDER BY incident_id")).all()
    assert record(engine, NOW_2) > 0
    with engine.connect() as conn:
        assert conn.execute(text(
            "SELECT id, version, updated_at, next_deadline_at FROM incidents ORDER BY id")).all() == before
        # The dashboard's cache key (core.sla.queries.data_version) does not move either.
        assert conn.execute(text("SELECT updated_at FROM incident_facts ORDER BY incident_id")).all() == facts_before
        running_past = conn.execute(text("SELECT count(*) FROM sla_clock_facts WHERE is_open AND state = 'running' "
                                          "AND deadline < :now"), {"now": NOW_2}).scalar_one()
    assert running_past == 0


def test_every_scheduler_pass_records_the_breaches(engine):
    from core.alerts import scheduler

    built = build(engine)
    flts = filters(built, engine)
    expected = dashboard(engine, flts, NOW_2)
    scheduler.tick(engine, now=NOW_2, worker="w", base_url="")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sla_clock_facts WHERE is_open AND state = 'running' "
                                 "AND deadline < :now"), {"now": NOW_2}).scalar_one() == 0
    assert record(engine, NOW_2) == 0
    assert dashboard(engine, flts, NOW_2) == expected
    assert rollups(engine) == rebuilt(engine)


def test_an_incident_write_after_a_recorded_breach_keeps_the_rollups_exact(engine):
    built = build(engine)
    flts = filters(built, engine)
    assert record(engine, NOW_1) > 0
    with engine.connect() as conn:
        recorded = conn.execute(text(
            "SELECT DISTINCT incident_id FROM sla_clock_facts WHERE is_open AND state = 'breached'")).scalars().all()
    assert recorded
    assert len(recorded) > 1
    # A client update on one, resolve another: each write replaces facts a pass had moved.
    with session_scope(engine) as s:
        incidents.record_milestone(s, incident_id=recorded[0], milestone=Milestone.CLIENT_NOTIFIED, actor=SYSTEM,
                                   now=NOW_1 + dt.timedelta(minutes=5))
    with session_scope(engine) as s:
        incidents.record_milestone(s, incident_id=recorded[-1], milestone=Milestone.RESOLVED, actor=SYSTEM,
                                   now=NOW_1 + dt.timedelta(minutes=6))
    assert rollups(engine) == rebuilt(engine)
    assert_figures(dashboard(engine, flts, NOW_2), reference(engine, flts, NOW_2))


def test_the_migration_backfill_equals_the_rebuild(engine):
    build(engine)
    record(engine, NOW_1)  # facts recorded as breached, and running ones past their deadline by NOW_2
    expected = rebuilt(engine)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0020")
    with engine.connect() as conn:
        assert not set(OPEN_TABLES) & set(inspect(conn).get_table_names())
    upgrade(engine)
    got = rollups(engine)
    assert {name: got[name] for name in OPEN_TABLES} == {name: expected[name] for name in OPEN_TABLES}
    assert got == expected


def test_migration_0024_fills_the_rule_rollup_as_a_rebuild_does(engine):
    build(engine)
    record(engine, NOW_1)
    expected = rebuilt(engine)
    assert expected["sla_rule_rollup"], "the data has stopped clocks of incidents where rules fired"
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0023")
    with engine.connect() as conn:
        assert "sla_rule_rollup" not in inspect(conn).get_table_names()
    upgrade(engine)
    assert rollups(engine) == expected


def test_migration_0025_keys_the_heat_by_quarter_hour_as_a_rebuild_does_and_its_downgrade_sums_the_hours(engine):
    build(engine)
    record(engine, NOW_1)
    expected = rebuilt(engine)
    by_hour: dict[str, Counter] = {}
    with engine.connect() as conn:
        for name in HEAT_TABLES:
            quarters = {r.quarter for r in conn.execute(text(f"SELECT quarter FROM {name}"))}
            assert len(quarters) > 1, quarters  # the data is detected at every minute, not on the hour
            by_hour[name] = Counter()
            for row in conn.execute(text(f"SELECT {', '.join(HOUR_KEY)}, breached FROM {name}")).mappings():
                by_hour[name][tuple(str(row[k]) for k in HOUR_KEY)] += row["breached"]
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0024")
    with engine.connect() as conn:
        for name in HEAT_TABLES:
            assert "quarter" not in {c["name"] for c in inspect(conn).get_columns(name)}
            rows = conn.execute(text(f"SELECT {', '.join(HOUR_KEY)}, breached FROM {name}")).mappings()
            assert Counter({tuple(str(r[k]) for k in HOUR_KEY): r["breached"] for r in rows}) == by_hour[name]
    upgrade(engine)
    assert rollups(engine) == expected


@pytest.mark.slow
def test_two_passes_at_once_on_postgresql_record_each_clock_once(pg_url):
    from db.engine import make_engine

    engine = make_engine(pg_url)
    try:
        from tests.conftest import _truncate

        _truncate(engine)
        build(engine)
        with engine.connect() as conn:
            due = conn.execute(text("SELECT count(*) FROM sla_clock_facts WHERE is_open AND state = 'running' "
                                    "AND deadline < :now"), {"now": NOW_2}).scalar_one()
        assert due > 1
        # One pass holds its rows; the other, meanwhile, skips them instead of counting them again.
        holder = Session(engine)
        try:
            held = projection.record_breaches(holder, NOW_2)
            meanwhile = record(engine, NOW_2)
            holder.commit()
        finally:
            holder.close()
        assert (held, meanwhile) == (due, 0)
        assert record(engine, NOW_2) == 0
        assert rollups(engine) == rebuilt(engine)
        # Truly at once, several times: every clock is recorded by exactly one of them.
        for _ in range(3):
            with engine.begin() as conn:
                conn.execute(text("UPDATE sla_clock_facts SET state = 'running' WHERE is_open AND state = 'breached' "
                                  "AND deadline < :now"), {"now": NOW_2})
            rebuilt(engine)
            with engine.connect() as conn:
                due = conn.execute(text("SELECT count(*) FROM sla_clock_facts WHERE is_open AND state = 'running' "
                                        "AND deadline < :now"), {"now": NOW_2}).scalar_one()
            barrier = threading.Barrier(2)
            counts: list[int] = []

            def one_pass(barrier: threading.Barrier = barrier, counts: list[int] = counts) -> None:
                barrier.wait()
                counts.append(record(engine, NOW_2))

            threads = [threading.Thread(target=one_pass) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sum(counts) == due
            assert rollups(engine) == rebuilt(engine)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_an_incident_write_waits_for_a_pass_holding_its_clocks_on_postgresql(pg_url):
    from db.engine import make_engine

    engine = make_engine(pg_url)
    try:
        from tests.conftest import _truncate

        _truncate(engine)
        build(engine)
        with engine.connect() as conn:
            victim = conn.execute(text("SELECT min(incident_id) FROM sla_clock_facts WHERE is_open AND "
                                       "state = 'running' AND deadline < :now"), {"now": NOW_1}).scalar_one()
        assert victim is not None
        holder = Session(engine)
        try:
            assert projection.record_breaches(holder, NOW_1) > 0  # holds the victim's clocks it recorded

            def resolve() -> None:
                with session_scope(engine) as s:
                    incidents.record_milestone(s, incident_id=victim, milestone=Milestone.RESOLVED, actor=SYSTEM,
                                               now=NOW_1 + dt.timedelta(minutes=5))

            writer = threading.Thread(target=resolve)
            writer.start()
            writer.join(timeout=1.0)
            waited = writer.is_alive()
            holder.commit()
        finally:
            holder.close()
        writer.join()
        assert waited, "the write waits for the pass's row locks"
        assert rollups(engine) == rebuilt(engine)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------
# Plan: the dashboard's correction reads only the running clocks past their deadline, by its partial index.


def _bulk_facts(engine, count: int = 4000) -> None:
    """`count` incidents with two clock facts each: most stopped, some open and running, a few past due."""
    reset(engine)
    with engine.connect() as conn:
        account = conn.execute(text("SELECT min(id) FROM accounts")).scalar_one()
    start = T0 - 60 * DAY
    incident_rows, fact_rows = [], []
    for n in range(count):
        detected = start + n * dt.timedelta(minutes=20)
        status_open = n % 10 == 0
        incident_rows.append({
            "id": n + 1, "title": f"Bulk #{n}", "summary": "", "account_id": account, "policy_name": "default",
            "policy_version": 1, "answers": {}, "triage_result": {}, "severity": f"P{n % 4}", "red_status": False,
            "escalation_category": "none", "status": "new" if status_open else "closed", "detected_at": detected,
            "created_at": detected, "updated_at": detected, "is_drill": False, "version": 1})
        for clock, target in (("acknowledge", 900), ("resolution", 86400 * 30)):
            stopped = None if status_open else detected + dt.timedelta(seconds=target // 2)
            deadline = detected + dt.timedelta(seconds=target)
            fact_rows.append({
                "incident_id": n + 1, "clock": clock, "severity": f"P{n % 4}", "tier": "pro", "account_id": account,
                "csm_id": 0, "policy_name": "default", "detected_at": detected,
                "week": detected.date() - dt.timedelta(days=detected.weekday()), "weekday": detected.weekday(),
                "hour": detected.hour, "target_seconds": target, "deadline": deadline, "stopped_at": stopped,
                "actual_seconds": None if stopped is None else target // 2,
                "bucket": None if stopped is None else 5, "is_open": stopped is None,
                "state": "met" if stopped else ("breached" if clock == "acknowledge" else "running")})
    with engine.begin() as conn:
        conn.execute(insert(Incident), incident_rows)
        conn.execute(insert(SlaClockFact), fact_rows)
        conn.execute(insert(IncidentFact), [{
            "incident_id": r["id"], "account_id": account, "csm_id": 0, "severity": r["severity"], "tier": "pro",
            "policy_name": "default", "detected_at": r["detected_at"],
            "week": r["detected_at"].date() - dt.timedelta(days=r["detected_at"].weekday()), "resolved_at": None,
            "is_repeat": False, "emergency_seconds": None, "rules": "", "updated_at": r["detected_at"]}
            for r in incident_rows])
        analyze(conn)
    with session_scope(engine) as s:
        projection.rebuild_rollups(s)


def _plans(engine, call) -> list[str]:
    """The plan of every statement `call(session)` runs that reads the running clocks by deadline."""
    plans = plans_of(engine, call, lambda statement: "sla_clock_facts" in statement and "deadline <" in statement)
    assert plans
    return plans


@pytest.mark.parametrize("weeks", ["all", "a range"])
@pytest.mark.parametrize("query", ["attainment", "attainment of one clock", "heat", "heat +05:30",
                                   "recent_breaches", "record_breaches"])
def test_the_correction_reads_the_running_clocks_past_due_by_their_partial_index(engine, query, weeks):
    _bulk_facts(engine)
    now = T0 - 28 * DAY  # a few of the running clocks are past due
    # A week range tempted SQLite to read every open clock of the range by the open clocks' week index.
    flt = DashboardFilter() if weeks == "all" else DashboardFilter.for_dates((T0 - 40 * DAY).date(), now.date())
    calls = {
        "attainment": lambda s: queries.attainment(s, flt, now=now, by=("clock", "severity")),
        "attainment of one clock": lambda s: queries.attainment(s, replace(flt, clocks=("resolution",)), now=now,
                                                                by=()),
        "heat": lambda s: queries.breach_heat(s, flt, now=now),
        "heat +05:30": lambda s: queries.breach_heat(s, flt, now=now, time_zone="Asia/Kolkata"),
        "recent_breaches": lambda s: queries.recent_breaches(s, flt, now=now),
        "record_breaches": lambda s: projection.record_breaches(s, now),
    }
    for plan in _plans(engine, calls[query]):
        assert "ix_sla_clock_facts_running_deadline" in plan, plan
