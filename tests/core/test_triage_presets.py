"""Each preset, case by case, against the numbers of its playbook.

Every case starts from the same detection time, Monday 2025-03-03 09:00 UTC,
and states the whole outcome: severity, red status, escalation category and
level, every deadline as an exact UTC datetime, and which rules explain it.
"""

from datetime import UTC, datetime

import pytest

from core.policy.loading import load_preset
from core.triage.rules import Answers, TriageResult, triage

DETECTED = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    """A UTC datetime; a bare time means that time on the detection day."""
    if "T" not in text:
        text = f"2025-03-03T{text}"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def outcome(result: TriageResult) -> dict:
    return {
        "severity": result.severity,
        "red_status": result.red_status,
        "category": result.escalation_category,
        "level": result.escalation_level,
        "deadlines": result.deadlines,
        "rules": {reason.rule_id for reason in result.reasons},
    }


def expect(severity, red_status, category, level, deadlines, rules):
    return {
        "severity": severity,
        "red_status": red_status,
        "category": category,
        "level": level,
        "deadlines": {clock: utc(moment) for clock, moment in deadlines.items()},
        "rules": set(rules),
    }


def check(policy_name, answers, expected):
    result = triage(Answers(**answers), load_preset(policy_name), DETECTED)
    assert outcome(result) == expected


# Red-status response protocol: ack 15m, notify 30m, mobilise 45m; the first ladder step is due
# within the first hour (Level 1 technical lead "0-1 hour"; Level 3 "4+ hours or Critical");
# critical 4h, high 8h, outages 2h, data issues 6h; updates every 30 min
# (critical) or hourly (high).
RED_P0 = {"acknowledge": "09:15", "client_notification": "09:30", "mobilization": "09:45", "client_update": "09:30"}
RED_P1 = {"acknowledge": "09:15", "client_notification": "09:30", "mobilization": "09:45", "client_update": "10:00"}


