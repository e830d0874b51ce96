"""Which level an incident must be at, by when, and what comes next, preset by preset.

Every case starts from the same detection time, Monday 2025-03-03 09:00 UTC.
The incident is triaged from the answers (which gives its severity, targets
and triage-time level), then looked at `now` with the level it has reached so
far. Each row states the whole outcome: required level, overdue, due time,
next time-based level and when it falls due.
"""

from datetime import UTC, datetime, timedelta

import pytest

from core.incident.escalation import EscalationStatus, escalation_status, handoff_summary
from core.policy.loading import PRESET_DIR, load_preset, parse_policy
from core.sla.clocks import IncidentFacts, Pause
from core.triage.rules import Answers, triage

DETECTED = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def utc(text: str | None) -> datetime | None:
    """A UTC datetime; a bare time means that time on the detection day."""
    if text is None:
        return None
    if "T" not in text:
        text = f"2025-03-03T{text}"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def status_at(policy, answers: dict, now: str, *, current=None, resolved=None, tier=None, pauses=(),
              detected=DETECTED, triage_level="from-triage") -> EscalationStatus:
    if isinstance(policy, str):
        policy = load_preset(policy)
    checked = Answers(**answers)
    result = triage(checked, policy, detected)
    facts = IncidentFacts(
        severity=result.severity, tier=tier, detected_at=detected, current_level=current,
        resolved_at=utc(resolved), pauses=tuple(pauses), targets=result.targets,
    )
    level = result.escalation_level if triage_level == "from-triage" else triage_level
    return escalation_status(facts=facts, policy=policy, answers=checked, triage_level=level, now=utc(now))


def outcome(status: EscalationStatus) -> tuple:
    return (status.required_level, status.overdue, status.due_at, status.next_level, status.next_due_at)


def expect(required, overdue, due_at, next_level, next_due_at) -> tuple:
    return (required, overdue, utc(due_at), next_level, utc(next_due_at))


def case(policy, answers, now, expected, *, current=None, resolved=None, tier=None, id):
    return pytest.param(policy, answers, now, current, resolved, tier, expected, id=id)


P1_MAJOR = {"business_impact": "major"}


