"""Replay cases for the crisis preset, each quoted from crisis-management-workflow.md.

Every case is detected at 10:00 on Monday 2026-03-02 (UTC; "24/7 On-Call
Rotation", every clock 24x7) and looked at `until`. The expected values are the
playbook's numbers and the preset header's stated readings, worked out by hand:
the 0-5 minute immediate response (acknowledge, notify customers, mobilise,
escalate), the 2-hour resolution phase and the 24-hour security workflow, the
management ladder (Engineering Manager > 1 hour, VP Engineering > 4 hours or
high impact, CTO for breaches and regulatory issues, CEO for public relations
and major business impact), the classification matrix around "50% users", no
clocks for P3, and only the resolution clock pausing. The playbook gives the
levels no response times of their own, so no level response clock runs.
The same documents also go through the real `python -m core replay`.
"""

import pytest

from core.incident.replay import ReplayError
from tests.core.replay_cases import (
    case,
    check_cli,
    check_cli_refuses,
    check_in_process,
    cli_cases,
    clock,
    document,
    ev,
    run_in_process,
    step,
    update,
)

POLICY = "crisis"
P0_CLOCKS = ["acknowledge", "client_notification", "escalation", "mobilization", "resolution"]

CASES = [
    # "Phase 1: Immediate Response (0-5 minutes)": "Activate incident commander role ... Notify stakeholders
    # and customers"; "Phase 3: Resolution and Recovery (30 minutes - 2 hours)"; "VP Engineering (>4 hour or
    # high impact)" (preset: high impact is P0, escalation 5m). No update cadence is written, so after the
    # first notice nothing more is due; no level has a response time.
    case("Workflow 1 › Phase 1: Immediate Response (0-5 minutes), all met",
         {"complete_outage": True},
         [ev("10:03", "acknowledged"), ev("10:03", "client_message"), ev("10:04", "mobilised"),
          ev("10:04", "escalated", level="L3")],
         "10:30",
         {"severity": "P0", "red_status": True, "required_level": "L3",
          "clocks": {"acknowledge": clock("10:05", "met", "10:03"),
                     "client_notification": clock("10:05", "met", "10:03"),
                     "mobilization": clock("10:05", "met", "10:04"),
                     "escalation": clock("10:05", "met", "10:04"),
                     "resolution": clock("12:00", "running")},
          "clock_names": P0_CLOCKS,
          "escalation_ladder": {"L3": step("L3", "10:00", "10:05", "10:04", "met")},
          "ladder_levels": ["L3"],
          "client_updates": [update("10:05", "10:03", "met")],
          "next_client_update_due": None,
          "response_levels": []}),
    # "Phase 1: Immediate Response (0-5 minutes)": acknowledged at 10:07, no customer notice, nobody mobilised
    # or escalated by 10:10: every 5-minute target is breached ("Payment processing failure" is CRITICAL).
    case("Workflow 1 › Phase 1: Immediate Response (0-5 minutes), all missed",
         {"payment_failure": True},
         [ev("10:07", "acknowledged")],
         "10:10",
         {"severity": "P0", "required_level": "L3",
          "clocks": {"acknowledge": clock("10:05", "breached"),
                     "client_notification": clock("10:05", "breached"),
                     "mobilization": clock("10:05", "breached"),
                     "escalation": clock("10:05", "breached"),
                     "resolution": clock("12:00", "running")},
          "escalation_ladder": {"L3": step("L3", "10:00", "10:05", None, "breached")},
          "client_updates": [update("10:05", None, "breached")],
          "next_client_update_due": "2026-03-02T10:05:00Z"}),
    # "CRITICAL (P0): ... Legal/regulatory compliance violation"; "CTO (security breaches, regulatory
    # issues)" is Level 4, within the 5-minute immediate response; the preset gives it "the P0 defaults"
    # (resolution phase ends at 2 hours).
    case("Management Escalation › CTO (regulatory issues): Level 4 within the immediate response",
         {"legal_compliance": True},
         [ev("10:04", "escalated", level="L4")],
         "10:10",
         {"severity": "P0", "red_status": True, "required_level": "L4",
          "escalation_ladder": {"L4": step("L4", "10:00", "10:05", "10:04", "met")},
          "ladder_levels": ["L4"],
          "clocks": {"escalation": clock("10:05", "met", "10:04"), "resolution": clock("12:00", "running")}}),
    # "CTO (security breaches, regulatory issues)"; "Workflow 2: Security Incident Response ... Phase 3:
    # Eradication and Recovery (4-24 hours)": resolved at 20:00 is within the security workflow's 24 hours.
    case("Workflow 2 › Phase 3: Eradication and Recovery (4-24 hours), CTO for security breaches",
         {"security_breach": True},
         [ev("10:02", "acknowledged"), ev("10:05", "escalated", level="L4"), ev("20:00", "resolved")],
         "21:00",
         {"severity": "P0", "required_level": "L4",
          "escalation_ladder": {"L4": step("L4", "10:00", "10:05", "10:05", "met")},
          "clocks": {"acknowledge": clock("10:05", "met", "10:02"),
                     "resolution": clock("03-03T10:00", "met", "20:00")}}),
    # Preset: "When an outage comes with the breach, the shorter 2h still applies" ("Phase 3: Resolution and
    # Recovery (30 minutes - 2 hours)" of the outage workflow).
    case("Workflow 1 › Phase 3: a breach with a complete outage keeps the 2-hour resolution",
         {"security_breach": True, "complete_outage": True},
         [],
         "12:30",
         {"severity": "P0", "clocks": {"resolution": clock("12:00", "breached")}}),
    # "Engineering Manager (>1 hour incidents)": a P1 ("Partial service degradation") open past 11:00 needs L2
    # then; "VP Engineering (>4 hour ...)" from 14:00. "Primary On-Call: SRE Engineer - First responder for
    # all production issues" (L1, no time). P1 has only the "Sub-5 minute response time".
    case("Management Escalation › Engineering Manager (>1 hour incidents)",
         {"business_impact": "major"},
         [ev("10:04", "acknowledged"), ev("10:04", "escalated", level="L1")],
         "11:30",
         {"severity": "P1", "red_status": False, "required_level": "L2",
          "escalation_ladder": {"L1": step("L1", "10:00", None, "10:04", "met"),
                                "L2": step("L2", "11:00", "11:00", None, "breached"),
                                "L3": step("L3", "14:00", "14:00", None, "pending")},
          "ladder_levels": ["L1", "L2", "L3"],
          "clocks": {"acknowledge": clock("10:05", "met", "10:04")},
          "clock_names": ["acknowledge"]}),
    # "VP Engineering (>4 hour or high impact)": a P2 ("Minor feature issues") with the Engineering Manager in
    # at 11:00 still needs the VP from 14:00.
    case("Management Escalation › VP Engineering (>4 hour incidents)",
         {"business_impact": "minor"},
         [ev("10:03", "acknowledged"), ev("11:00", "escalated", level="L2")],
         "14:30",
         {"severity": "P2", "required_level": "L3",
          "escalation_ladder": {"L2": step("L2", "11:00", "11:00", "11:00", "met"),
                                "L3": step("L3", "14:00", "14:00", None, "breached")},
          "clocks": {"acknowledge": clock("10:05", "met", "10:03")}}),
    # "CEO (public relations, major business impact)" is Level 4; preset: public reputation risks are P1 (not
    # in the matrix) and go to the CEO level, with no time of their own. Reaching L4 at 10:20 also covers
    # "Engineering Manager (>1 hour incidents)".
    case("Management Escalation › CEO (public relations, major business impact)",
         {"public_reputation_risk": True},
         [ev("10:03", "acknowledged"), ev("10:20", "escalated", level="L4")],
         "11:30",
         {"severity": "P1", "required_level": "L4",
          "escalation_ladder": {"L2": step("L2", "11:00", "11:00", "10:20", "met"),
                                "L4": step("L4", "10:00", None, "10:20", "met")},
          "clocks": {"acknowledge": clock("10:05", "met", "10:03")}}),
    # "HIGH (P1): ... Performance issues affecting >50% users"; "MEDIUM (P2): ... Performance degradation <50%
    # users". Preset: "exactly half is in neither. We take it as P1, the more urgent side".
    case("Crisis Classification Matrix › exactly 50% of users takes the P1 side",
         {"users_affected_pct": 50},
         [],
         "10:01",
         {"severity": "P1", "red_status": False,
          "clocks": {"acknowledge": clock("10:05", "running")}, "clock_names": ["acknowledge"]}),
    # "HIGH (P1): ... Performance issues affecting >50% users".
    case("Crisis Classification Matrix › HIGH (P1): performance issues affecting >50% users",
         {"users_affected_pct": 51},
         [],
         "10:01",
         {"severity": "P1", "clocks": {"acknowledge": clock("10:05", "running")}}),
    # "MEDIUM (P2): ... Performance degradation <50% users"; "Sub-5 minute response time" (preset: P2 too).
    case("Crisis Classification Matrix › MEDIUM (P2): performance degradation <50% users",
         {"users_affected_pct": 49},
         [],
         "10:01",
         {"severity": "P2", "red_status": False,
          "clocks": {"acknowledge": clock("10:05", "running")}, "clock_names": ["acknowledge"]}),
    # "LOW (P3): - Cosmetic issues - Enhancement requests"; preset: "P3 ... is not an incident and has no
    # clock". Six hours on, nothing is due and no level is required.
    case("Crisis Classification Matrix › LOW (P3): cosmetic issues have no clocks",
         {"cosmetic": True},
         [],
         "16:00",
         {"severity": "P3", "red_status": False, "required_level": None,
          "clock_names": [], "ladder_levels": [], "response_levels": [],
          "client_updates": [], "next_client_update_due": None}),
    # Preset: "Only the resolution clock may pause." A pause of every pausable clock from 10:30 to 11:00 moves
    # the 2-hour resolution ("30 minutes - 2 hours") to 12:30; the acknowledgement stays met at 10:02.
    case("Workflow 1 › Phase 3: a pause moves the 2-hour resolution",
         {"complete_outage": True},
         [ev("10:02", "acknowledged"), ev("10:30", "paused"), ev("11:00", "resumed")],
         "12:15",
         {"clocks": {"acknowledge": clock("10:05", "met", "10:02"), "resolution": clock("12:30", "running")}}),
    # Preset: "Only the resolution clock may pause": during the pause resolution is paused, while the
    # "Sub-5 minute response" still breaches at 10:05.
    case("Crisis Response Overview › Sub-5 minute response: it does not pause with resolution",
         {"complete_outage": True},
         [ev("11:00", "paused", clocks=["resolution"])],
         "11:30",
         {"clocks": {"acknowledge": clock("10:05", "breached"), "resolution": {"state": "paused"}}}),
    # Preset: "A customer whose business has stopped is treated as a complete outage"; resolved at 11:50,
    # within "Phase 3: Resolution and Recovery (30 minutes - 2 hours)".
    case("Workflow 1 › Phase 3: Resolution and Recovery within 2 hours",
         {"business_impact": "stopped"},
         [ev("10:01", "acknowledged"), ev("10:02", "client_message"), ev("10:03", "mobilised"),
          ev("10:03", "escalated", level="L3"), ev("11:50", "resolved")],
         "12:30",
         {"severity": "P0",
          "clocks": {"acknowledge": clock("10:05", "met", "10:01"),
                     "client_notification": clock("10:05", "met", "10:02"),
                     "mobilization": clock("10:05", "met", "10:03"),
                     "resolution": clock("12:00", "met", "11:50")}}),
    # A P1 raised to P0 at 10:30 takes P0's numbers from detection: the 0-5 minute immediate response (all
    # already missed) and the 2-hour resolution; "VP Engineering (... high impact)" by 10:05.
    case("Crisis Classification Matrix › CRITICAL (P0): raised from P1, targets from detection",
         {"business_impact": "major"},
         [ev("10:03", "acknowledged"), ev("10:30", "severity_changed", severity="P0")],
         "10:40",
         {"severity": "P0", "red_status": True, "required_level": "L3",
          "escalation_ladder": {"L3": step("L3", "10:00", "10:05", None, "breached")},
          "clocks": {"acknowledge": clock("10:05", "met", "10:03"),
                     "client_notification": clock("10:05", "breached"),
                     "mobilization": clock("10:05", "breached"),
                     "escalation": clock("10:05", "breached"),
                     "resolution": clock("12:00", "running")}}),
    # Reopened at 11:30: the resolution clock runs on from detection ("30 minutes - 2 hours": 12:00).
    case("Workflow 1 › Phase 3: reopened, the 2-hour resolution runs on from detection",
         {"complete_outage": True},
         [ev("11:00", "resolved"), ev("11:30", "reopened")],
         "12:10",
         {"clocks": {"resolution": clock("12:00", "breached")}}),
    # "VP Engineering (>4 hour ...)": an incident already open 5 hours needs L3; preset floor P1.
    case("Management Escalation › VP Engineering (>4 hour): at least P1",
         {"unresolved_hours": 5},
         [],
         "10:01",
         {"severity": "P1", "required_level": "L3", "clocks": {"acknowledge": clock("10:05", "running")}}),
    # "VP Engineering (>4 hour ...)": an incident already open 5 hours at detection needs the VP from
    # detection, so the L3 step (like the required level) applies from 10:00, not only once the 4-hour time
    # trigger counted from detection fires at 14:00. The playbook gives the VP no time, so only `from` is
    # checked here.
    case("Management Escalation › VP Engineering (>4 hour): already open 5 hours, L3 required from detection",
         {"unresolved_hours": 5},
         [],
         "10:30",
         {"required_level": "L3", "escalation_ladder": {"L3": {"from": "2026-03-02T10:00:00Z"}}}),
    # "Engineering Manager (>1 hour incidents)": an outage of 90 minutes needs L2; preset floor P2 ("a
    # production issue open over an hour is at least medium").
    case("Management Escalation › Engineering Manager (>1 hour): at least P2",
         {"outage_minutes": 90},
         [],
         "10:01",
         {"severity": "P2", "required_level": "L2", "clocks": {"acknowledge": clock("10:05", "running")}}),
]