@pytest.mark.parametrize(
    "answers, expected",
    [
        pytest.param({}, expect("P3", False, "none", None, {}, ["default"]), id="nothing-reported"),
        pytest.param(
            {"complete_outage": True, "outage_minutes": 90},
            expect("P0", True, "immediate", "L3", {**RED_P0, "resolution": "11:00", "escalation": "10:00"},
                   ["complete-outage-over-1h", "critical-technical-failure", "severity-p0"]),
            id="complete-outage-over-1h",
        ),
        pytest.param(
            {"complete_outage": True, "outage_minutes": 30},
            expect("P1", True, "priority", "L1", {**RED_P1, "resolution": "11:00", "escalation": "10:00"},
                   ["critical-technical-failure", "severity-p1"]),
            id="short-outage-is-red-with-2h-outage-target",
        ),
        pytest.param(
            {"complete_outage": True, "outage_minutes": 300},
            expect("P0", True, "immediate", "L3", {**RED_P0, "resolution": "11:00", "escalation": "10:00"},
                   ["complete-outage-over-1h", "critical-technical-failure", "severity-p0", "l3-outage-over-4h"]),
            id="outage-over-4h-reaches-executives",
        ),
        pytest.param(
            {"data_loss": True},
            # "Critical Issues: 95% resolved within 4 hours", "Data Issues: 100% resolved within 6 hours":
            # both apply, the strictest is the deadline (the 6h data objective is still measured).
            expect("P0", True, "immediate", "L3", {**RED_P0, "resolution": "13:00", "escalation": "10:00"},
                   ["data-loss", "severity-p0", "l3-data-or-security"]),
            id="data-loss-critical-4h-is-stricter-than-data-6h",
        ),
        pytest.param(
            {"data_loss": True, "security_breach": True},
            expect("P0", True, "immediate", "L3", {**RED_P0, "resolution": "13:00", "escalation": "10:00"},
                   ["data-loss", "security-breach", "severity-p0", "l3-data-or-security"]),
            id="data-loss-with-breach-keeps-critical-4h",
        ),
        pytest.param(
            {"termination_threat": True},
            expect("P0", True, "immediate", "L3", {**RED_P0, "resolution": "13:00", "escalation": "10:00"},
                   ["termination-threat", "severity-p0", "l3-termination"]),
            id="termination-threat",
        ),
        pytest.param(
            {"legal_compliance": True, "unresolved_hours": 5},
            expect("P0", True, "immediate", "L3", {**RED_P0, "resolution": "13:00", "escalation": "10:00"},
                   ["legal-compliance", "severity-p0", "l3-legal", "l3-open-4h", "l2-first-fix-failed"]),
            id="legal-compliance",
        ),
        pytest.param(
            {"reputation_risk": "high"},
            expect("P0", True, "immediate", "L3", {**RED_P0, "resolution": "13:00", "escalation": "10:00"},
                   ["public-reputation-risk", "severity-p0", "l3-reputation"]),
            id="public-reputation-risk",
        ),
        pytest.param(
            {"metric_shortfall_pct": 25},
            expect("P1", True, "priority", "L1", {**RED_P1, "resolution": "17:00", "escalation": "10:00"},
                   ["metric-below-target", "severity-p1"]),
            id="metric-more-than-20pct-below",
        ),
        pytest.param(
            {"metric_shortfall_pct": 20, "csat": 7, "uptime_pct": 95},
            expect("P3", False, "none", None, {}, ["default"]),
            id="thresholds-themselves-are-not-red",
        ),
        pytest.param(
            {"csat": 6.5},
            expect("P1", True, "priority", "L2", {**RED_P1, "resolution": "17:00", "escalation": "10:00"},
                   ["low-satisfaction", "severity-p1", "l2-satisfaction-falling"]),
            id="csat-under-7",
        ),
        pytest.param(
            {"uptime_pct": 94.9},
            expect("P1", True, "priority", "L1", {**RED_P1, "resolution": "17:00", "escalation": "10:00"},
                   ["low-uptime", "severity-p1"]),
            id="uptime-under-95",
        ),
        pytest.param(
            {"data_integrity": True},
            expect("P1", True, "priority", "L1", {**RED_P1, "resolution": "15:00", "escalation": "10:00"},
                   ["data-integrity", "severity-p1"]),
            id="data-integrity-6h",
        ),
        pytest.param(
            {"business_impact": "major", "failed_attempts": 1},
            expect("P1", True, "priority", "L2", {**RED_P1, "resolution": "17:00", "escalation": "10:00"},
                   ["operations-significantly-impacted", "severity-p1", "l2-first-fix-failed",
                    "l2-significant-business-impact"]),
            id="operations-impacted-and-first-fix-failed",
        ),
        pytest.param(
            {"multiple_components_failed": True},
            expect("P1", True, "priority", "L2", {**RED_P1, "resolution": "17:00", "escalation": "10:00"},
                   ["multiple-component-failures", "severity-p1", "l2-several-components"]),
            id="multiple-components",
        ),
        pytest.param(
            {"business_impact": "minor"},
            expect("P2", False, "standard", "L1", {"escalation": "10:00"},
                   ["client-reports-urgent-issue", "severity-p2"]),
            id="urgent-but-limited",
        ),
    ],
)
def test_red_status(answers, expected):
    check("red-status", answers, expected)


# SPARK: P0 ack 15m / assessment 30m / response 1h / hourly updates / fix 4h;
# P1 4h response, 4h updates, 24h fix; P2 24h / 1 week; P3 48h ack / 90 days.
# "15 min: Customer acknowledgment", the first message to the customer (the 30 min assessment comes after it).
SPARK_P0 = {"acknowledge": "09:15", "client_notification": "09:15", "mobilization": "10:00",
            "client_update": "10:00", "resolution": "13:00", "escalation": "09:30"}