@pytest.mark.parametrize(
    "policy, answers, now, current, resolved, tier, expected",
    [
        # growth-engine: P1 must reach L3 within 1h, P0 goes to L4 at once (0m);
        # time triggers L2 at 30m, L3 at 2h, L4 at 8h unresolved; a missed
        # resolution target (P1 4h) moves the case up one level.
        case("growth-engine", P1_MAJOR, "09:30", expect("L3", False, "10:00", "L4", "13:00"), id="ge-p1-l3-within-1h"),
        case("growth-engine", P1_MAJOR, "10:00", expect("L3", False, "10:00", "L4", "13:00"),
             current="L2", id="ge-p1-due-this-minute-is-not-late"),
        case("growth-engine", P1_MAJOR, "10:01", expect("L3", True, "10:00", "L4", "13:00"),
             current="L2", id="ge-p1-overdue-below-l3"),
        case("growth-engine", P1_MAJOR, "10:30", expect("L3", False, None, "L4", "13:00"),
             current="L3", id="ge-p1-at-l3-not-overdue"),
        case("growth-engine", P1_MAJOR, "13:01", expect("L4", True, "13:00", None, None),
             current="L3", id="ge-p1-resolution-missed-one-level-up"),
        case("growth-engine", P1_MAJOR, "13:30", expect("L4", False, None, None, None),
             current="L4", id="ge-p1-already-at-top"),
        case("growth-engine", P1_MAJOR, "14:00", expect("L3", False, None, None, None),
             current="L2", resolved="12:00", id="ge-p1-resolved-requires-nothing-more"),
        case("growth-engine", {"complete_outage": True}, "09:00", expect("L4", False, "09:00", None, None),
             id="ge-p0-l4-immediately"),
        case("growth-engine", {"complete_outage": True}, "09:01", expect("L4", True, "09:00", None, None),
             current="L3", id="ge-p0-late-one-minute-after"),
        # P2: "Level 2 within 2 hours"; the tier's own "escalate if not resolved in 30 min" is
        # measured from reaching L1, and the severity's time wins where both apply. The next
        # step is the missed 8h resolution target (escalate_on_breach).
        case("growth-engine", {"business_impact": "minor"}, "10:00", expect("L2", False, "11:00", "L3", "17:00"),
             current="L1", id="ge-p2-severity-time-wins-over-the-l1-tier"),
        # P3: "Level 1 within 4 hours"; nothing else is due before its 24h resolution target.
        case("growth-engine", {"feature_request": True}, "09:10",
             expect("L1", False, "13:00", "L2", "2025-03-04T09:00"), id="ge-p3-l1-within-4h"),
        case("growth-engine", {"security_breach": True}, "09:00", expect("L4", False, "09:00", None, None),
             id="ge-security-breach-p0"),
        # red-status: L1 technical lead in the first hour, L2 management in hours 1-4, L3 after
        # 4h; the executives within the first hour for a critical (P0) incident.
        case("red-status", {"uptime_pct": 90}, "09:30", expect("L1", False, "10:00", "L2", "10:00"),
             id="rs-p1-starts-at-l1-next-l2-at-1h"),
        case("red-status", {"uptime_pct": 90}, "09:59", expect("L1", False, None, "L2", "10:00"),
             current="L1", id="rs-p1-at-l1"),
        case("red-status", {"uptime_pct": 90}, "10:30", expect("L2", False, "13:00", "L3", "13:00"),
             current="L1", id="rs-p1-l2-in-hours-1-to-4"),
        case("red-status", {"uptime_pct": 90}, "13:30", expect("L3", True, "13:00", None, None),
             current="L2", id="rs-p1-l3-after-4h"),
        case("red-status", {"uptime_pct": 90}, "13:30", expect("L3", False, None, None, None),
             current="L3", id="rs-p1-at-l3"),
        case("red-status", {"uptime_pct": 90}, "13:30", expect("L2", False, None, None, None),
             current="L2", resolved="12:00", id="rs-p1-resolved-before-4h"),
        case("red-status", {"security_breach": True}, "09:05", expect("L3", False, "10:00", None, None),
             id="rs-security-breach-l3-in-the-first-hour"),
        case("red-status", {"data_loss": True}, "09:05", expect("L3", False, "10:00", None, None),
             current="L1", id="rs-data-loss-l3-in-the-first-hour"),
        case("red-status", {"termination_threat": True}, "10:01", expect("L3", True, "10:00", None, None),
             current="L2", id="rs-termination-threat-l3-late"),
        case("red-status", {"business_impact": "minor"}, "09:30", expect("L1", False, "10:00", "L2", "10:00"),
             id="rs-p2-l1-within-1h"),
        # teamflow: no time triggers; immediate 15m, priority 1h, standard 4h.
        case("teamflow", {"complete_outage": True}, "09:20", expect("L3", True, "09:15", None, None),
             current="L2", id="tf-outage-engineering-manager-15m"),
        # Security: the security team (L3) within 15 minutes, the CTO and CEO (L4) in the
        # 15-60 minute follow-up.
        case("teamflow", {"security_breach": True}, "09:10", expect("L3", False, "09:15", "L4", "09:15"),
             current="L1", id="tf-security-breach-security-team-first"),
        case("teamflow", {"security_breach": True}, "09:20", expect("L4", False, "10:00", None, None),
             current="L3", id="tf-security-breach-cto-ceo-in-the-follow-up"),
        case("teamflow", {"security_breach": True}, "10:01", expect("L4", True, "10:00", None, None),
             current="L3", id="tf-security-breach-cto-ceo-late"),
        case("teamflow", {"customer_tier": "enterprise"}, "09:30", expect("L4", False, "10:00", None, None),
             tier="enterprise", id="tf-enterprise-vp-within-1h"),
        case("teamflow", {"failed_attempts": 2}, "13:01", expect("L2", True, "13:00", None, None),
             current="L1", id="tf-complex-senior-within-4h"),
        case("teamflow", {}, "17:00", expect("L1", False, None, None, None), id="tf-p3-no-escalation-deadline"),
        # crisis: on-call, Engineering Manager after 1h, VP after 4h, CTO/CEO by kind.
        case("crisis", {"complete_outage": True}, "09:10", expect("L3", True, "09:05", None, None),
             current="L1", id="cr-p0-vp-within-5m"),
        case("crisis", P1_MAJOR, "09:30", expect("L1", False, None, "L2", "10:00"), id="cr-p1-on-call"),
        case("crisis", P1_MAJOR, "10:30", expect("L2", True, "10:00", "L3", "13:00"),
             current="L1", id="cr-p1-manager-after-1h"),
        case("crisis", {"security_breach": True}, "09:04", expect("L4", False, "09:05", None, None),
             id="cr-security-cto"),
        # spark: all hands within 30m (P0), a dedicated person within 4h (P1).
        case("spark", {"business_impact": "stopped"}, "09:45", expect("L3", True, "09:30", None, None),
             current="L2", id="sp-p0-all-hands-30m"),
        case("spark", {"workaround": "painful"}, "12:00", expect("L2", False, "13:00", None, None),
             current="L1", id="sp-p1-dedicated-person-4h"),
        case("spark", {"feature_request": True}, "12:00", expect(None, False, None, None, None),
             id="sp-p3-no-escalation"),
        # default: L2 after 1h, L3 after 4h, L4 after 8h; P0 to L4 within 15m.
        case("default", {"complete_outage": True}, "09:16", expect("L4", True, "09:15", None, None),
             current="L3", id="df-p0-executive-15m"),
        case("default", P1_MAJOR, "09:30", expect("L2", False, "10:00", "L3", "13:00"), id="df-p1-l2-within-1h"),
        case("default", {"business_impact": "minor"}, "10:30", expect("L2", True, "10:00", "L3", "13:00"),
             current="L1", id="df-p2-l2-after-1h"),
        # A P3 is planned work: it climbs no ladder by time (red-status and crisis limit theirs to
        # P0-P2). Its L1 has no due time; the next step is its 90-day resolution target.
        case("default", {"feature_request": True}, "17:30", expect("L1", False, None, None, None),
             current="L1", id="df-p3-climbs-no-ladder-by-time"),
    ],
)
def test_escalation_status(policy, answers, now, current, resolved, tier, expected):
    status = status_at(policy, answers, now, current=current, resolved=resolved, tier=tier)
    assert outcome(status) == expected
    assert status.current_level == current