ERRORS = [
    # "VP Engineering (>4 hour ...)" needs L3, preset floor P1: P2 is refused.
    pytest.param({"unresolved_hours": 5}, [ev("10:30", "severity_changed", severity="P2")],
                 r"events\[0\]\.severity: P2 is below the floor of P1",
                 id="Management Escalation › VP Engineering (>4 hour): P2 below the P1 floor is refused"),
    # "Engineering Manager (>1 hour incidents)" needs L2, preset floor P2: P3 (no clocks) is refused.
    pytest.param({"outage_minutes": 90}, [ev("10:30", "severity_changed", severity="P3")],
                 r"events\[0\]\.severity: P3 is below the floor of P2",
                 id="Management Escalation › Engineering Manager (>1 hour): P3 below the P2 floor is refused"),
    # "CEO (public relations ...)" needs L4, preset floor P1: P2 is refused.
    pytest.param({"public_reputation_risk": True}, [ev("10:30", "severity_changed", severity="P2")],
                 r"events\[0\]\.severity: P2 is below the floor of P1",
                 id="Management Escalation › CEO (public relations): P2 below the P1 floor is refused"),
    # Preset: "Only the resolution clock may pause."
    pytest.param({"complete_outage": True}, [ev("10:30", "paused", clocks=["acknowledge"])],
                 r"events\[0\]\.clocks: .*'acknowledge' clock",
                 id="Crisis Response Overview › Sub-5 minute response: the acknowledgement cannot pause"),
]