SPARK_P1 = {"acknowledge": "13:00", "mobilization": "13:00", "client_update": "13:00",
            "resolution": "2025-03-04T09:00", "escalation": "13:00"}
SPARK_P2 = {"acknowledge": "2025-03-04T09:00", "mobilization": "2025-03-04T09:00", "resolution": "2025-03-10T09:00"}
SPARK_P3 = {"acknowledge": "2025-03-05T09:00", "resolution": "2025-06-01T09:00"}


@pytest.mark.parametrize(
    "answers, expected",
    [
        pytest.param({}, expect("P3", False, "none", None, SPARK_P3, ["default"]), id="nothing-reported"),
        pytest.param({"business_impact": "stopped"},
                     expect("P0", True, "immediate", "L3", SPARK_P0, ["business-stopped", "severity-p0"]),
                     id="business-stopped"),
        pytest.param({"revenue_impact_per_hour": 5000, "workaround": "none"},
                     expect("P0", True, "immediate", "L3", SPARK_P0, ["revenue-at-risk", "severity-p0"]),
                     id="revenue-at-immediate-risk"),
        pytest.param({"payment_failure": True},
                     expect("P0", True, "immediate", "L3", SPARK_P0, ["revenue-at-risk", "severity-p0"]),
                     id="payments-failing"),
        pytest.param({"security_breach": True},
                     expect("P0", True, "immediate", "L3", SPARK_P0, ["security-breach", "severity-p0"]),
                     id="security-breach"),
        pytest.param({"termination_threat": True},
                     expect("P0", True, "immediate", "L3", SPARK_P0, ["customer-at-risk", "severity-p0"]),
                     id="customer-at-risk-all-hands"),
        pytest.param({"business_impact": "major"},
                     expect("P1", False, "priority", "L2", SPARK_P1, ["significant-impact", "severity-p1"]),
                     id="significantly-impacted"),
        pytest.param({"revenue_impact_per_hour": 5000, "workaround": "painful"},
                     expect("P1", False, "priority", "L2", SPARK_P1, ["painful-workaround", "severity-p1"]),
                     id="painful-workaround"),
        pytest.param({"data_integrity": True},
                     expect("P1", False, "priority", "L2", SPARK_P1, ["data-or-legal", "severity-p1"]),
                     id="data-integrity"),
        pytest.param({"business_impact": "minor", "workaround": "easy"},
                     expect("P2", False, "standard", "L1", SPARK_P2, ["inconvenienced", "severity-p2"]),
                     id="inconvenienced-with-workaround"),
        pytest.param({"feature_request": True},
                     expect("P3", False, "none", None, SPARK_P3, ["feature-request"]),
                     id="feature-request-in-disguise"),
        pytest.param({"feature_request": True, "business_impact": "stopped"},
                     expect("P0", True, "immediate", "L3", SPARK_P0,
                            ["business-stopped", "feature-request", "severity-p0"]),
                     id="highest-severity-wins"),
    ],
)
def test_spark(answers, expected):
    check("spark", answers, expected)


# Crisis: 0-5 min immediate response, resolution phase ends at 2h; security
# recovery ends at 24h; on-call answers every production issue within 5 min.
CRISIS_P0 = {"acknowledge": "09:05", "client_notification": "09:05", "mobilization": "09:05", "escalation": "09:05"}


