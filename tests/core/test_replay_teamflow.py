"""The teamflow preset replayed event by event against teamflow-escalation-policies.md.

Each case is a replay document (answers, events, until) and the parts of the
output its playbook line fixes; the id names the playbook section, the comment
quotes it. Detection is 10:00 UTC on 2026-03-02 (24x7 on-call rotation). A few
cases also run as `python -m core replay` and must print the same JSON.
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
    response,
    step,
    update,
)

POLICY = "teamflow"
BREACH = {"security_breach": True}
OUTAGE = {"complete_outage": True}

CASES = [
    # Security Incident Escalation › "Immediate Actions (0-15 minutes) - Notify Security Team", "Follow-up Actions
    # (15-60 minutes) - Executive Notification: Inform CTO and CEO"; Level 3 "Engineering Manager: ... security
    # incidents"; Level 4 "CTO: Security breaches".
    pytest.param(
        BREACH,
        [ev("10:10", "escalated", level="L3"), ev("10:40", "escalated", level="L4")],
        "10:50",
        {"severity": "P0", "required_level": "L4",
         "escalation_ladder": [step("L3", "10:00", "10:15", "10:10", "met"),
                               step("L4", "10:15", "11:00", "10:40", "met")]},
        id="Security Incident Escalation › security team L3 in 0-15m, CTO/CEO L4 in 15-60m (met)",
    ),
    # Security Incident Escalation › "Immediate Actions (0-15 minutes)": only the security team is due by 10:15;
    # CTO and CEO belong to the "Follow-up Actions (15-60 minutes)", not the first 15 minutes.
    pytest.param(
        BREACH,
        [],
        "10:05",
        {"required_level": "L3",
         "escalation_ladder": [step("L3", "10:00", "10:15", None, "pending"),
                               step("L4", "10:15", "11:00", None, "pending")],
         "clocks": {"escalation": clock("10:15", "running", None)}},
        id="Security Incident Escalation › at 5 minutes: L3 due 10:15, L4 only from 10:15 (pending)",
    ),
    # Security Incident Escalation › "(0-15 minutes) Notify Security Team", "(15-60 minutes) Inform CTO and CEO".
    pytest.param(
        BREACH,
        [ev("10:20", "escalated", level="L3")],
        "11:30",
        {"required_level": "L4",
         "escalation_ladder": [step("L3", "10:00", "10:15", "10:20", "breached"),
                               step("L4", "10:15", "11:00", None, "breached")]},
        id="Security Incident Escalation › security team late (10:20), CTO/CEO never told (breached)",
    ),
    # Escalation Paths › "Level 3: Management - Response Time: 2 hours", "Level 4: Executive - Response Time:
    # 1 hour", each from the escalation to that level.
    pytest.param(
        BREACH,
        [ev("10:10", "escalated", level="L3"), ev("10:40", "escalated", level="L4"),
         ev("11:00", "level_responded", level="L3"), ev("12:00", "level_responded", level="L4")],
        "12:30",
        {"level_response": {"L3": response("12:10", "11:00", "met"),
                            "L4": response("11:40", "12:00", "breached")}},
        id="Escalation Paths › Level 3 responds within 2h (met), Level 4 within 1h (late)",
    ),
    # Escalation Paths › Level 1 "Response Time: 24 hours (Basic)".
    pytest.param(
        {"customer_tier": "basic"},
        [ev("10:00", "escalated", level="L1")],
        "12:00",
        {"severity": "P3", "red_status": False, "required_level": "L1",
         "level_response": {"L1": response("03-03T10:00", None, "running")}},
        id="Escalation Paths › Level 1: Basic plan responds within 24 hours (running)",
    ),
    # Escalation Paths › Level 1 "Response Time: ... 8 hours (Pro)", counted from the escalation at 10:30.
    pytest.param(
        {"customer_tier": "pro"},
        [ev("10:30", "escalated", level="L1"), ev("18:00", "level_responded", level="L1")],
        "19:00",
        {"level_response": {"L1": response("18:30", "18:00", "met")}},
        id="Escalation Paths › Level 1: Pro plan responds within 8 hours of the escalation (met)",
    ),
    # Escalation Paths › Level 1 "Response Time: ... 4 hours (Enterprise)".
    pytest.param(
        {"customer_tier": "enterprise"},
        [ev("10:00", "escalated", level="L1"), ev("14:30", "level_responded", level="L1")],
        "15:00",
        {"level_response": {"L1": response("14:00", "14:30", "breached")}},
        id="Escalation Paths › Level 1: Enterprise plan responds within 4 hours (late)",
    ),
    # Standard Escalation (Within 4 hours) › "Multiple failed resolution attempts"; Escalation Paths › "Level 2:
    # Senior Support - Senior Technical Specialist: Complex technical issues", "Response Time: 4 hours (all plans)".
    pytest.param(
        {"failed_attempts": 2, "customer_tier": "basic"},
        [ev("11:00", "escalated", level="L2"), ev("14:00", "level_responded", level="L2")],
        "16:00",
        {"severity": "P2", "required_level": "L2",
         "escalation_ladder": [step("L2", "10:00", "14:00", "11:00", "met")],
         "level_response": {"L2": response("15:00", "14:00", "met")}},
        id="Escalation Paths › Level 2: senior support responds within 4 hours of the escalation (met)",
    ),
    # Immediate Escalation (Within 15 minutes) › Service Outages; Level 3 "Engineering Manager: System outages",
    # "Response Time: 2 hours": no response recorded by 12:10.
    pytest.param(
        OUTAGE,
        [ev("10:10", "escalated", level="L3")],
        "12:30",
        {"severity": "P0", "required_level": "L3",
         "escalation_ladder": [step("L3", "10:00", "10:15", "10:10", "met")],
         "level_response": {"L3": response("12:10", None, "breached")}},
        id="Escalation Paths › Level 3: Engineering Manager never responds to an outage in 2 hours (breached)",
    ),
    # Legal/Compliance Escalation › "Immediate Actions (0-15 minutes) - Executive Alert: Notify CEO and CTO
    # immediately"; Response Time SLAs "Legal Issues: 30 minutes acknowledgment"; Level 4 "Response Time: 1 hour".
    pytest.param(
        {"legal_compliance": True},
        [ev("10:12", "escalated", level="L4"), ev("11:00", "level_responded", level="L4")],
        "11:30",
        {"severity": "P0", "required_level": "L4",
         "escalation_ladder": [step("L4", "10:00", "10:15", "10:12", "met")],
         "clocks": {"acknowledge": clock("10:30", "breached", None)},
         "level_response": {"L4": response("11:12", "11:00", "met")}},
        id="Legal/Compliance Escalation › CEO and CTO in 0-15m, Level 4 responds within 1 hour (met)",
    ),
    # Security Incident Escalation › "Customer Communication: Acknowledge receipt, avoid details" (0-15 minutes),
    # "Customer Updates: Provide status updates every 30 minutes" (15-60 minutes).
    pytest.param(
        BREACH,
        [ev("10:10", "client_message"), ev("10:40", "client_message")],
        "11:05",
        {"client_updates": [update("10:15", "10:10", "met"), update("10:40", "10:40", "met"),
                            update("11:10", None, "pending")],
         "next_client_update_due": "2026-03-02T11:10:00Z"},
        id="Security Incident Escalation › acknowledgment by 15m, then updates every 30 minutes",
    ),
    # Service Outage Escalation › "Customer Communication: Send service disruption notice" (0-15 minutes),
    # "Regular Updates: Status updates every 15 minutes"; Response Time SLAs "Service Outages: 15 minutes status
    # update".
    pytest.param(
        OUTAGE,
        [ev("10:14", "client_message"), ev("10:29", "client_message")],
        "10:40",
        {"client_updates": [update("10:15", "10:14", "met"), update("10:29", "10:29", "met"),
                            update("10:44", None, "pending")],
         "next_client_update_due": "2026-03-02T10:44:00Z"},
        id="Service Outage Escalation › disruption notice by 15m, then status updates every 15 minutes",
    ),
    # Service Outage Escalation › "Regular Updates: Status updates every 15 minutes": 10:10 + 15 min passed.
    pytest.param(
        OUTAGE,
        [ev("10:10", "client_message")],
        "10:30",
        {"client_updates": [update("10:15", "10:10", "met"), update("10:25", None, "breached")],
         "clocks": {"client_update": clock("10:25", "breached", None)},
         "next_client_update_due": "2026-03-02T10:25:00Z"},
        id="Service Outage Escalation › the 15-minute update after 10:10 is missed (breached)",
    ),
    # Priority Escalation › High-Value Accounts "Customers with >$50k annual contract value", "Potential churn
    # indicators for major accounts": a $5k Basic account's threat is no priority escalation on that ground;
    # Level 1 "Response Time: 24 hours (Basic)".
    pytest.param(
        {"termination_threat": True, "customer_tier": "basic", "annual_contract_value": 5000},
        [],
        "10:30",
        {"severity": "P3", "red_status": False, "required_level": "L1",
         "clocks": {"acknowledge": clock("03-03T10:00", "running", None)}},
        id="Priority Escalation › High-Value Accounts: a small Basic account's termination threat stays P3",
    ),
    # Priority Escalation (Within 1 hour) › High-Value Accounts "Potential churn indicators for major accounts";
    # Level 4 "VP of Customer Success: ... major account management"; Resolution "High Priority: 24 hours".
    pytest.param(
        {"termination_threat": True, "annual_contract_value": 60000},
        [],
        "10:30",
        {"severity": "P1", "required_level": "L4",
         "escalation_ladder": [step("L4", "10:00", "11:00", None, "pending")],
         "clocks": {"resolution": clock("03-03T10:00", "running", None)}},
        id="Priority Escalation › High-Value Accounts: a $60k account's churn threat, VP within 1 hour",
    ),
    # Resolution Time Targets "Critical Issues: 4 hours"; preset reading "Only the resolution clocks may pause
    # (waiting on the customer)": 45 minutes paused move 14:00 to 14:45.
    pytest.param(
        BREACH,
        [ev("11:00", "paused", clocks=["resolution"]), ev("11:45", "resumed")],
        "12:00",
        {"clocks": {"resolution": clock("14:45", "running", None)}},
        id="Resolution Time Targets › Critical 4h, paused 45 minutes waiting on the customer: 14:45",
    ),
    # Severity raised P3 -> P1 at 10:30: "Priority Escalation (Within 1 hour)", "High Priority: 24 hours",
    # all counted from detection.
    pytest.param(
        {"customer_tier": "basic"},
        [ev("10:30", "severity_changed", severity="P1")],
        "10:45",
        {"severity": "P1", "required_level": "L2",
         "escalation_ladder": [step("L2", "10:00", "11:00", None, "pending")],
         "clocks": {"escalation": clock("11:00", "running", None),
                    "resolution": clock("03-03T10:00", "running", None)}},
        id="Escalation Criteria › raised to Priority: escalation within 1 hour of detection, 24h resolution",
    ),
    # Enterprise Customer Issues "Any issue affecting Enterprise customers" (priority); Resolution "High Priority:
    # 24 hours" keeps running from detection after a reopen.
    pytest.param(
        {"customer_tier": "enterprise"},
        [ev("11:00", "resolved"), ev("12:00", "reopened")],
        "13:00",
        {"severity": "P1", "clocks": {"resolution": clock("03-03T10:00", "running", None)}},
        id="Resolution Time Targets › High Priority 24h: a reopened enterprise issue runs on from detection",
    ),
]

CLI_CASES = {
    "Security Incident Escalation › security team L3 in 0-15m, CTO/CEO L4 in 15-60m (met)",
    "Escalation Paths › Level 3 responds within 2h (met), Level 4 within 1h (late)",
    "Service Outage Escalation › disruption notice by 15m, then status updates every 15 minutes",
}


@pytest.mark.parametrize("answers, events, until, expected", CASES)
def test_replay_teamflow(answers, events, until, expected):
    check_in_process(document(POLICY, answers, events, until), expected)


@pytest.mark.slow  # starts `python -m core replay` as a subprocess
@pytest.mark.parametrize("answers, events, until, expected", cli_cases(CASES, CLI_CASES))
def test_replay_teamflow_command(answers, events, until, expected):
    check_cli(document(POLICY, answers, events, until), expected)


def test_teamflow_cases_are_enough():
    assert_enough(CASES, CLI_CASES)