CLI_IDS = {
    "Workflow 1 › Phase 1: Immediate Response (0-5 minutes), all met",
    "Management Escalation › Engineering Manager (>1 hour incidents)",
    "Crisis Classification Matrix › exactly 50% of users takes the P1 side",
    "Crisis Classification Matrix › LOW (P3): cosmetic issues have no clocks",
}
CLI_CASES = cli_cases(CASES, CLI_IDS)


@pytest.mark.parametrize("answers,events,until,expected", CASES)
def test_replay_follows_the_playbook(answers, events, until, expected):
    check_in_process(document(POLICY, answers, events, until), expected)


@pytest.mark.parametrize("answers,events,message", ERRORS)
def test_replay_refuses(answers, events, message):
    with pytest.raises(ReplayError, match=message):
        run_in_process(document(POLICY, answers, events, "12:00"))


@pytest.mark.slow  # starts `python -m core replay` as a subprocess
@pytest.mark.parametrize("answers,events,until,expected", CLI_CASES)
def test_replay_command_prints_the_same(answers, events, until, expected):
    check_cli(document(POLICY, answers, events, until), expected)


@pytest.mark.slow  # starts `python -m core replay` as a subprocess
def test_replay_command_exits_2_when_acknowledge_pauses():
    doc = document(POLICY, {"complete_outage": True}, [ev("10:30", "paused", clocks=["acknowledge"])], "12:00")
    assert "events[0].clocks: crisis does not let the 'acknowledge' clock pause" in check_cli_refuses(doc)