@pytest.mark.parametrize(
    "answers, expected",
    [
        pytest.param({"complete_outage": True},
                     expect("P0", True, "immediate", "L3", {**CRISIS_P0, "resolution": "11:00"},
                            ["complete-outage", "severity-p0"]),
                     id="complete-outage"),
        pytest.param({"security_breach": True},
                     expect("P0", True, "immediate", "L4", {**CRISIS_P0, "resolution": "2025-03-04T09:00"},
                            ["security-breach", "severity-p0", "l4-cto-security-regulatory"]),
                     id="security-breach-24h-recovery"),
        pytest.param({"security_breach": True, "complete_outage": True},
                     expect("P0", True, "immediate", "L4", {**CRISIS_P0, "resolution": "11:00"},
                            ["security-breach", "complete-outage", "severity-p0", "l4-cto-security-regulatory"]),
                     id="breach-with-outage-keeps-2h"),
        pytest.param({"payment_failure": True},
                     expect("P0", True, "immediate", "L3", {**CRISIS_P0, "resolution": "11:00"},
                            ["payment-failure", "severity-p0"]),
                     id="payment-failure"),
        pytest.param({"legal_compliance": True},
                     expect("P0", True, "immediate", "L4", {**CRISIS_P0, "resolution": "11:00"},
                            ["legal-violation", "severity-p0", "l4-cto-security-regulatory"]),
                     id="regulatory-violation"),
        pytest.param({"data_loss": True},
                     expect("P0", True, "immediate", "L3", {**CRISIS_P0, "resolution": "11:00"},
                            ["data-loss", "severity-p0"]),
                     id="data-loss-workflow"),
        pytest.param({"complete_outage": True, "outage_minutes": 300},
                     expect("P0", True, "immediate", "L3", {**CRISIS_P0, "resolution": "11:00"},
                            ["complete-outage", "severity-p0", "l2-over-1h", "l3-over-4h"]),
                     id="outage-over-4h"),
        pytest.param({"users_affected_pct": 60},
                     expect("P1", False, "priority", "L1", {"acknowledge": "09:05"},
                            ["most-users-affected", "some-users-affected", "severity-p1"]),
                     id="over-half-the-users"),
        # "> 50%" is P1 and "< 50%" is P2: exactly half is in neither; the preset takes the urgent side.
        pytest.param({"users_affected_pct": 50},
                     expect("P1", False, "priority", "L1", {"acknowledge": "09:05"},
                            ["most-users-affected", "some-users-affected", "severity-p1"]),
                     id="exactly-half-the-users-is-p1"),
        pytest.param({"users_affected_pct": 49.9},
                     expect("P2", False, "standard", "L1", {"acknowledge": "09:05"},
                            ["some-users-affected", "severity-p2"]),
                     id="just-under-half-the-users-is-p2"),
        pytest.param({"system_affected": "core", "unresolved_hours": 2},
                     expect("P1", False, "priority", "L2", {"acknowledge": "09:05"},
                            ["major-feature-down", "severity-p1", "l2-over-1h"]),
                     id="major-feature-down-over-1h"),
        pytest.param({"data_integrity": True},
                     expect("P1", False, "priority", "L1", {"acknowledge": "09:05"},
                            ["data-integrity", "severity-p1"]),
                     id="data-integrity-concern"),
        pytest.param({"termination_threat": True},
                     expect("P1", False, "priority", "L4", {"acknowledge": "09:05"},
                            ["business-or-reputation-risk", "severity-p1", "l4-ceo-public-or-business"]),
                     id="major-business-impact-to-ceo"),
        pytest.param({"users_affected_pct": 30},
                     expect("P2", False, "standard", "L1", {"acknowledge": "09:05"},
                            ["some-users-affected", "severity-p2"]),
                     id="under-half-the-users"),
        pytest.param({"cosmetic": True},
                     expect("P3", False, "none", None, {}, ["cosmetic-or-enhancement"]),
                     id="cosmetic"),
    ],
)
def test_crisis(answers, expected):
    check("crisis", answers, expected)


# Growth engine: response 5m/15m/1h/4h, resolution 2h/4h/8h/24h, maximum
# 4h/8h/24h/48h, escalation immediate L4 / L3 in 1h / L2 in 2h / L1 in 4h.
GROWTH_P0 = {"acknowledge": "09:05", "resolution": "11:00", "resolution_max": "13:00", "escalation": "09:00"}
GROWTH_P1 = {"acknowledge": "09:15", "resolution": "13:00", "resolution_max": "17:00", "escalation": "10:00"}
GROWTH_P2 = {"acknowledge": "10:00", "resolution": "17:00", "resolution_max": "2025-03-04T09:00", "escalation": "11:00"}
GROWTH_P3 = {"acknowledge": "13:00", "resolution": "2025-03-04T09:00", "resolution_max": "2025-03-05T09:00",
             "escalation": "13:00"}


