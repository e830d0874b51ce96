"""The spark preset replayed event by event against spark-customer-emergency-protocol.md.

Each case is a replay document (answers, events, until) and the parts of the
output its playbook line fixes; the id names the playbook section, the comment
quotes it. Detection is 10:00 UTC on 2026-03-02 (24x7 calendar). A few cases
also run as `python -m core replay` and must print the same JSON.
"""

from __future__ import annotations

import pytest

from tests.core.replay_cases import (
    assert_enough,
    check_cli,
    check_in_process,
    cli_cases,
    clock,
    document,
    ev,
    step,
    update,
)

POLICY = "spark"
STOPPED = {"business_impact": "stopped"}
PAINFUL = {"workaround": "painful"}
# The P0 communication timeline at 10:10, 10:25 and 10:55: every planned message on time.
ON_TIME = [ev("10:10", "client_message"), ev("10:25", "client_message"), ev("10:55", "client_message")]

CASES = [
    # Severity Levels › CRITICAL (P0) "Customer business is stopped", "Response: < 1 hour", "Resolution Target:
    # < 4 hours"; Communication Timeline "15 min: Customer acknowledgment", template "P0 Acknowledgment (< 15
    # min)" (the client notification, issue 14 point 6); P0 Response "IMMEDIATE ACTIONS (First 30 minutes)".
    pytest.param(
        STOPPED,
        [],
        "10:05",
        {"severity": "P0", "red_status": True, "required_level": "L3",
         "escalation_ladder": [step("L3", "10:00", "10:30", None, "pending")],
         "clocks": {"acknowledge": clock("10:15", "running", None),
                    "client_notification": clock("10:15", "running", None),
                    "mobilization": clock("11:00", "running", None),
                    "resolution": clock("14:00", "running", None),
                    "escalation": clock("10:30", "running", None)}},
        id="Severity Levels › CRITICAL (P0): acknowledgment and first message by 15m, response 1h, resolution 4h",
    ),
    # P0 Response (All Hands) › "IMMEDIATE ACTIONS (First 30 minutes): All WIP paused, team focuses on emergency,
    # Incident commander assigned"; CRITICAL (P0) "Security breach", "Response: < 1 hour".
    pytest.param(
        {"security_breach": True},
        [ev("10:20", "escalated", level="L3"), ev("10:40", "mobilised")],
        "11:00",
        {"required_level": "L3",
         "escalation_ladder": [step("L3", "10:00", "10:30", "10:20", "met")],
         "clocks": {"escalation": clock("10:30", "met", "10:20"),
                    "mobilization": clock("11:00", "met", "10:40")}},
        id="P0 Response (All Hands) › all hands within the first 30 minutes (met)",
    ),
    # P0 Response (All Hands) › "IMMEDIATE ACTIONS (First 30 minutes)"; CRITICAL (P0) "Revenue at immediate risk".
    pytest.param(
        {"payment_failure": True},
        [ev("10:45", "escalated", level="L3")],
        "11:00",
        {"severity": "P0",
         "escalation_ladder": [step("L3", "10:00", "10:30", "10:45", "breached")],
         "clocks": {"escalation": clock("10:30", "breached", None)}},
        id="P0 Response (All Hands) › all hands only at 45 minutes (late)",
    ),
    # P0 Response (All Hands) "(First 30 minutes)"; Emergency Decision Matrix "Customer at risk → All hands".
    pytest.param(
        {"termination_threat": True},
        [],
        "11:00",
        {"severity": "P0", "required_level": "L3",
         "escalation_ladder": [step("L3", "10:00", "10:30", None, "breached")]},
        id="Emergency Decision Matrix › customer at risk, all hands never called (breached)",
    ),
    # HIGH (P1) "Workaround exists but painful", "Response: < 4 hours", "Resolution Target: < 24 hours";
    # P1 Response "IMMEDIATE ACTIONS (First 4 hours): Senior person assigned full-time".
    pytest.param(
        PAINFUL,
        [ev("12:00", "escalated", level="L2")],
        "13:00",
        {"severity": "P1", "red_status": False, "required_level": "L2",
         "escalation_ladder": [step("L2", "10:00", "14:00", "12:00", "met")],
         "clocks": {"resolution": clock("03-03T10:00", "running", None)}},
        id="P1 Response (Dedicated Person) › senior person assigned within 4 hours (met)",
    ),
    # HIGH (P1) "Customer significantly impacted"; P1 Response "(First 4 hours): Senior person assigned".
    pytest.param(
        {"business_impact": "major"},
        [],
        "14:30",
        {"severity": "P1",
         "escalation_ladder": [step("L2", "10:00", "14:00", None, "breached")],
         "clocks": {"escalation": clock("14:00", "breached", None)}},
        id="P1 Response (Dedicated Person) › nobody dedicated after 4 hours (breached)",
    ),
    # HIGH (P1) "Customer significantly impacted" (the preset reads data loss as such); "(First 4 hours)".
    pytest.param(
        {"data_loss": True},
        [],
        "11:00",
        {"severity": "P1", "required_level": "L2",
         "escalation_ladder": [step("L2", "10:00", "14:00", None, "pending")]},
        id="P1 Response (Dedicated Person) › data loss, senior person due by 14:00 (pending)",
    ),
    # Communication Timeline "15 min: Customer acknowledgment, 30 min: Initial assessment to customer, 60 min:
    # Progress update to customer, Every hour: Progress updates until resolved": hourly after the last (10:55).
    pytest.param(
        STOPPED,
        ON_TIME,
        "11:30",
        {"client_updates": [update("10:15", "10:10", "met"), update("10:30", "10:25", "met"),
                            update("11:00", "10:55", "met"), update("11:55", None, "pending")],
         "next_client_update_due": "2026-03-02T11:55:00Z"},
        id="Communication Timeline › P0: 15, 30, 60 minutes, then every hour (all on time)",
    ),
    # Communication Timeline "30 min: Initial assessment", "60 min: Progress update": the assessment sent early
    # (10:20) does not push the 60-minute update to 90 minutes; it stays due at 11:00.
    pytest.param(
        STOPPED,
        [ev("10:10", "client_message"), ev("10:20", "client_message")],
        "10:50",
        {"client_updates": [update("10:15", "10:10", "met"), update("10:30", "10:20", "met"),
                            update("11:00", None, "pending")],
         "clocks": {"client_update": clock("11:00", "running", None)},
         "next_client_update_due": "2026-03-02T11:00:00Z"},
        id="Communication Timeline › the 30-minute assessment sent early keeps the 60-minute update at 11:00",
    ),
    # "P0 Acknowledgment (< 15 min)": a first message at 10:20 meets the overdue acknowledgment (late), and the
    # 30-minute assessment is still owed.
    pytest.param(
        STOPPED,
        [ev("10:20", "client_message")],
        "10:25",
        {"client_updates": [update("10:15", "10:20", "breached"), update("10:30", None, "pending"),
                            update("11:00", None, "pending")],
         "clocks": {"client_notification": clock("10:15", "breached", None)},
         "next_client_update_due": "2026-03-02T10:30:00Z"},
        id="Communication Timeline › a late first message meets the 15-minute acknowledgment (breached)",
    ),
    # Communication Timeline "15 min ... 30 min ... 60 min": nothing sent by 10:40, two entries missed and the
    # acknowledgment is still the first one owed.
    pytest.param(
        STOPPED,
        [],
        "10:40",
        {"client_updates": [update("10:15", None, "breached"), update("10:30", None, "breached"),
                            update("11:00", None, "pending")],
         "next_client_update_due": "2026-03-02T10:15:00Z"},
        id="Communication Timeline › no message by 10:40: acknowledgment and assessment missed",
    ),
    # Communication Timeline "15 min ... 30 min ...": two late messages meet the two overdue entries in order
    # (each message meets the earliest entry still open), the 60-minute update is still due at 11:00.
    pytest.param(
        STOPPED,
        [ev("10:35", "client_message"), ev("10:40", "client_message")],
        "10:50",
        {"client_updates": [update("10:15", "10:35", "breached"), update("10:30", "10:40", "breached"),
                            update("11:00", None, "pending")],
         "next_client_update_due": "2026-03-02T11:00:00Z"},
        id="Communication Timeline › two late messages meet the acknowledgment and the assessment in order",
    ),
    # Communication Timeline "Every hour: Progress updates until resolved": resolved at 10:45, the open 60-minute
    # entry is not owed any more and nothing comes after it.
    pytest.param(
        STOPPED,
        [ev("10:10", "client_message"), ev("10:28", "client_message"), ev("10:45", "resolved")],
        "12:00",
        {"client_updates": [update("10:15", "10:10", "met"), update("10:30", "10:28", "met"),
                            update("11:00", None, "met")],
         "next_client_update_due": None,
         "clocks": {"resolution": clock("14:00", "met", "10:45")}},
        id="Communication Timeline › 'until resolved': resolution ends the schedule",
    ),
    # Communication Timeline "Every hour: Progress updates until resolved"; template "We'll keep you updated every
    # hour until resolved": 10:55 -> 11:55 (sent 11:50) -> 12:50.
    pytest.param(
        STOPPED,
        [*ON_TIME, ev("11:50", "client_message")],
        "12:30",
        {"client_updates": [update("10:15", "10:10", "met"), update("10:30", "10:25", "met"),
                            update("11:00", "10:55", "met"), update("11:55", "11:50", "met"),
                            update("12:50", None, "pending")],
         "next_client_update_due": "2026-03-02T12:50:00Z"},
        id="Communication Timeline › 'Every hour': each update due an hour after the last one",
    ),
    # Communication Templates › "P1 Response (< 4 hours)", "We'll update you every 4 hours until resolved".
    pytest.param(
        PAINFUL,
        [ev("13:00", "client_message")],
        "15:00",
        {"client_updates": [update("14:00", "13:00", "met"), update("17:00", None, "pending")],
         "next_client_update_due": "2026-03-02T17:00:00Z"},
        id="Communication Templates › P1: response within 4 hours, then every 4 hours",
    ),
    # Communication Templates › "P1 Response (< 4 hours)" sent at 14:30 (late); "every 4 hours" from it: 18:30.
    pytest.param(
        PAINFUL,
        [ev("14:30", "client_message")],
        "15:00",
        {"client_updates": [update("14:00", "14:30", "breached"), update("18:30", None, "pending")],
         "next_client_update_due": "2026-03-02T18:30:00Z"},
        id="Communication Templates › P1: a late 4-hour response, the next one 4 hours after it",
    ),
    # CRITICAL (P0) "Resolution Target: < 4 hours"; preset reading "Only the resolution clock may pause (waiting
    # on the customer)": one hour paused moves 14:00 to 15:00, the acknowledgment stays at 10:15.
    pytest.param(
        STOPPED,
        [ev("10:30", "paused", clocks=["resolution"]), ev("11:30", "resumed")],
        "12:00",
        {"clocks": {"resolution": clock("15:00", "running", None),
                    "acknowledge": clock("10:15", "breached", None)}},
        id="Severity Levels › CRITICAL (P0) resolution 4h, paused one hour waiting on the customer: 15:00",
    ),
    # Raised P1 -> P0 at 10:20: every target from detection, "P0 Acknowledgment (< 15 min)", "Resolution Target:
    # < 4 hours", all hands "(First 30 minutes)", the P0 communication timeline.
    pytest.param(
        PAINFUL,
        [ev("10:20", "severity_changed", severity="P0")],
        "10:25",
        {"severity": "P0", "red_status": True, "required_level": "L3",
         "escalation_ladder": [step("L3", "10:00", "10:30", None, "pending")],
         "clocks": {"client_notification": clock("10:15", "breached", None),
                    "resolution": clock("14:00", "running", None),
                    "escalation": clock("10:30", "running", None)},
         "client_updates": [update("10:15", None, "breached"), update("10:30", None, "pending"),
                            update("11:00", None, "pending")]},
        id="Severity Levels › raised to CRITICAL (P0): targets and timeline counted from detection",
    ),
    # CRITICAL (P0) "Resolution Target: < 4 hours": reopened at 12:00, it runs on from detection (14:00).
    pytest.param(
        STOPPED,
        [ev("11:00", "resolved"), ev("12:00", "reopened")],
        "13:00",
        {"clocks": {"resolution": clock("14:00", "running", None)}},
        id="Severity Levels › CRITICAL (P0) resolution 4h: a reopened incident runs on from detection",
    ),
]

CLI_CASES = {
    "Severity Levels › CRITICAL (P0): acknowledgment and first message by 15m, response 1h, resolution 4h",
    "Communication Timeline › the 30-minute assessment sent early keeps the 60-minute update at 11:00",
    "Communication Templates › P1: response within 4 hours, then every 4 hours",
}


@pytest.mark.parametrize("answers, events, until, expected", CASES)
def test_replay_spark(answers, events, until, expected):
    check_in_process(document(POLICY, answers, events, until), expected)


@pytest.mark.slow  # starts `python -m core replay` as a subprocess
@pytest.mark.parametrize("answers, events, until, expected", cli_cases(CASES, CLI_CASES))
def test_replay_spark_command(answers, events, until, expected):
    check_cli(document(POLICY, answers, events, until), expected)


def test_spark_cases_are_enough():
    assert_enough(CASES, CLI_CASES)