def test_reasons_name_each_level_and_section():
    status = status_at("growth-engine", P1_MAJOR, "11:30", current="L3")
    assert status.reasons == [
        "L3 (Expert support): Every P1 (High) incident must reach this level. "
        "[Escalation Matrix › Severity Levels › P1]",
    ]


def test_each_tier_has_its_own_time_from_when_it_took_the_case():
    # growth-engine Support Tiers: L1 escalates if not resolved in 30 minutes, L2 in 2 hours,
    # L3 in 8 hours, each measured from reaching that tier; a P2 needs L2 within 2h by severity.
    policy = load_preset("growth-engine")
    checked = Answers(business_impact="minor")
    result = triage(checked, policy, DETECTED)
    facts = IncidentFacts(severity=result.severity, tier=None, detected_at=DETECTED, current_level="L2",
                          targets=result.targets, escalations=(("L1", utc("09:05")), ("L2", utc("09:40"))))
    status = escalation_status(facts=facts, policy=policy, answers=checked, triage_level="L2", now=utc("11:45"))
    assert (status.required_level, status.overdue, status.due_at) == ("L3", True, utc("11:40"))
    assert [(s.level, s.start, s.due, s.reached_at, s.state.value, s.kind) for s in status.ladder] == [
        ("L2", DETECTED, utc("11:00"), utc("09:40"), "met", "condition"),
        ("L3", utc("11:40"), utc("11:40"), None, "breached", "tier"),
    ]
    assert status.reasons[0] == ("L3 (Expert support): L2 (Advanced support) has had 2h since it took the case "
                                 "(from 2025-03-03 11:40 UTC). [Support Tiers › Level 2]")


def test_reasons_for_conditions_and_a_missed_target():
    status = status_at("red-status", {"data_loss": True}, "09:05")
    assert status.reasons == [
        "L3 (Executive crisis response): Every P0 (Critical) incident must reach this level. A critical "
        "incident needs the executives in its first hour (Level 3: 4+ hours or Critical). "
        "[Trigger Conditions › Emergency Escalation Triggers]",
        "L3 (Executive crisis response): Data was lost or security was breached. [Escalation Matrix › Level 3]",
    ]
    late = status_at("growth-engine", P1_MAJOR, "13:01", current="L3")
    assert late.reasons[0] == (
        "L4 (Executive escalation): The 'Resolve' target was missed at 2025-03-03 13:00 UTC; "
        "the policy moves the case up one level. [Support Tiers › Level 4]"
    )


def test_contacts_are_those_of_the_required_level():
    policy = load_preset("growth-engine")
    status = status_at(policy, P1_MAJOR, "09:30")
    assert status.contacts == policy.level("L3").contacts
    assert [(c.role, c.email, c.phone, c.channel) for c in status.contacts] == [
        ("Level 3 support", "expert-support@hotdash.com", "+1-555-EXPERT", "#expert-support")
    ]
    assert status_at("spark", {"feature_request": True}, "12:00").contacts == ()