@pytest.mark.parametrize(
    "answers, expected",
    [
        pytest.param({}, expect("P3", False, "none", "L1", GROWTH_P3, ["default", "severity-p3"]),
                     id="nothing-reported"),
        pytest.param({"complete_outage": True},
                     expect("P0", True, "immediate", "L4", GROWTH_P0, ["system-down", "severity-p0"]),
                     id="system-down"),
        pytest.param({"security_breach": True},
                     expect("P0", True, "immediate", "L4", GROWTH_P0,
                            ["security-breach", "severity-p0", "l3-security"]),
                     id="security-breach"),
        pytest.param({"data_loss": True},
                     expect("P0", True, "immediate", "L4", GROWTH_P0,
                            ["production-data-loss", "severity-p0", "l3-data-integrity"]),
                     id="production-data-loss"),
        pytest.param({"business_impact": "major"},
                     expect("P1", False, "priority", "L3", GROWTH_P1, ["major-functionality-impaired", "severity-p1"]),
                     id="major-functionality"),
        pytest.param({"data_integrity": True},
                     expect("P1", False, "priority", "L3", GROWTH_P1,
                            ["major-functionality-impaired", "severity-p1", "l3-data-integrity"]),
                     id="data-integrity"),
        pytest.param({"business_impact": "minor"},
                     expect("P2", False, "standard", "L2", GROWTH_P2, ["minor-functionality-impaired", "severity-p2"]),
                     id="minor-functionality"),
        # "Level 4 Escalation: executive decision required": a case that needs executives is at least
        # P1 under this preset (its severity floor), whatever the functional impact.
        pytest.param({"business_impact": "minor", "management_requested": True},
                     expect("P1", False, "priority", "L4", GROWTH_P1,
                            ["floor-l4-executive-requested", "minor-functionality-impaired", "severity-p1",
                             "l4-executive-requested"]),
                     id="executive-involvement-required-is-at-least-p1"),
        pytest.param({"business_impact": "minor", "unresolved_hours": 8},
                     expect("P2", False, "standard", "L4", GROWTH_P2,
                            ["minor-functionality-impaired", "severity-p2", "l2-open-30m", "l3-open-2h",
                             "l4-open-8h"]),
                     id="open-8h-reaches-executives"),
        pytest.param({"workaround": "easy"},
                     expect("P3", False, "none", "L1", GROWTH_P3, ["minimal-impact", "severity-p3"]),
                     id="minimal-impact"),
        pytest.param({"workaround": "easy", "unresolved_hours": 0.5},
                     expect("P3", False, "none", "L2", GROWTH_P3, ["minimal-impact", "severity-p3", "l2-open-30m"]),
                     id="level-1-ran-out-of-30-minutes"),
        # "Level 2 Escalation: requires advanced technical knowledge" needs Level 2, and the least
        # severe severity that needs Level 2 is P2 ("Escalation: Level 2 within 2 hours").
        pytest.param({"workaround": "easy", "quick_fix": "no"},
                     expect("P2", False, "standard", "L2", GROWTH_P2,
                            ["floor-l2-needs-advanced-skills", "minimal-impact", "severity-p2",
                             "l2-needs-advanced-skills"]),
                     id="needs-advanced-knowledge-is-at-least-p2"),
    ],
)
def test_growth_engine(answers, expected):
    check("growth-engine", answers, expected)


