"""Replay cases for the growth-engine preset, each quoted from growth-engine-escalation-procedures.md.

Every case is detected at 10:00 on Monday 2026-03-02 (UTC, every clock 24x7)
and looked at `until`. The expected values are the playbook's numbers (and the
preset header's stated readings), worked out by hand: "Escalation: Level N
within X" per severity, the tiers' "escalate if not resolved in 30 min / 2 h /
8 h" measured from reaching that tier, the response-time matrix per severity and
level measured from the escalation to that level, and the resolution targets.
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
    response,
    run_in_process,
    step,
)

POLICY = "growth-engine"

CASES = [
    # "#### P0 - Critical ... Response Time: 5 minutes ... Resolution Time: 2 hours ... Escalation: Immediate
    # to Level 4"; "Resolution Time SLAs › P0: Target: 2 hours, Maximum: 4 hours"; "P0 - Critical › Level 4:
    # 1 hour". Preset: "Immediate to Level 4" for P0 is 0m.
    case("Escalation Matrix › P0: Escalation: Immediate to Level 4",
         {"complete_outage": True},
         [ev("10:00", "escalated", level="L4"), ev("10:03", "acknowledged"),
          ev("10:40", "level_responded", level="L4")],
         "10:45",
         {"severity": "P0", "red_status": True, "required_level": "L4",
          "escalation_ladder": {"L4": step("L4", "10:00", "10:00", "10:00", "met")},
          "ladder_levels": ["L4"],
          "clocks": {"acknowledge": clock("10:05", "met", "10:03"),
                     "escalation": clock("10:00", "met", "10:00"),
                     "resolution": clock("12:00", "running"),
                     "resolution_max": clock("14:00", "running")},
          "level_response": {"L4": response("11:00", "10:40", "met")},
          "response_levels": ["L4"]}),
    # "Escalation: Immediate to Level 4": a P0 not at Level 4 one minute after detection is late. The playbook
    # plans no client messages by time ("Status Updates: Regular updates on issue status"), so none are due.
    case("Escalation Matrix › P0: Immediate to Level 4, one minute without it is a breach",
         {"security_breach": True},
         [],
         "10:01",
         {"severity": "P0", "required_level": "L4",
          "escalation_ladder": {"L4": step("L4", "10:00", "10:00", None, "breached")},
          "ladder_levels": ["L4"],
          "clocks": {"escalation": clock("10:00", "breached"), "acknowledge": clock("10:05", "running")},
          "client_updates": [], "next_client_update_due": None}),
    # "#### P1 - High ... Response Time: 15 minutes ... Escalation: Level 3 within 1 hour";
    # "P1 - High › Level 3: 1 hour"; "Level 3: Expert Support ... Escalation: If not resolved in 8 hours"
    # (the L4 hand-off is measured from reaching Level 3 at 10:45: 18:45).
    case("Escalation Matrix › P1: Level 3 within 1 hour",
         {"business_impact": "major"},
         [ev("10:10", "acknowledged"), ev("10:45", "escalated", level="L3")],
         "11:30",
         {"severity": "P1", "red_status": False, "required_level": "L3",
          "escalation_ladder": {"L3": step("L3", "10:00", "11:00", "10:45", "met"),
                                "L4": step("L4", "18:45", "18:45", None, "pending")},
          "ladder_levels": ["L3", "L4"],
          "clocks": {"acknowledge": clock("10:15", "met", "10:10"),
                     "escalation": clock("11:00", "met", "10:45"),
                     "resolution": clock("14:00", "running"),
                     "resolution_max": clock("18:00", "running")},
          "level_response": {"L3": response("11:45", None, "running")}}),
    # "Escalation: Level 3 within 1 hour" (P1) against "Level 2 ... Escalation: If not resolved in 2 hours":
    # reaching L2 at 10:30 would hand off to L3 at 12:30, but the severity's 11:00 wins. "Level 1 ...
    # Resolution Time: 30 minutes" from reaching L1 at 10:10: L2 by 10:40. "P1 - High › Level 1: 15 minutes,
    # Level 2: 30 minutes".
    case("Escalation Matrix › P1: Level 3 within 1 hour wins over Level 2's 2-hour hand-off",
         {"business_impact": "major"},
         [ev("10:10", "escalated", level="L1"), ev("10:20", "level_responded", level="L1"),
          ev("10:30", "escalated", level="L2")],
         "11:05",
         {"severity": "P1", "required_level": "L3",
          "escalation_ladder": {"L2": step("L2", "10:40", "10:40", "10:30", "met"),
                                "L3": step("L3", "10:00", "11:00", None, "breached")},
          "ladder_levels": ["L2", "L3"],
          "clocks": {"escalation": clock("11:00", "breached")},
          "level_response": {"L1": response("10:25", "10:20", "met"),
                             "L2": response("11:00", None, "breached")}}),
    # "#### P2 - Medium ... Response Time: 1 hour ... Resolution Time: 8 hours ... Escalation: Level 2 within
    # 2 hours"; "Resolution Time SLAs › P2: Maximum: 24 hours"; "P2 - Medium › Level 2: 2 hours";
    # "Level 2 ... Escalation: If not resolved in 2 hours" from reaching L2 at 11:30: L3 at 13:30.
    case("Escalation Matrix › P2: Level 2 within 2 hours",
         {"business_impact": "minor"},
         [ev("10:50", "acknowledged"), ev("11:30", "escalated", level="L2")],
         "12:00",
         {"severity": "P2", "red_status": False, "required_level": "L2",
          "escalation_ladder": {"L2": step("L2", "10:00", "12:00", "11:30", "met"),
                                "L3": step("L3", "13:30", "13:30", None, "pending")},
          "ladder_levels": ["L2", "L3"],
          "clocks": {"acknowledge": clock("11:00", "met", "10:50"),
                     "escalation": clock("12:00", "met", "11:30"),
                     "resolution": clock("18:00", "running"),
                     "resolution_max": clock("03-03T10:00", "running")},
          "level_response": {"L2": response("13:30", None, "running")}}),
    # "#### P3 - Low ... Escalation: Level 1 within 4 hours"; "Level 1 ... Escalation: If not resolved in
    # 30 minutes" (reached L1 at 10:10 -> L2 due 10:40, reached only at 11:00: late); "Level 2 ... If not
    # resolved in 2 hours" (reached L2 at 11:00 -> L3 due 13:00). "P3 - Low › Level 1: 4 hours, Level 2:
    # 8 hours"; "P3 ... Response Time: 4 hours ... Resolution Time: 24 hours"; "Maximum: 48 hours".
    case("Escalation Matrix › P3: Level 1 within 4 hours, then the tiers' 30 min / 2 h from reaching them",
         {"workaround": "easy"},
         [ev("10:10", "escalated", level="L1"), ev("11:00", "escalated", level="L2")],
         "12:00",
         {"severity": "P3", "red_status": False, "required_level": "L2",
          "escalation_ladder": {"L1": step("L1", "10:00", "14:00", "10:10", "met"),
                                "L2": step("L2", "10:40", "10:40", "11:00", "breached"),
                                "L3": step("L3", "13:00", "13:00", None, "pending")},
          "ladder_levels": ["L1", "L2", "L3"],
          "clocks": {"acknowledge": clock("14:00", "running"),
                     "escalation": clock("14:00", "met", "10:10"),
                     "resolution": clock("03-03T10:00", "running"),
                     "resolution_max": clock("03-04T10:00", "running")},
          "level_response": {"L1": response("14:10", None, "running"),
                             "L2": response("19:00", None, "running")}}),
    # "Level 3: Expert Support ... Escalation: If not resolved in 8 hours": L3 reached at 12:00 -> L4 due
    # 20:00; L2 reached at 10:30 -> L3 due 12:30 ("If not resolved in 2 hours"), reached at 12:00: met.
    # "P3 - Low › Level 3: 24 hours".
    case("Support Tiers › Level 3: escalate if not resolved in 8 hours, from reaching Level 3",
         {"workaround": "easy"},
         [ev("10:10", "escalated", level="L1"), ev("10:30", "escalated", level="L2"),
          ev("12:00", "escalated", level="L3")],
         "13:00",
         {"severity": "P3", "required_level": "L3",
          "escalation_ladder": {"L2": step("L2", "10:40", "10:40", "10:30", "met"),
                                "L3": step("L3", "12:30", "12:30", "12:00", "met"),
                                "L4": step("L4", "20:00", "20:00", None, "pending")},
          "level_response": {"L3": response("03-03T12:00", None, "running")}}),
    # "Resolution Time SLAs › P1: Target: 4 hours ... Escalation: If not resolved in 4 hours" (preset:
    # escalate_on_breach: [resolution], one level up): at L3 since 10:30, unresolved at 14:00 -> L4 then.
    case("Resolution Time SLAs › P1: Escalation: If not resolved in 4 hours (one level up)",
         {"business_impact": "major"},
         [ev("10:30", "escalated", level="L3")],
         "14:30",
         {"severity": "P1", "required_level": "L4",
          "escalation_ladder": {"L3": step("L3", "10:00", "11:00", "10:30", "met"),
                                "L4": step("L4", "14:00", "14:00", None, "breached")},
          "clocks": {"resolution": clock("14:00", "breached"), "resolution_max": clock("18:00", "running")}}),
    # Preset: "Only the resolution clocks may pause." A one-hour pause of the resolution target moves it from
    # 14:00 ("P1 ... Resolution Time: 4 hours") to 15:00, so no breach escalation at 14:30; the maximum
    # ("Maximum: 8 hours") was not paused and stays 18:00; L4 stays due 8 hours after reaching L3.
    case("Resolution Time SLAs › P1: a pause of the resolution target holds off its escalation",
         {"business_impact": "major"},
         [ev("10:05", "acknowledged"), ev("10:30", "escalated", level="L3"),
          ev("11:00", "paused", clocks=["resolution"]), ev("12:00", "resumed")],
         "14:30",
         {"required_level": "L3",
          "escalation_ladder": {"L3": step("L3", "10:00", "11:00", "10:30", "met"),
                                "L4": step("L4", "18:30", "18:30", None, "pending")},
          "clocks": {"acknowledge": clock("10:15", "met", "10:05"),
                     "resolution": clock("15:00", "running"),
                     "resolution_max": clock("18:00", "running")}}),
    # Preset: "Only the resolution clocks may pause": while paused, both resolution clocks are paused and the
    # acknowledgement ("P1 ... Response Time: 15 minutes") still breaches at 10:15.
    case("Escalation Matrix › P1: while paused only the resolution clocks stop",
         {"business_impact": "major"},
         [ev("11:00", "paused")],
         "11:30",
         {"clocks": {"acknowledge": {"deadline": "2026-03-02T10:15:00Z", "state": "breached"},
                     "resolution": {"state": "paused"},
                     "resolution_max": {"state": "paused"}}}),
    # "Response Time SLAs › P0 - Critical: Level 1: 5 minutes, Level 2: 15 minutes, Level 3: 30 minutes,
    # Level 4: 1 hour", each from the escalation to that level; L2's response at 10:20 is late.
    case("Escalation Timelines › Response Time SLAs › P0: 5 / 15 / 30 minutes / 1 hour",
         {"data_loss": True},
         [ev("10:00", "escalated", level="L1"), ev("10:00", "escalated", level="L2"),
          ev("10:00", "escalated", level="L3"), ev("10:00", "escalated", level="L4"),
          ev("10:04", "level_responded", level="L1"), ev("10:20", "level_responded", level="L2"),
          ev("10:25", "level_responded", level="L3")],
         "10:45",
         {"severity": "P0",
          "level_response": {"L1": response("10:05", "10:04", "met"),
                             "L2": response("10:15", "10:20", "breached"),
                             "L3": response("10:30", "10:25", "met"),
                             "L4": response("11:00", None, "running")},
          "response_levels": ["L1", "L2", "L3", "L4"]}),
    # "Response Time SLAs › P1 - High: Level 1: 15 minutes, Level 2: 30 minutes, Level 3: 1 hour, Level 4:
    # 2 hours", from escalations at 10:00, 10:10, 10:20, 10:30.
    case("Escalation Timelines › Response Time SLAs › P1: 15 / 30 minutes / 1 / 2 hours",
         {"business_impact": "major"},
         [ev("10:00", "escalated", level="L1"), ev("10:10", "escalated", level="L2"),
          ev("10:14", "level_responded", level="L1"), ev("10:20", "escalated", level="L3"),
          ev("10:30", "escalated", level="L4"), ev("10:45", "level_responded", level="L2"),
          ev("11:20", "level_responded", level="L3")],
         "12:00",
         {"level_response": {"L1": response("10:15", "10:14", "met"),
                             "L2": response("10:40", "10:45", "breached"),
                             "L3": response("11:20", "11:20", "met"),
                             "L4": response("12:30", None, "running")}}),
    # "Response Time SLAs › P2 - Medium: Level 1: 1 hour, Level 2: 2 hours, Level 3: 4 hours, Level 4:
    # 8 hours", from escalations at 10:00, 11:00, 12:00, 13:00; L3 has not answered by 16:00.
    case("Escalation Timelines › Response Time SLAs › P2: 1 / 2 / 4 / 8 hours",
         {"business_impact": "minor"},
         [ev("10:00", "escalated", level="L1"), ev("11:00", "escalated", level="L2"),
          ev("11:01", "level_responded", level="L1"), ev("12:00", "escalated", level="L3"),
          ev("12:59", "level_responded", level="L2"), ev("13:00", "escalated", level="L4")],
         "17:00",
         {"level_response": {"L1": response("11:00", "11:01", "breached"),
                             "L2": response("13:00", "12:59", "met"),
                             "L3": response("16:00", None, "breached"),
                             "L4": response("21:00", None, "running")}}),
    # "Response Time SLAs › P3 - Low: Level 1: 4 hours, Level 2: 8 hours, Level 3: 24 hours, Level 4:
    # 48 hours", from escalations at 10:00, 12:00, 13:00, 14:00.
    case("Escalation Timelines › Response Time SLAs › P3: 4 / 8 / 24 / 48 hours",
         {"workaround": "easy"},
         [ev("10:00", "escalated", level="L1"), ev("12:00", "escalated", level="L2"),
          ev("13:00", "escalated", level="L3"), ev("13:00", "level_responded", level="L1"),
          ev("14:00", "escalated", level="L4"), ev("21:00", "level_responded", level="L2")],
         "03-03T14:00",
         {"level_response": {"L1": response("14:00", "13:00", "met"),
                             "L2": response("20:00", "21:00", "breached"),
                             "L3": response("03-03T13:00", None, "breached"),
                             "L4": response("03-04T14:00", None, "running")}}),
    # "#### P2 ... Response Time: 1 hour"; "Resolution Time SLAs › P2: Target: 8 hours, Maximum: 24 hours":
    # acknowledged at 11:10 (late), resolved at 09:00 the next day: past the target, within the maximum.
    case("Resolution Time SLAs › P2: Target 8 hours, Maximum 24 hours",
         {"business_impact": "minor"},
         [ev("11:10", "acknowledged"), ev("03-03T09:00", "resolved")],
         "03-03T12:00",
         {"clocks": {"acknowledge": clock("11:00", "breached"),
                     "resolution": clock("18:00", "breached"),
                     "resolution_max": clock("03-03T10:00", "met", "03-03T09:00")}}),
    # A P2 raised to P1 at 10:30 takes P1's numbers from detection: "Response Time: 15 minutes" (10:15,
    # already passed), "Resolution Time: 4 hours", "Maximum: 8 hours", "Escalation: Level 3 within 1 hour".
    case("Escalation Matrix › P1: severity raised from P2, targets from detection",
         {"business_impact": "minor"},
         [ev("10:30", "severity_changed", severity="P1")],
         "10:40",
         {"severity": "P1", "required_level": "L3",
          "escalation_ladder": {"L3": step("L3", "10:00", "11:00", None, "pending")},
          "clocks": {"acknowledge": clock("10:15", "breached"),
                     "escalation": clock("11:00", "running"),
                     "resolution": clock("14:00", "running"),
                     "resolution_max": clock("18:00", "running")}}),
    # A P1 lowered to P2 at 10:30: "Response Time: 1 hour", "Resolution Time: 8 hours", "Maximum: 24 hours",
    # "Escalation: Level 2 within 2 hours", all from detection.
    case("Escalation Matrix › P2: severity lowered from P1, targets from detection",
         {"business_impact": "major"},
         [ev("10:30", "severity_changed", severity="P2")],
         "10:40",
         {"severity": "P2",
          "clocks": {"acknowledge": clock("11:00", "running"),
                     "escalation": clock("12:00", "running"),
                     "resolution": clock("18:00", "running"),
                     "resolution_max": clock("03-03T10:00", "running")}}),
    # Reopened: the resolution clock runs on from detection ("P1 ... Resolution Time: 4 hours": 14:00), so at
    # 15:00 it is breached and "Escalation: If not resolved in 4 hours" takes the case from L3 to L4 at 14:00.
    case("Resolution Time SLAs › P1: reopened, the 4-hour target runs on from detection",
         {"business_impact": "major"},
         [ev("10:05", "acknowledged"), ev("10:30", "escalated", level="L3"), ev("12:00", "resolved"),
          ev("12:30", "reopened")],
         "15:00",
         {"required_level": "L4",
          "escalation_ladder": {"L4": step("L4", "14:00", "14:00", None, "breached")},
          "clocks": {"resolution": clock("14:00", "breached"), "resolution_max": clock("18:00", "running")}}),
    # "Level 4 Escalation › Escalation Triggers: Executive involvement required" needs Level 4; preset floor
    # P1 (l4-executive-requested), so the case is P1 with "Response Time: 15 minutes" and "Resolution Time:
    # 4 hours"; the trigger has no window of its own, so P1's escalation target (1 hour) applies to L4.
    case("Escalation Procedures › Level 4 Escalation: executive involvement required is at least P1",
         {"management_requested": True},
         [],
         "10:10",
         {"severity": "P1", "required_level": "L4",
          "escalation_ladder": {"L4": step("L4", "10:00", "11:00", None, "pending")},
          "ladder_levels": ["L4"],
          "clocks": {"acknowledge": clock("10:15", "running"), "resolution": clock("14:00", "running")}}),
    # "Level 2 Escalation › Escalation Triggers: Requires advanced technical knowledge" (preset: no quick fix)
    # needs Level 2; no explicit floor, so the least severe severity that needs L2 by itself: P2 ("Level 2
    # within 2 hours", "Response Time: 1 hour").
    case("Escalation Procedures › Level 2 Escalation: advanced knowledge needed is at least P2 (default floor)",
         {"quick_fix": "no"},
         [],
         "10:30",
         {"severity": "P2", "required_level": "L2",
          "escalation_ladder": {"L2": step("L2", "10:00", "12:00", None, "pending")},
          "ladder_levels": ["L2"],
          "clocks": {"acknowledge": clock("11:00", "running")}}),
    # "Level 2 Escalation › Escalation Triggers: Issue not resolved within 30 minutes": needs Level 2, but the
    # preset's floor is P3 ("time open says nothing about impact: the severity table decides").
    case("Escalation Procedures › Level 2 Escalation: open over 30 minutes needs L2 and stays P3",
         {"unresolved_hours": 1},
         [],
         "10:30",
         {"severity": "P3", "required_level": "L2",
          "clocks": {"acknowledge": clock("14:00", "running"), "resolution": clock("03-03T10:00", "running")}}),
]

ERRORS = [
    # "Requires advanced technical knowledge" needs Level 2, whose floor is P2: P3 is refused.
    pytest.param({"quick_fix": "no"}, [ev("10:30", "severity_changed", severity="P3")],
                 r"events\[0\]\.severity: P3 is below the floor of P2",
                 id="Escalation Procedures › Level 2 Escalation: P3 below the P2 floor is refused"),
    # "Executive involvement required" needs Level 4, preset floor P1: P2 is refused.
    pytest.param({"management_requested": True}, [ev("10:30", "severity_changed", severity="P2")],
                 r"events\[0\]\.severity: P2 is below the floor of P1",
                 id="Escalation Procedures › Level 4 Escalation: P2 below the P1 floor is refused"),
    # Preset: "Only the resolution clocks may pause."
    pytest.param({"business_impact": "major"}, [ev("10:30", "paused", clocks=["acknowledge"])],
                 r"events\[0\]\.clocks: .*'acknowledge' clock",
                 id="Escalation Matrix › Response Time: the acknowledgement clock cannot pause"),
]

CLI_IDS = {
    "Escalation Matrix › P0: Escalation: Immediate to Level 4",
    "Escalation Matrix › P3: Level 1 within 4 hours, then the tiers' 30 min / 2 h from reaching them",
    "Resolution Time SLAs › P1: Escalation: If not resolved in 4 hours (one level up)",
    "Escalation Timelines › Response Time SLAs › P0: 5 / 15 / 30 minutes / 1 hour",
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
def test_replay_command_exits_2_below_the_floor():
    doc = document(POLICY, {"management_requested": True}, [ev("10:30", "severity_changed", severity="P2")], "12:00")
    assert "events[0].severity: P2 is below the floor of P1" in check_cli_refuses(doc)