@pytest.mark.parametrize(
    "pauses, now, expected",
    [
        # The resolution target moves out by the pause (13:00 -> 15:00), and with it the breach escalation.
        pytest.param([Pause(utc("10:00"), utc("12:00"))], "13:30", expect("L3", False, None, "L4", "15:00"),
                     id="pause-moves-the-breach"),
        # While paused the breach moment is not fixed: only the 8h time trigger is certain.
        pytest.param([Pause(utc("12:00"))], "13:30", expect("L3", False, None, "L4", "17:00"),
                     id="paused-clock-is-not-a-next-step"),
    ],
)
def test_escalate_on_breach_follows_the_resolution_clock(pauses, now, expected):
    status = status_at("growth-engine", P1_MAJOR, now, current="L3", pauses=pauses)
    assert outcome(status) == expected


def test_breach_raises_from_the_required_level_not_the_current_one():
    # Escalating to L4 in answer to the breach must not demand a fifth level.
    assert outcome(status_at("growth-engine", P1_MAJOR, "13:30", current="L4")) == expect("L4", False, None, None, None)
    # Resolved before the target: no breach, no escalation for it.
    assert outcome(status_at("growth-engine", P1_MAJOR, "14:00", current="L3", resolved="12:59")) == (
        expect("L3", False, None, None, None)
    )


def test_level_recorded_at_triage_still_counts():
    status = status_at("spark", {"feature_request": True}, "09:30", triage_level="L2")
    assert outcome(status) == expect("L2", False, None, None, None)
    assert status.reasons == [
        "L2 (Dedicated person): Set at triage. [Emergency Response Protocol › Stage 2 Response › P1]"]


def test_next_step_skips_levels_already_reached():
    # Escalated to L3 early: the L2 and L3 time triggers will not ask for anything.
    status = status_at("red-status", {"uptime_pct": 90}, "09:30", current="L3")
    assert outcome(status) == expect("L1", False, None, None, None)


BUSINESS_HOURS_ESCALATION = """
calendars:
  default: 24x7
  escalation:
    kind: business_hours
    tz: Europe/Paris
    hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"],
            thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
    holidays: [2025-03-10]
"""


def business_hours_default():
    text = (PRESET_DIR / "default.yaml").read_text(encoding="utf-8")
    assert "calendars:\n  default: 24x7\n" in text
    return parse_policy(text.replace("calendars:\n  default: 24x7\n", BUSINESS_HOURS_ESCALATION), "custom.yaml")


def test_time_triggers_run_on_the_escalation_calendar():
    # Friday 2025-03-07 15:30 UTC is 16:30 in Paris: half an hour of the L2
    # trigger's hour is left on Friday; Monday the 10th is a holiday, so the
    # rest runs on Tuesday from 09:00 Paris (08:00 UTC).
    policy = business_hours_default()
    friday = datetime(2025, 3, 7, 15, 30, tzinfo=UTC)
    checked = Answers(business_impact="minor")
    result = triage(checked, policy, friday)
    facts = IncidentFacts(severity=result.severity, tier=None, detected_at=friday, current_level="L1",
                          targets=result.targets)

    def at(now):
        return outcome(escalation_status(facts=facts, policy=policy, answers=checked,
                                         triage_level=result.escalation_level, now=now))

    assert at(datetime(2025, 3, 10, 12, 0, tzinfo=UTC)) == (
        "L1", False, None, "L2", datetime(2025, 3, 11, 8, 30, tzinfo=UTC)
    )
    assert at(datetime(2025, 3, 11, 8, 45, tzinfo=UTC)) == (
        "L2", True, datetime(2025, 3, 11, 8, 30, tzinfo=UTC), "L3", datetime(2025, 3, 11, 11, 30, tzinfo=UTC)
    )


# --------------------------------------------------------------------------
# The handoff.


def handoff(policy_name, level, **overrides):
    values = dict(
        level=level, policy=load_preset(policy_name), incident_title="Checkout API returns errors",
        account_name="Acme Retail", tier="enterprise", severity="P1", severity_label="High",
        detected_at=DETECTED, status="Rollback being tested on staging.",
        actions_taken=["Restarted the API pods", "Checked the last deploy"],
        evidence=["Error rate 42% since 08:55 UTC (dashboard link)"],
        business_impact="Customers cannot pay; about 300 orders an hour lost.",
        revenue_per_hour=8000.0, elapsed=timedelta(hours=1, minutes=28),
        recommendations=["Approve the rollback", "Tell the customer's CEO today"],
    )
    values.update(overrides)
    return handoff_summary(**values)


