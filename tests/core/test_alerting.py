"""The alert rules (core.incident.alerting) on the presets' clocks and ladders, and next_alert_at kept by the flows.

The targets in the tables are the playbooks' (quoted in each preset); the lead times are the presets'
house defaults (see their headers and tests/core/test_policy_alerts.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.incident import flows
from core.incident.alerting import STALE_AFTER, Alert, plan_alerts
from core.incident.escalation import escalation_status
from core.incident.lifecycle import Milestone
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.policy.loading import load_preset
from core.sla.clocks import IncidentFacts, Pause, compute_clocks
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, Incident

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def plan(policy_name: str, minutes: float, *, severity: str = "P0", answers: dict | None = None, **facts):
    """The alert plan of an incident detected at T0, `minutes` later."""
    policy = load_preset(policy_name)
    now = T0 + minutes * MIN
    incident = IncidentFacts(severity=severity, tier="enterprise", detected_at=T0, **facts)
    clocks = compute_clocks(incident, policy, now)
    ladder = escalation_status(facts=incident, policy=policy, answers=Answers.model_validate(answers or {}),
                               triage_level=None, now=now, clocks=clocks).ladder
    return plan_alerts(policy=policy, severity=severity, clocks=clocks, ladder=ladder,
                       resolved=incident.resolved_at is not None, now=now)


def summary(result) -> tuple[list[tuple[str, str, int]], float | None]:
    """(rule, audience, minutes after detection it was due) of each due alert, and the next moment in minutes."""
    due = [(a.name, a.audience, int((a.due_at - T0) / MIN)) for a in result.due]
    return due, None if result.next_at is None else (result.next_at - T0) / MIN


@pytest.mark.parametrize(
    "policy, minutes, facts, due, next_at",
    [
        # default P0: the executives (L4) are needed within 15 minutes from detection: alerted at once.
        # Acknowledge target 15m (red-status), house warning 5m ahead: at 10m.
        ("default", 0, {}, [("step:L4", "level", 0)], 10),
        ("default", 9, {}, [("step:L4", "level", 0)], 10),
        ("default", 10, {}, [("step:L4", "level", 0), ("warn:acknowledge", "owner", 10)], 15),
        # At the breach the warning gives way to the breach alert.
        ("default", 15, {}, [("step:L4", "level", 0), ("breach:acknowledge", "owner", 15)], 20),
        # Client notification within 30m (red-status): the owner is warned and the CSM reminded 10m before.
        ("default", 20, {"acknowledged_at": T0 + 5 * MIN},
         [("step:L4", "level", 0), ("remind:client_notification", "csm", 20),
          ("warn:client_notification", "owner", 20)],
         30),
        # Acknowledged and L4 reached in time: nothing about them any more.
        ("default", 12, {"acknowledged_at": T0 + 5 * MIN, "escalations": (("L4", T0 + 3 * MIN),)}, [], 20),
        # Client updates every 30 minutes after the first notice (red-status critical): the CSM is
        # reminded 10m before (20m after the notice at 31m: due 61m, reminder at 51m).
        ("default", 52, {"acknowledged_at": T0 + 5 * MIN, "client_notified_at": T0 + 31 * MIN,
                         "mobilized_at": T0 + 40 * MIN, "escalations": (("L4", T0 + 3 * MIN),)},
         [("remind:client_update", "csm", 51)], 61),
        # Resolution 4h (red-status critical, spark P0), warned 15m before.
        ("default", 226, {"acknowledged_at": T0 + 5 * MIN, "client_notified_at": T0 + 20 * MIN,
                          "mobilized_at": T0 + 40 * MIN, "escalations": (("L4", T0 + 3 * MIN),),
                          "client_messages": tuple(T0 + m * MIN for m in (20, 50, 80, 110, 140, 170, 200))},
         [("remind:client_update", "csm", 220), ("warn:resolution", "owner", 225)], 230),
        # Resolved: nothing is due and nothing will be.
        ("default", 20, {"resolved_at": T0 + 10 * MIN}, [], None),
        # growth-engine P1: L3 required from detection (its level is alerted at once); acknowledge
        # within 15m, warned 5m ahead.
        ("growth-engine", 10, {}, [("step:L3", "level", 0), ("warn:acknowledge", "owner", 10)], 15),
        # teamflow P0: updates every 30 minutes from detection (no separate first notice): the CSM is
        # reminded 5m before (the house reminder for its 15-minute outage cadence).
        ("teamflow", 16, {"acknowledged_at": T0 + 2 * MIN}, [("step:L3", "level", 0)], 25),
    ],
)
def test_alerts_due_and_next(policy, minutes, facts, due, next_at):
    severity = "P1" if policy == "growth-engine" else "P0"
    answers = {"business_impact": "major"} if policy == "growth-engine" else {}
    assert summary(plan(policy, minutes, severity=severity, answers=answers, **facts)) == (due, next_at)


def test_a_level_response_clock_warns_and_alerts_that_level():
    # growth-engine: L2 responds within 15 minutes at P0; warned 5 minutes before (house default).
    escalated = {"acknowledged_at": T0 + MIN, "escalations": (("L2", T0 + 2 * MIN),)}
    warned = [a for a in plan("growth-engine", 12, **escalated).due if a.clock == "response_L2"]
    assert [(a.rule, a.audience, a.level, a.due_at) for a in warned] == [("warn", "level", "L2", T0 + 12 * MIN)]
    breached = [a for a in plan("growth-engine", 18, **escalated).due if a.clock == "response_L2"]
    assert [(a.rule, a.level) for a in breached] == [("breach", "L2")]
    answered = plan("growth-engine", 18, **escalated, level_responses={"L2": T0 + 10 * MIN})
    assert [a for a in answered.due if a.clock == "response_L2"] == []


def test_a_paused_clock_alerts_nothing_until_it_runs_again():
    paused = plan("default", 225, acknowledged_at=T0 + MIN, client_notified_at=T0 + 2 * MIN,
                  mobilized_at=T0 + 3 * MIN, escalations=(("L4", T0 + MIN),),
                  pauses=(Pause(started_at=T0 + 200 * MIN),))
    assert [a.name for a in paused.due if a.clock == "resolution"] == []


def test_the_key_stays_while_nothing_changes_and_moves_with_the_deadline():
    first = plan("default", 10).due[-1]
    again = plan("default", 12).due[-1]
    assert first.key(7) == again.key(7) == "incident:7:warn:acknowledge:20260302T091500Z"
    # A pause pushes the resolution deadline out: a new reminder, under a new key.
    base = dict(acknowledged_at=T0 + MIN, client_notified_at=T0 + 2 * MIN, mobilized_at=T0 + 3 * MIN,
                escalations=(("L4", T0 + MIN),))
    before = next(a for a in plan("default", 226, **base).due if a.name == "warn:resolution")
    paused = (Pause(started_at=T0 + 100 * MIN, ended_at=T0 + 130 * MIN),)
    after = next(a for a in plan("default", 256, pauses=paused, **base).due if a.name == "warn:resolution")
    assert after.deadline - before.deadline == 30 * MIN and after.key(7) != before.key(7)


def test_a_lead_longer_than_a_rule_tightened_target_warns_at_half_of_it():
    # The default P0 acknowledge warning is 5m ahead; a 4-minute target is warned at 2 minutes.
    due = plan("default", 2, targets={"acknowledge": 4 * MIN}).due
    assert [(a.name, a.due_at) for a in due if a.clock == "acknowledge"] == [("warn:acknowledge", T0 + 2 * MIN)]


def test_stale_alerts_are_not_sent():
    late = plan("default", (STALE_AFTER + 16 * MIN) / MIN, acknowledged_at=None)
    assert "breach:acknowledge" not in [a.name for a in late.due]
    assert "breach:resolution" in [a.name for a in late.due]  # 4h target: breached 20h ago, still sent


def test_switched_off_rules_send_nothing():
    policy = load_preset("default")
    quiet = policy.model_copy(update={"alerts": policy.alerts.model_copy(
        update={"escalation_steps": False, "at_breach": {"acknowledge": False}})})
    incident = IncidentFacts(severity="P0", tier="enterprise", detected_at=T0)
    now = T0 + 16 * MIN
    clocks = compute_clocks(incident, quiet, now)
    ladder = escalation_status(facts=incident, policy=quiet, answers=Answers(), triage_level=None, now=now,
                               clocks=clocks).ladder
    assert plan_alerts(policy=quiet, severity="P0", clocks=clocks, ladder=ladder, resolved=False, now=now).due == ()


def test_alert_names():
    alert = Alert("step", "L2", "Managers (L2)", T0, T0, "level", "L2")
    assert alert.name == "step:L2" and alert.key(12) == "incident:12:step:L2:20260302T090000Z"


# --------------------------------------------------------------------------
# next_alert_at on the incident row, kept by the flows in the same transaction.


def _open(engine, policy="default", answers=None) -> int:
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=T0)
        account = Account(name=f"Acme {policy}", tier="enterprise", annual_contract_value=Decimal(90000))
        s.add(account)
        s.flush()
        return flows.open_incident(
            s, account_id=account.id, title="Payments down", summary="", policy_name=policy,
            answers=Answers.model_validate(answers or {"business_impact": "stopped"}), actor=SYSTEM,
            now=T0, detected_at=T0).id


def _next_alert(engine, iid: int) -> dt.datetime | None:
    with session_scope(engine) as s:
        return s.get(Incident, iid).next_alert_at


def test_flows_keep_next_alert_at_current(engine):
    iid = _open(engine, answers={"business_impact": "major"}, policy="growth-engine")  # P1
    # growth-engine P1 needs L3 from detection: its alert is due at once.
    assert _next_alert(engine, iid) == T0
    with session_scope(engine) as s:
        flows.escalate(s, incident_id=iid, to_level="L3", reason="needs experts", actor=SYSTEM, now=T0 + MIN)
    # L3 reached: next, the acknowledge warning (15m target, warned 5m before).
    assert _next_alert(engine, iid) == T0 + 10 * MIN
    with session_scope(engine) as s:
        flows.record_milestone(s, incident_id=iid, milestone=Milestone.ACKNOWLEDGED, actor=SYSTEM, now=T0 + 2 * MIN)
    # Acknowledged: next, the warning that L3 must respond (1h at P1 from the escalation, 10m before).
    assert _next_alert(engine, iid) == T0 + 51 * MIN
    with session_scope(engine) as s:
        flows.move_status(s, incident_id=iid, target="resolved", actor=SYSTEM, now=T0 + 3 * MIN)
    assert _next_alert(engine, iid) is None


def test_an_alert_due_at_opening_is_due_at_once(engine):
    iid = _open(engine)  # default P0 (the business stopped): L4 needed at once
    assert _next_alert(engine, iid) == T0
