"""Replay cases for the default preset, each quoted from its header and YAML (and the playbook it cites).

The default policy is a synthesis: each of its numbers names the playbook it
comes from in a comment (red-status, spark, crisis, growth-engine, teamflow);
the cases quote that comment. Every case is detected at 10:00 on Monday
2026-03-02 (UTC, every clock 24x7) and looked at `until`. The expected values
are the preset's stated numbers worked out by hand: the P0..P3 targets, the rule
targets (outages 2h, data issues 6h, the strictest where two apply), the client
notice and update cadences, the four-level ladder (severity levels, time
triggers at 1h / 4h / 8h) and the severity floors of its level triggers. The
default levels state no response time, so no level response clock runs.
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

POLICY = "default"

CASES = [
    # complete-outage: "severity: P0, targets: {resolution: 2h}  # red-status: outages within 2h"; P0
    # "acknowledge: 15m  # red-status, spark P0, teamflow immediate", "client_notification: 30m  # red-status",
    # "mobilization: 45m", "client_update: 30m  # red-status critical", "escalation: 15m  # teamflow immediate
    # window", "escalation_level: L4  # growth-engine: P0 goes straight to executives". After the first notice
    # at 10:25 the next update is due one cadence later: 10:55.
    case("Default policy › Critical › complete-outage: P0 targets with the 2-hour outage resolution",
         {"complete_outage": True},
         [ev("10:10", "acknowledged"), ev("10:12", "escalated", level="L4"), ev("10:25", "client_message"),
          ev("10:40", "mobilised")],
         "10:50",
         {"severity": "P0", "red_status": True, "required_level": "L4",
          "clocks": {"acknowledge": clock("10:15", "met", "10:10"),
                     "client_notification": clock("10:30", "met", "10:25"),
                     "mobilization": clock("10:45", "met", "10:40"),
                     "escalation": clock("10:15", "met", "10:12"),
                     "client_update": clock("10:55", "running"),
                     "resolution": clock("12:00", "running")},
          "clock_names": ["acknowledge", "client_notification", "client_update", "escalation", "mobilization",
                          "resolution"],
          "escalation_ladder": {"L4": step("L4", "10:00", "10:15", "10:12", "met")},
          "ladder_levels": ["L4"],
          "client_updates": [update("10:30", "10:25", "met"), update("10:55", None, "pending")],
          "next_client_update_due": "2026-03-02T10:55:00Z",
          "response_levels": []}),
    # P0 "client_update: 30m  # red-status critical, teamflow security": after the first notice (10:10) each
    # update is due 30 minutes after the last message, never stretched: 10:40, then 11:05 (missed at 11:10).
    # business-stopped: "severity: P0  # spark, growth-engine" with P0's "resolution: 4h".
    case("Default policy › Critical › P0 client updates every 30 minutes after the last message",
         {"business_impact": "stopped"},
         [ev("10:10", "client_message"), ev("10:35", "client_message")],
         "11:10",
         {"severity": "P0",
          "clocks": {"client_notification": clock("10:30", "met", "10:10"),
                     "client_update": clock("11:05", "breached"),
                     "resolution": clock("14:00", "running")},
          "client_updates": [update("10:30", "10:10", "met"), update("10:40", "10:35", "met"),
                             update("11:05", None, "breached")],
          "next_client_update_due": "2026-03-02T11:05:00Z"}),
    # data-loss: "severity: P0, targets: {resolution: 6h}  # red-status: data issues within 6h".
    case("Default policy › Critical › data-loss: 6-hour data resolution",
         {"data_loss": True},
         [],
         "10:05",
         {"severity": "P0", "required_level": "L4", "clocks": {"resolution": clock("16:00", "running")}}),
    # Issue point 5 with complete-outage "resolution: 2h" and data-loss "resolution: 6h": the strictest wins.
    case("Default policy › Critical › data loss in a complete outage: the strictest resolution (2h)",
         {"data_loss": True, "complete_outage": True},
         [],
         "10:05",
         {"severity": "P0", "clocks": {"resolution": clock("12:00", "running")}}),
    # P0 "client_notification: 30m": never sent when the incident is resolved at 11:30, so the first notice is
    # breached; resolution ("2h" outage target) is met; once resolved no further update is due.
    case("Default policy › Critical › resolved: the missed first notice stays breached, nothing more is due",
         {"complete_outage": True},
         [ev("10:05", "acknowledged"), ev("11:30", "resolved")],
         "12:00",
         {"clocks": {"client_notification": clock("10:30", "breached"),
                     "resolution": clock("12:00", "met", "11:30")},
          "client_updates": [update("10:30", None, "breached")],
          "next_client_update_due": None}),
    # badly-hampered: "severity: P1  # spark P1, red-status, crisis P1"; P1 "acknowledge: 1h  # teamflow
    # priority", "client_update: 4h  # spark P1", "resolution: 24h  # spark P1, teamflow high", "escalation:
    # 1h  # teamflow priority, growth-engine P1 within 1h", "escalation_level: L2", "red_status: true  #
    # red-status: indicators of red status"; L3 "unresolved_for: 4h  # red-status executive at 4h, crisis VP
    # after 4h", L4 "unresolved_for: 8h  # growth-engine Level 4 after 8h".
    case("Default policy › High › P1 targets and the ladder: L2 within 1h, L3 at 4h, L4 at 8h",
         {"business_impact": "major"},
         [ev("10:50", "acknowledged"), ev("10:55", "escalated", level="L2")],
         "12:00",
         {"severity": "P1", "red_status": True, "required_level": "L2",
          "clocks": {"acknowledge": clock("11:00", "met", "10:50"),
                     "escalation": clock("11:00", "met", "10:55"),
                     "client_update": clock("14:00", "running"),
                     "resolution": clock("03-03T10:00", "running")},
          "clock_names": ["acknowledge", "client_update", "escalation", "resolution"],
          "escalation_ladder": {"L2": step("L2", "10:00", "11:00", "10:55", "met"),
                                "L3": step("L3", "14:00", "14:00", None, "pending"),
                                "L4": step("L4", "18:00", "18:00", None, "pending")},
          "ladder_levels": ["L2", "L3", "L4"],
          "client_updates": [update("14:00", None, "pending")],
          "next_client_update_due": "2026-03-02T14:00:00Z",
          "response_levels": []}),
    # P1 "client_update: 4h  # spark P1" ("We'll update you every 4 hours until resolved"): a message at
    # 11:00 meets the 14:00 update and the next is due 4 hours after it, at 15:00.
    case("Default policy › High › P1 updates every 4 hours after the last message",
         {"business_impact": "major"},
         [ev("11:00", "client_message")],
         "12:00",
         {"clocks": {"client_update": clock("15:00", "running")},
          "client_updates": [update("14:00", "11:00", "met"), update("15:00", None, "pending")],
          "next_client_update_due": "2026-03-02T15:00:00Z"}),
    # data-integrity: "severity: P1, targets: {resolution: 6h}  # red-status indicator and data target".
    case("Default policy › High › data-integrity: the 6-hour data target replaces P1's 24h",
         {"data_integrity": True},
         [],
         "10:05",
         {"severity": "P1", "red_status": True,
          "clocks": {"acknowledge": clock("11:00", "running"), "resolution": clock("16:00", "running")}}),
    # inconvenienced: "severity: P2  # spark P2"; P2 "acknowledge: 4h  # teamflow standard", "client_update:
    # 1d  # teamflow daily updates", "resolution: 72h  # teamflow standard", "resolution_max: 1w  # spark P2,
    # teamflow complex issues", "escalation: 4h"; "escalation_level: L1"; L2 "unresolved_for: 1h  # red-status
    # Level 2 after 1h, crisis manager after 1h", L3 4h, L4 8h.
    case("Default policy › Medium › P2 targets and the ladder",
         {"business_impact": "minor"},
         [],
         "10:30",
         {"severity": "P2", "red_status": False, "required_level": "L1",
          "clocks": {"acknowledge": clock("14:00", "running"),
                     "escalation": clock("14:00", "running"),
                     "client_update": clock("03-03T10:00", "running"),
                     "resolution": clock("03-05T10:00", "running"),
                     "resolution_max": clock("03-09T10:00", "running")},
          "escalation_ladder": {"L1": step("L1", "10:00", "14:00", None, "pending"),
                                "L2": step("L2", "11:00", "11:00", None, "pending"),
                                "L3": step("L3", "14:00", "14:00", None, "pending"),
                                "L4": step("L4", "18:00", "18:00", None, "pending")},
          "ladder_levels": ["L1", "L2", "L3", "L4"]}),
    # not-an-emergency: "severity: P3  # spark P3, crisis P3"; P3 "acknowledge: 48h  # spark P3",
    # "resolution: 90d  # spark "next quarter"": no escalation target and no client cadence.
    case("Default policy › Low › P3: 48-hour acknowledgement, 90-day resolution",
         {"feature_request": True},
         [],
         "10:30",
         {"severity": "P3", "red_status": False, "required_level": "L1",
          "clocks": {"acknowledge": clock("03-04T10:00", "running"),
                     "resolution": clock("05-31T10:00", "running")},
          "clock_names": ["acknowledge", "resolution"],
          "client_updates": [], "next_client_update_due": None}),
    # "pausable_clocks: [resolution, resolution_max]   # waiting on the customer stops only resolution clocks":
    # a two-hour pause moves both P2 resolution targets (72h, 1w) by two hours; the 4h acknowledgement stays.
    case("Default policy › pausable clocks: a pause moves both resolution targets",
         {"business_impact": "minor"},
         [ev("11:00", "paused"), ev("13:00", "resumed")],
         "14:00",
         {"clocks": {"acknowledge": clock("14:00", "running"),
                     "resolution": clock("03-05T12:00", "running"),
                     "resolution_max": clock("03-09T12:00", "running")}}),
    # "pausable_clocks: [resolution, resolution_max]": pausing only resolution leaves the 1-week maximum.
    case("Default policy › pausable clocks: pausing resolution alone leaves resolution_max",
         {"business_impact": "minor"},
         [ev("11:00", "paused", clocks=["resolution"]), ev("13:00", "resumed")],
         "14:00",
         {"clocks": {"resolution": clock("03-05T12:00", "running"),
                     "resolution_max": clock("03-09T10:00", "running")}}),
    # A P1 raised to P0 at 10:20 takes P0's targets from detection: "acknowledge: 15m" (missed),
    # "client_notification: 30m", "mobilization: 45m", "resolution: 4h", "escalation: 15m" to L4.
    case("Default policy › Severities › P0: raised from P1, targets from detection",
         {"business_impact": "major"},
         [ev("10:20", "severity_changed", severity="P0")],
         "10:20",
         {"severity": "P0", "red_status": True, "required_level": "L4",
          "clocks": {"acknowledge": clock("10:15", "breached"),
                     "client_notification": clock("10:30", "running"),
                     "mobilization": clock("10:45", "running"),
                     "escalation": clock("10:15", "breached"),
                     "resolution": clock("14:00", "running")},
          "escalation_ladder": {"L4": step("L4", "10:00", "10:15", None, "breached")}}),
    # data-integrity "targets: {resolution: 6h}" still applies after lowering to P2 (it competes with P2's
    # "resolution: 72h": 6h wins); P2's "acknowledge: 4h" and "resolution_max: 1w" from detection.
    case("Default policy › High › data-integrity: lowered to P2, the 6-hour data target still applies",
         {"data_integrity": True},
         [ev("10:30", "severity_changed", severity="P2")],
         "10:40",
         {"severity": "P2", "red_status": False,
          "clocks": {"acknowledge": clock("14:00", "running"),
                     "resolution": clock("16:00", "running"),
                     "resolution_max": clock("03-09T10:00", "running")}}),
    # Reopened at 13:00: P1's "resolution: 24h" runs on from detection (10:00 the next day).
    case("Default policy › High › reopened, the 24-hour resolution runs on from detection",
         {"business_impact": "major"},
         [ev("12:00", "resolved"), ev("13:00", "reopened")],
         "14:00",
         {"clocks": {"resolution": clock("03-03T10:00", "running")}}),
    # l4-executive-matters: "severity_floor: P1  # executives are never left with a case that has no clock",
    # "{unresolved_hours: {gte: 8}}": needs L4, so at least P1 with P1's "acknowledge: 1h", "resolution: 24h"
    # and "escalation: 1h" (the trigger has no window of its own).
    case("Default policy › Escalation levels › L4 after 8 hours open: at least P1",
         {"unresolved_hours": 8},
         [],
         "10:30",
         {"severity": "P1", "red_status": True, "required_level": "L4",
          "clocks": {"acknowledge": clock("11:00", "running"),
                     "escalation": clock("11:00", "running"),
                     "resolution": clock("03-03T10:00", "running")},
          "escalation_ladder": {"L4": step("L4", "10:00", "11:00", None, "pending")},
          "ladder_levels": ["L4"]}),
    # l3-open-4h: "severity_floor: P2  # four hours open is at least a standard escalation": needs L3 by P2's
    # "escalation: 4h".
    case("Default policy › Escalation levels › L3 after 4 hours open: at least P2",
         {"unresolved_hours": 4},
         [],
         "10:30",
         {"severity": "P2", "required_level": "L3",
          "clocks": {"acknowledge": clock("14:00", "running")},
          "escalation_ladder": {"L3": step("L3", "10:00", "14:00", None, "pending")}}),
    # l2-no-quick-fix: "severity_floor: P3  # a slow fix says nothing about impact: the rules decide".
    case("Default policy › Escalation levels › L2 without a quick fix: stays P3",
         {"quick_fix": "no"},
         [],
         "10:30",
         {"severity": "P3", "required_level": "L2",
          "clocks": {"acknowledge": clock("03-04T10:00", "running")}}),
    # security-breach: "severity: P0  # all five playbooks"; l4-executive-matters: "Breaches ... need
    # executives", by P0's "escalation: 15m".
    case("Default policy › Critical › security-breach: P0, executives within 15 minutes",
         {"security_breach": True},
         [],
         "10:10",
         {"severity": "P0", "red_status": True, "required_level": "L4",
          "escalation_ladder": {"L4": step("L4", "10:00", "10:15", None, "pending")},
          "ladder_levels": ["L4"]}),
    # dragging-on: "{management_requested: true}" -> "severity: P2  # teamflow standard escalation" (teamflow:
    # "Standard Escalation (Within 4 hours) ... Requests to speak with management"); l3-management-asked: "The
    # customer asked for management" needs L3 (Management), not the executives. P2: "acknowledge: 4h".
    case("Default policy › Medium › dragging-on: a request for management is P2 and needs L3",
         {"management_requested": True},
         [],
         "10:30",
         {"severity": "P2", "required_level": "L3",
          "clocks": {"acknowledge": clock("14:00", "running")}}),
    # high-stakes-money: "{refund_amount: {gt: 1000}}" -> "severity: P1  # teamflow priority escalation"
    # (teamflow: "Priority Escalation (Within 1 hour) ... Refund requests over $1,000"); l3-management-asked:
    # "a large refund needs approval" needs L3. P1: "acknowledge: 1h", "escalation: 1h".
    case("Default policy › High › high-stakes-money: a large refund is P1 and needs L3",
         {"refund_amount": 1500},
         [],
         "10:30",
         {"severity": "P1", "required_level": "L3",
          "clocks": {"acknowledge": clock("11:00", "running"), "escalation": clock("11:00", "running")}}),
]

ERRORS = [
    # l4-executive-matters "severity_floor: P1": P2 is refused.
    pytest.param({"unresolved_hours": 8}, [ev("10:30", "severity_changed", severity="P2")],
                 r"events\[0\]\.severity: P2 is below the floor of P1",
                 id="Default policy › Escalation levels › L4 after 8 hours: P2 below the P1 floor is refused"),
    # l3-open-4h "severity_floor: P2": P3 is refused.
    pytest.param({"unresolved_hours": 4}, [ev("10:30", "severity_changed", severity="P3")],
                 r"events\[0\]\.severity: P3 is below the floor of P2",
                 id="Default policy › Escalation levels › L3 after 4 hours: P3 below the P2 floor is refused"),
    # "pausable_clocks: [resolution, resolution_max]".
    pytest.param({"business_impact": "minor"}, [ev("10:30", "paused", clocks=["acknowledge"])],
                 r"events\[0\]\.clocks: .*'acknowledge' clock",
                 id="Default policy › pausable clocks: the acknowledgement cannot pause"),
]

CLI_IDS = {
    "Default policy › Critical › complete-outage: P0 targets with the 2-hour outage resolution",
    "Default policy › High › P1 targets and the ladder: L2 within 1h, L3 at 4h, L4 at 8h",
    "Default policy › Escalation levels › L4 after 8 hours open: at least P1",
}
CLI_CASES = cli_cases(CASES, CLI_IDS)


@pytest.mark.parametrize("answers,events,until,expected", CASES)
def test_replay_follows_the_policy(answers, events, until, expected):
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
def test_replay_command_exits_2_below_the_floor():
    doc = document(POLICY, {"unresolved_hours": 4}, [ev("10:30", "severity_changed", severity="P3")], "12:00")
    assert "events[0].severity: P3 is below the floor of P2" in check_cli_refuses(doc)