def test_handoff_to_the_executive_level_has_money_and_recommendations():
    assert handoff("growth-engine", "L4") == """\
Handoff to L4 (Executive escalation) - Growth Engine Escalation Procedures

Issue summary
  Checkout API returns errors
  Account: Acme Retail (enterprise plan)
  Severity: P1 (High)
  Detected: 2025-03-03 09:00 UTC, open for 1h 28m

Actions taken
  - Restarted the API pods
  - Checked the last deploy

Current status
  Rollback being tested on staging.

Logs and evidence
  - Error rate 42% since 08:55 UTC (dashboard link)

Business impact
  Customers cannot pay; about 300 orders an hour lost.

Financial impact
  About USD 11,733 so far (USD 8,000 per hour for 1.47 hours).

Recommendations
  - Approve the rollback
  - Tell the customer's CEO today

Who to contact at L4 (Executive escalation)
  - Level 4 support | email executive@hotdash.com | phone +1-555-EXECUTIVE | channel #executive-team | next up CEO direct line

The policy asks this handoff to cover
  [ ] Short summary for executives
  [ ] Effect on the business
  [ ] Cost implications
  [ ] Expected resolution timeline and milestones
  [ ] Recommended actions and decisions
"""  # noqa: E501 the expected handoff: its contact line is as long as the directory entry


def test_handoff_below_the_top_has_no_financial_section():
    assert handoff("growth-engine", "L2", actions_taken=[], evidence=[]) == """\
Handoff to L2 (Advanced support) - Growth Engine Escalation Procedures

Issue summary
  Checkout API returns errors
  Account: Acme Retail (enterprise plan)
  Severity: P1 (High)
  Detected: 2025-03-03 09:00 UTC, open for 1h 28m

Actions taken
  Nothing recorded yet.

Current status
  Rollback being tested on staging.

Logs and evidence
  None attached.

Business impact
  Customers cannot pay; about 300 orders an hour lost.

Who to contact at L2 (Advanced support)
  - Level 2 support | email advanced-support@hotdash.com | phone +1-555-ADVANCED | channel #advanced-support | next up director@hotdash.com

The policy asks this handoff to cover
  [ ] What the problem is, in brief
  [ ] What has been tried already
  [ ] Where the system stands now
  [ ] Logs and other evidence
  [ ] Effect on operations and users
"""  # noqa: E501 the expected handoff: its contact line is as long as the directory entry


def test_handoff_lists_the_level_actions_and_contacts_with_what_they_handle():
    text = handoff("red-status", "L3", revenue_per_hour=None, recommendations=[], tier=None,
                   elapsed=timedelta(days=1, hours=2))
    assert text.endswith("""\
Business impact
  Customers cannot pay; about 300 orders an hour lost.

Financial impact
  Not estimated: no revenue-per-hour figure was given.

Recommendations
  None recorded.

What L3 does
  - Executive involvement
  - Emergency authorisation of resources
  - Executive-to-executive client communication
  - Crisis management

Who to contact at L3 (Executive crisis response)
  - C-suite executive
  - Executive Sponsor
""")
    assert "  Account: Acme Retail (plan not recorded)\n" in text
    assert "  Detected: 2025-03-03 09:00 UTC, open for 1d 2h\n" in text
    teamflow = handoff("teamflow", "L2")
    assert teamflow.endswith("""\
Who to contact at L2 (Senior support)
  - Senior Technical Specialist
    Complex technical and integration problems
  - Billing Manager
    Billing disputes, refund approvals, contract changes
  - Product Manager
    Feature requests, product feedback, roadmap
""")


def test_handoff_names_contacts_exactly_as_the_policy_does():
    text = handoff("crisis", "L1")
    assert "  - Primary on-call: SRE Engineer\n" in text
    assert "  - Secondary on-call: Platform Engineer\n" in text


def test_handoff_shows_times_in_the_zone_given():
    from zoneinfo import ZoneInfo

    text = handoff("default", "L2", detected_at=DETECTED.astimezone(ZoneInfo("Europe/Paris")))
    assert "  Detected: 2025-03-03 10:00 CET, open for 1h 28m\n" in text


def test_a_step_whose_window_opens_after_the_resolution_is_dropped():
    # teamflow security: the CTO and CEO are told in the 15-60 minute follow-up; resolved at 09:10,
    # the incident never needed them, so the ladder keeps only the security team's step.
    status = status_at("teamflow", {"security_breach": True}, "12:00", current="L3", resolved="09:10")
    assert [(s.level, s.state.value) for s in status.ladder] == [("L3", "met")]
    assert (status.required_level, status.due_at, status.next_level) == ("L3", None, None)
