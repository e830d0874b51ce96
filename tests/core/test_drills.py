"""Drills: an incident opened as an exercise never reaches a dashboard figure, and everything it sends says DRILL.

growth-engine P1 incidents ("business impact: major") on one enterprise account: L3 is required from
detection, acknowledge within 15 minutes. Each incident is resolved ten hours late, so its clocks
breach, and a second drill is left open with its clocks running past their deadlines.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from core.account import service as account_service
from core.account import signals
from core.alerts import scheduler
from core.alerts.views import acknowledge_times
from core.incident import flows
from core.incident import followers as follows
from core.incident.lifecycle import Milestone
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from core.policy import store as policy_store
from core.policy.loading import load_preset
from core.sla import backtest, projection
from core.sla import queries as q
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import (
    Account,
    Incident,
    IncidentFact,
    IncidentRollup,
    Notification,
    SlaBreachHeat,
    SlaClockFact,
    SlaRollup,
    TimelineEvent,
)
from tests.conftest import make_user

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(hours=12)
FLT = q.DashboardFilter()


def _world(engine) -> dict[str, int]:
    ids = {"owner": make_user(engine, "olivia", "csm"), "lead": make_user(engine, "lena", "lead"),
           "follower": make_user(engine, "fred", "csm")}
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=T0)
        account = Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(90000), owner_id=ids["owner"])
        s.add(account)
        s.flush()
        ids["account"] = account.id
    return ids


def _open(engine, ids: dict[str, int], *, drill: bool, title: str, resolve: bool = True) -> int:
    """An incident at T0 (answers with a CSAT reading, a health signal of its own), resolved ten hours late."""
    with session_scope(engine) as s:
        iid = flows.open_incident(
            s, account_id=ids["account"], title=title, summary="", policy_name="growth-engine",
            answers=Answers.model_validate({"business_impact": "major", "csat": 3}), actor=SYSTEM, now=T0,
            detected_at=T0, owner_id=ids["owner"], is_drill=drill).id
    if resolve:
        with session_scope(engine) as s:
            flows.record_milestone(s, incident_id=iid, milestone=Milestone.RESOLVED, actor=SYSTEM,
                                   now=T0 + dt.timedelta(hours=10))
    return iid


def _figures(engine, account_id: int) -> dict[str, object]:
    """What the SLA dashboard, its objectives, the backtest, account health and the account page are made of."""
    with session_scope(engine) as s:
        policy = load_preset("growth-engine")
        return {
            "tables": [s.scalar(select(func.count()).select_from(m)) for m in
                       (IncidentFact, SlaClockFact, SlaRollup, SlaBreachHeat, IncidentRollup)],
            "totals": q.incident_totals(s, FLT),
            "attainment": q.attainment(s, FLT, now=LATER, by=("clock", "severity")),
            "histograms": q.duration_histograms(s, FLT, by=("week", "clock")),
            "heat": q.breach_heat(s, FLT, now=LATER),
            "accounts": q.incidents_per_account(s, FLT),
            "emergency": q.emergency_by_week(s, FLT, now=LATER),
            "breaches": [b.incident_id for b in q.recent_breaches(s, FLT, now=LATER)],
            "objectives": [(r.title, r.actual, r.basis) for r in q.objective_results(
                s, FLT, now=LATER, policies={"growth-engine": policy}, people=5, hours_per_week=40)],
            "acknowledged": acknowledge_times(s, FLT),
            "backtest": backtest.backtest(s, policy, months=1, now=LATER),
            "signals": signals.derived_from_incidents(s, None, T0 - dt.timedelta(days=1), LATER),
            "account_page": account_service.account_view(s, account_id, now=LATER).attainment,
        }


def test_a_drill_never_reaches_the_dashboard_and_a_real_incident_does(engine):
    ids = _world(engine)
    empty = _figures(engine, ids["account"])
    drill = _open(engine, ids, drill=True, title="Drill: payments down")
    _open(engine, ids, drill=True, title="Drill still open", resolve=False)
    assert _figures(engine, ids["account"]) == empty, "two drills, breached clocks and all, change no figure"
    with session_scope(engine) as s:
        assert not projection.summary_is_missing(s)
        assert projection.backfill(s, now=LATER) == 0
        assert s.get(Incident, drill).is_drill
    real = _open(engine, ids, drill=False, title="Payments down")
    counted = _figures(engine, ids["account"])
    assert counted["totals"] == (1, 0)
    assert set(counted["breaches"]) == {real}
    assert counted["heat"] and counted["attainment"] != empty["attainment"]
    assert counted["backtest"].incidents_in_period == 1
    assert [o.source for o in counted["signals"]] == ["incident", "incident"]  # the real one's CSAT and ticket
    # Rebuilding the rollups from the facts (as the admin command does) finds the same figures.
    with session_scope(engine) as s:
        projection.rebuild_rollups(s)
    assert _figures(engine, ids["account"]) == counted


def test_a_drill_says_so_in_its_history_and_its_audit(engine):
    ids = _world(engine)
    iid = _open(engine, ids, drill=True, title="Drill: payments down", resolve=False)
    with session_scope(engine) as s:
        opened = s.scalars(select(TimelineEvent).where(TimelineEvent.incident_id == iid,
                                                       TimelineEvent.kind == "opened")).one()
        assert opened.summary.startswith("DRILL") and opened.details["drill"] is True
        from core import audit

        (entry,) = audit.entries_for(s, "incident", iid)
        assert entry.action == "open_drill" and entry.changes["is_drill"] == [None, True]


def test_every_notification_of_a_drill_says_drill(engine):
    ids = _world(engine)
    drill = _open(engine, ids, drill=True, title="Drill: payments down", resolve=False)
    real = _open(engine, ids, drill=False, title="Payments down", resolve=False)
    lead = Actor(id=ids["lead"], name="Lena", role=Role.LEAD)
    with session_scope(engine) as s:
        for iid in (drill, real):
            follows.follow(s, iid, ids["follower"], lead, T0)
    # The alert passes: L3's step at once, the owner's warning and the breach of the acknowledgement later.
    for minutes in (0, 10, 16, 40):
        scheduler.queue_due(engine, now=T0 + dt.timedelta(minutes=minutes))
    with session_scope(engine) as s:
        flows.move_status(s, incident_id=drill, target="acknowledged", actor=lead, now=T0 + dt.timedelta(minutes=41))
        flows.move_status(s, incident_id=real, target="acknowledged", actor=lead, now=T0 + dt.timedelta(minutes=41))
    with session_scope(engine) as s:
        rows = s.scalars(select(Notification).where(Notification.incident_id == drill)).all()
        others = s.scalars(select(Notification).where(Notification.incident_id == real)).all()
    rules = {r.rule.split(":")[0] for r in rows}
    assert {"step", "warn", "breach", "follow"} <= rules, rules
    assert {r.channel for r in rows} >= {"inbox", "email"}
    for row in rows:
        assert row.subject.startswith("[DRILL] "), row.subject
        assert row.body.startswith("DRILL: this is an exercise"), row.body
        assert row.payload.get("drill") is True
    assert len(others) == len(rows)
    assert not any("DRILL" in r.subject or r.payload.get("drill") for r in others)