def test_growth_engine_response_table_per_severity_and_level():
    policy = load_preset("growth-engine")
    table = {
        level.id: {sev: int(level.response.pick(severity=sev).total_seconds() // 60)
                   for sev in ("P0", "P1", "P2", "P3")}
        for level in policy.escalation_levels
    }
    assert table == {
        "L1": {"P0": 5, "P1": 15, "P2": 60, "P3": 240},
        "L2": {"P0": 15, "P1": 30, "P2": 120, "P3": 480},
        "L3": {"P0": 30, "P1": 60, "P2": 240, "P3": 1440},
        "L4": {"P0": 60, "P1": 120, "P2": 480, "P3": 2880},
    }


# TeamFlow: immediate 15m / priority 1h / standard 4h; security 15m with 30-min
# updates, outages 15-min updates, legal 30m acknowledgment, enterprise 1h,
# standard 4h; resolution 4h / 24h / 72h, complex 1 week with daily updates;
# first-line response 24h basic / 8h pro / 4h enterprise.
TF_P0 = {"acknowledge": "09:15", "client_update": "09:30", "resolution": "13:00", "escalation": "09:15"}
TF_P1 = {"acknowledge": "10:00", "resolution": "2025-03-04T09:00", "escalation": "10:00"}
TF_P2 = {"acknowledge": "13:00", "resolution": "2025-03-06T09:00", "escalation": "13:00"}
TF_COMPLEX = {"client_update": "2025-03-04T09:00", "resolution_max": "2025-03-10T09:00"}


@pytest.mark.parametrize(
    "answers, expected",
    [
        pytest.param({"security_breach": True},
                     expect("P0", True, "immediate", "L4", TF_P0,
                            ["security-incident", "severity-p0", "l3-outage-or-security", "l4-security-breach"]),
                     id="security-incident"),
        pytest.param({"complete_outage": True},
                     expect("P0", True, "immediate", "L3", {**TF_P0, "client_update": "09:15"},
                            ["service-outage", "severity-p0", "l3-outage-or-security"]),
                     id="outage-updates-every-15m"),
        pytest.param({"other_customers_affected": "yes", "business_impact": "stopped"},
                     expect("P0", True, "immediate", "L3", {**TF_P0, "client_update": "09:15"},
                            ["service-outage", "core-functionality-bug", "severity-p0"]),
                     id="platform-wide-disruption"),
        pytest.param({"legal_compliance": True},
                     expect("P0", True, "immediate", "L4", {**TF_P0, "acknowledge": "09:30"},
                            ["legal-compliance", "severity-p0", "l4-legal"]),
                     id="legal-acknowledged-in-30m"),
        pytest.param({"legal_compliance": True, "security_breach": True},
                     expect("P0", True, "immediate", "L4", TF_P0,
                            ["legal-compliance", "security-incident", "severity-p0", "l3-outage-or-security",
                             "l4-security-breach", "l4-legal"]),
                     id="legal-with-breach-keeps-15m"),
        pytest.param({"customer_tier": "enterprise"},
                     expect("P1", False, "priority", "L4", TF_P1,
                            ["enterprise-customer", "severity-p1", "l4-enterprise"]),
                     id="enterprise-customer"),
        pytest.param({"refund_amount": 1500},
                     expect("P1", False, "priority", "L3", TF_P1,
                            ["large-refund", "severity-p1", "l2-refund-approval", "l3-finance"]),
                     id="refund-over-1000"),
        pytest.param({"refund_amount": 1000},
                     expect("P3", False, "none", "L2", {"acknowledge": "13:00"},
                            ["default", "severity-p3", "l2-refund-approval"]),
                     id="refund-of-exactly-1000-is-not-priority"),
        pytest.param({"annual_contract_value": 60000, "customer_tier": "pro"},
                     expect("P1", False, "priority", "L2", TF_P1, ["high-value-account", "severity-p1"]),
                     id="acv-over-50k"),
        pytest.param({"termination_threat": True, "annual_contract_value": 60000},
                     expect("P1", False, "priority", "L4", TF_P1,
                            ["high-value-account", "churn-risk", "severity-p1", "l4-major-account-churn"]),
                     id="major-account-may-churn"),
        # "Potential churn indicators for major accounts" (High-Value Accounts): a small account's threat is
        # not a priority escalation on that ground.
        pytest.param({"termination_threat": True, "customer_tier": "basic", "annual_contract_value": 5000},
                     expect("P3", False, "none", "L1", {"acknowledge": "2025-03-04T09:00"},
                            ["default", "severity-p3"]),
                     id="small-account-threat-is-not-a-major-account-churn"),
        pytest.param({"termination_threat": True, "customer_tier": "enterprise"},
                     expect("P1", False, "priority", "L4", TF_P1,
                            ["enterprise-customer", "churn-risk", "severity-p1", "l4-enterprise"]),
                     id="enterprise-account-may-churn"),
        pytest.param({"unresolved_hours": 30, "customer_tier": "basic"},
                     expect("P2", False, "standard", "L2", {**TF_P2, **TF_COMPLEX},
                            ["unresolved-after-24h", "severity-p2", "l2-complex-technical"]),
                     id="unresolved-after-24h-is-complex"),
        pytest.param({"failed_attempts": 2, "complete_outage": True},
                     expect("P0", True, "immediate", "L3",
                            {**TF_P0, "client_update": "09:15", "resolution_max": "2025-03-10T09:00"},
                            ["service-outage", "repeated-failed-fixes", "severity-p0", "l3-outage-or-security",
                             "l2-complex-technical"]),
                     id="complex-outage-keeps-15m-updates"),
        pytest.param({"management_requested": True, "customer_tier": "basic"},
                     expect("P2", False, "standard", "L3", TF_P2,
                            ["management-requested", "severity-p2", "l3-service-quality"]),
                     id="asks-for-management"),
        pytest.param({"feature_request": True, "customer_tier": "pro"},
                     expect("P2", False, "standard", "L2", TF_P2,
                            ["pro-feature-request", "severity-p2", "l2-feature-request"]),
                     id="pro-feature-request"),
        pytest.param({"feature_request": True, "customer_tier": "basic"},
                     expect("P3", False, "none", "L1", {"acknowledge": "2025-03-04T09:00"}, ["default", "severity-p3"]),
                     id="basic-plan-first-line-24h"),
        pytest.param({"customer_tier": "pro"},
                     expect("P3", False, "none", "L1", {"acknowledge": "17:00"}, ["default", "severity-p3"]),
                     id="pro-plan-first-line-8h"),
        pytest.param({},
                     expect("P3", False, "none", "L1", {"acknowledge": "13:00"}, ["default", "severity-p3"]),
                     id="unknown-plan-takes-the-strictest-4h"),
    ],
)
def test_teamflow(answers, expected):
    check("teamflow", answers, expected)


# Default synthesis.
DEFAULT_P0 = {"acknowledge": "09:15", "client_notification": "09:30", "mobilization": "09:45",
              "client_update": "09:30", "resolution": "13:00", "escalation": "09:15"}
DEFAULT_P1 = {"acknowledge": "10:00", "client_update": "13:00", "resolution": "2025-03-04T09:00", "escalation": "10:00"}
DEFAULT_P2 = {"acknowledge": "13:00", "client_update": "2025-03-04T09:00", "resolution": "2025-03-06T09:00",
              "resolution_max": "2025-03-10T09:00", "escalation": "13:00"}


@pytest.mark.parametrize(
    "answers, expected",
    [
        pytest.param({}, expect("P3", False, "none", "L1",
                                {"acknowledge": "2025-03-05T09:00", "resolution": "2025-06-01T09:00"},
                                ["default", "severity-p3"]), id="nothing-reported"),
        pytest.param({"complete_outage": True},
                     expect("P0", True, "immediate", "L4", {**DEFAULT_P0, "resolution": "11:00"},
                            ["complete-outage", "severity-p0"]),
                     id="outage-2h"),
        pytest.param({"data_loss": True},
                     expect("P0", True, "immediate", "L4", {**DEFAULT_P0, "resolution": "15:00"},
                            ["data-loss", "severity-p0"]),
                     id="data-loss-6h"),
        pytest.param({"security_breach": True},
                     expect("P0", True, "immediate", "L4", DEFAULT_P0,
                            ["security-breach", "severity-p0", "l4-executive-matters"]),
                     id="security-breach"),
        pytest.param({"csat": 5},
                     expect("P1", True, "priority", "L2", DEFAULT_P1, ["account-health-red", "severity-p1"]),
                     id="red-account-health"),
        pytest.param({"annual_contract_value": 75000},
                     expect("P1", True, "priority", "L2", DEFAULT_P1, ["high-stakes-money", "severity-p1"]),
                     id="large-account"),
        pytest.param({"business_impact": "minor"},
                     expect("P2", False, "standard", "L1", DEFAULT_P2, ["inconvenienced", "severity-p2"]),
                     id="inconvenienced"),
        # Open 8 hours or more needs the executives (L4), and an incident that needs executives is at
        # least P1 under the default policy (its severity floor).
        pytest.param({"unresolved_hours": 30},
                     expect("P1", True, "priority", "L4", DEFAULT_P1,
                            ["dragging-on", "floor-l4-executive-matters", "severity-p1", "l2-no-quick-fix",
                             "l3-open-4h", "l4-executive-matters"]),
                     id="dragging-on-needs-executives-so-p1"),
    ],
)
def test_default(answers, expected):
    check("default", answers, expected)


def test_result_json_has_exactly_the_cli_shape():
    result = triage(Answers(complete_outage=True), load_preset("crisis"), DETECTED)
    assert result.to_json() == {
        "policy": "crisis",
        "severity": "P0",
        "red_status": True,
        "escalation_category": "immediate",
        "escalation_level": "L3",
        "reasons": [
            {
                "text": "The service is completely unavailable to the customer.",
                "section": "Crisis Classification Matrix › Critical (P0)",
                "rule_id": "complete-outage",
                "outcome": "severity P0",
            },
            {
                "text": "Every P0 (Critical) incident falls in the 'immediate' escalation category "
                "and must reach L3 (VP Engineering).",
                "section": "Crisis Detection and Classification › Crisis Classification Matrix",
                "rule_id": "severity-p0",
                "outcome": "immediate escalation; level L3",
            },
        ],
        "deadlines": {
            "acknowledge": "2025-03-03T09:05:00+00:00",
            "client_notification": "2025-03-03T09:05:00+00:00",
            "mobilization": "2025-03-03T09:05:00+00:00",
            "resolution": "2025-03-03T11:00:00+00:00",
            "escalation": "2025-03-03T09:05:00+00:00",
        },
    }


def test_detection_time_in_another_zone_gives_utc_deadlines():
    detected = datetime.fromisoformat("2025-03-03T10:00:00+01:00")
    result = triage(Answers(complete_outage=True), load_preset("crisis"), detected)
    assert result.deadlines["resolution"] == utc("11:00")


def test_naive_detection_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        triage(Answers(), load_preset("spark"), datetime(2025, 3, 3, 9, 0))


def test_checklist_metadata_covers_every_answer_once():
    from core.triage.rules import ANSWER_FIELDS, FIELD_HELP, FIELD_LABELS

    grouped = [name for _title, names in ANSWER_FIELDS for name in names]
    assert [title for title, _names in ANSWER_FIELDS] == [
        "Account", "Customer impact", "Technical assessment", "Red flags", "Figures",
    ]
    assert sorted(grouped) == sorted(Answers.model_fields)
    assert len(grouped) == len(set(grouped))
    assert set(FIELD_LABELS) == set(FIELD_HELP) == set(Answers.model_fields)
