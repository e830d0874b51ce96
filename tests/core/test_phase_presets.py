"""Each preset's phases, case by case, against its playbook.

A case is a triage checklist, the time elapsed since detection and the phases whose steps are
all done; it states the severity the checklist gets, the phase to work on at that moment and
that phase's steps as (key, due after detection, milestone the step records). The comment on
each case quotes the playbook it comes from. The rule itself is tested in test_phases.py.
"""

from datetime import UTC, datetime, timedelta

import pytest

from core.incident.phases import current_phase, phase_plan
from core.policy.loading import load_preset
from core.policy.notation import duration_notation, parse_duration
from core.triage.rules import Answers, triage

DETECTED = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DONE_AT = DETECTED + timedelta(minutes=1)


def working_on(preset, answers, elapsed, done_phases=()):
    """(severity, current phase key, its steps) at `elapsed`, with every step of `done_phases` done."""
    policy = load_preset(preset)
    severity = triage(Answers(**answers), policy, DETECTED).severity
    now = DETECTED + parse_duration(elapsed)

    def plan(milestones, steps_done):
        return phase_plan(policy, severity=severity, answers=answers, detected_at=DETECTED,
                          milestones=milestones, steps_done=steps_done, now=now)

    milestones, steps_done = {}, {}
    for phase in plan({}, {}):
        if phase.key in done_phases:
            for step in phase.steps:
                if step.milestone:
                    milestones[step.milestone] = DONE_AT
                else:
                    steps_done[step.key] = DONE_AT.isoformat()
    assert set(done_phases) <= {p.key for p in plan({}, {})}, "a done phase that does not apply"
    current = current_phase(plan(milestones, steps_done), now)
    if current is None:
        return severity, None, []
    return severity, current.key, [(s.key, duration_notation(s.due - DETECTED), s.milestone) for s in current.steps]


# --------------------------------------------------------------------------
# Red Status Response Protocol

RS_OUTAGE = {"complete_outage": True, "outage_minutes": 90}   # an emergency trigger: P0
RS_LOW_CSAT = {"csat": 6}                                      # a red-status indicator: P1
RS_FIRST_HOUR = ("immediate-assessment", "client-notification", "team-mobilization", "incident-setup")


@pytest.mark.parametrize(("answers", "elapsed", "done", "expected"), [
    # "Immediate Assessment (0-15 minutes): Confirm red status validity, Assess business impact severity,
    # Identify root cause preliminary analysis, Determine escalation level required";
    # "Detection to Acknowledgment: <15 minutes"
    (RS_OUTAGE, "0m", (), ("P0", "immediate-assessment", [
        ("confirm-red-status", "15m", "acknowledged"), ("size-business-impact", "15m", None),
        ("first-cause-hypothesis", "15m", None), ("choose-escalation-level", "15m", None)])),
    # Work not done stays the phase to work on after its window: "Immediate Assessment (0-15 minutes)"
    (RS_LOW_CSAT, "20m", (), ("P1", "immediate-assessment", [
        ("confirm-red-status", "15m", "acknowledged"), ("size-business-impact", "15m", None),
        ("first-cause-hypothesis", "15m", None), ("choose-escalation-level", "15m", None)])),
    # "Client Notification (15-30 minutes): Contact client immediately via phone, Send urgent email
    # confirmation, Provide initial assessment, Set communication schedule"; "Client Notification: <30 minutes"
    (RS_OUTAGE, "20m", RS_FIRST_HOUR[:1], ("P0", "client-notification", [
        ("phone-client", "30m", "client_notified"), ("confirm-call-by-email", "30m", None),
        ("share-first-assessment", "30m", None), ("agree-update-schedule", "30m", None)])),
    # "Team Mobilization (30-45 minutes): Alert technical lead and specialists, Notify Client Success
    # Director, Engage implementation team if needed, Activate emergency response protocols";
    # "Technical Team Mobilization: <45 minutes"
    (RS_LOW_CSAT, "35m", RS_FIRST_HOUR[:2], ("P1", "team-mobilization", [
        ("alert-technical-team", "45m", "mobilized"), ("tell-cs-director", "45m", None),
        ("engage-implementation-team", "45m", None), ("activate-emergency-protocols", "45m", None)])),
    # "Incident Management Setup (45-60 minutes): Create incident tracking record, Establish communication
    # war room, Set up status update schedule, Prepare client relationship management"
    (RS_OUTAGE, "50m", RS_FIRST_HOUR[:3], ("P0", "incident-setup", [
        ("open-tracking-record", "1h", None), ("open-war-room", "1h", None), ("set-status-updates", "1h", None),
        ("plan-relationship-care", "1h", None)])),
    # "Action Timeline: Within 4 Hours"; "Initial Resolution Attempt: <2 hours"; "Escalation (if needed): <4 hours"
    (RS_OUTAGE, "1h30m", RS_FIRST_HOUR, ("P0", "first-resolution-attempt", [
        ("first-fix-attempt", "2h", "mitigated"), ("escalate-if-unresolved", "4h", None)])),
    # "Critical Issues: 95% resolved within 4 hours"; "24-Hour Post-Resolution Actions: System Validation,
    # Client Follow-up (Satisfaction assessment call), Internal Review"
    (RS_OUTAGE, "3h", (*RS_FIRST_HOUR, "first-resolution-attempt"), ("P0", "critical-resolution", [
        ("resolve-critical", "4h", "resolved"), ("critical-validate-system", "28h", None),
        ("critical-client-confirms", "28h", "client_confirmed"), ("critical-internal-review", "28h", None)])),
    # "High Priority: 90% resolved within 8 hours", then the same 24-hour post-resolution actions
    (RS_LOW_CSAT, "5h", (*RS_FIRST_HOUR, "first-resolution-attempt"), ("P1", "high-priority-resolution", [
        ("resolve-high-priority", "8h", "resolved"), ("high-validate-system", "32h", None),
        ("high-client-confirms", "32h", "client_confirmed"), ("high-internal-review", "32h", None)])),
    # The first-hour protocol is for red status: a limited problem (Level 1 only, P2) has no phase
    ({"business_impact": "minor"}, "0m", (), ("P2", None, [])),
])
def test_red_status_phases(answers, elapsed, done, expected):
    assert working_on("red-status", answers, elapsed, done) == expected


# --------------------------------------------------------------------------
# SPARK Customer Emergency Protocol

SPARK_P0 = {"business_impact": "stopped"}    # "Customer business is stopped"
SPARK_P1 = {"workaround": "painful"}         # "Workaround exists but painful"
SPARK_TRIAGE = [("assess-customer-impact", "15m", None), ("assess-technical-side", "15m", None),
                ("classify-severity", "15m", None)]


@pytest.mark.parametrize(("answers", "elapsed", "done", "expected"), [
    # "Stage 1: Triage (< 15 minutes)": customer impact, technical assessment, severity classification
    (SPARK_P0, "0m", (), ("P0", "triage", SPARK_TRIAGE)),
    ({"business_impact": "minor"}, "5m", (), ("P2", "triage", SPARK_TRIAGE)),
    # "IMMEDIATE ACTIONS (First 30 minutes): War room activated, Customer communication sent, All WIP paused,
    # Incident commander assigned, Initial diagnosis started"; "0 min: Internal war room, 15 min: Customer
    # acknowledgment"
    (SPARK_P0, "10m", ("triage",), ("P0", "p0-first-actions", [
        ("open-war-room", "15m", "acknowledged"), ("tell-customer-we-are-on-it", "15m", "client_notified"),
        ("pause-all-work", "30m", "mobilized"), ("name-incident-commander", "30m", None),
        ("start-diagnosis", "30m", None)])),
    # "Resolution Target: < 4 hours"; "WITHIN 24 HOURS OF RESOLUTION: Root cause analysis completed, Prevention
    # plan created, Customer satisfaction confirmed, Team stress/impact assessment, Process improvement identified"
    (SPARK_P0, "40m", ("triage", "p0-first-actions"), ("P0", "p0-resolution-learning", [
        ("p0-resolve", "4h", "resolved"), ("p0-root-cause", "28h", None), ("p0-prevention-plan", "28h", None),
        ("p0-customer-confirms", "28h", "client_confirmed"), ("p0-team-impact", "28h", None),
        ("p0-process-improvement", "28h", None)])),
    # "IMMEDIATE ACTIONS (First 4 hours): Senior person assigned full-time, Customer contacted with timeline,
    # Work item created in Emergency Queue, Rest of team continues planned work"
    (SPARK_P1, "1h", ("triage",), ("P1", "p1-first-actions", [
        ("assign-senior-person", "4h", "mobilized"), ("contact-customer-with-timeline", "4h", "client_notified"),
        ("add-to-emergency-queue", "4h", None), ("keep-team-on-plan", "4h", None)])),
    # "Resolution Target: < 24 hours", then the retrospective "WITHIN 24 HOURS OF RESOLUTION"
    (SPARK_P1, "5h", ("triage", "p1-first-actions"), ("P1", "p1-resolution-learning", [
        ("p1-resolve", "24h", "resolved"), ("p1-root-cause", "48h", None), ("p1-prevention-plan", "48h", None),
        ("p1-customer-confirms", "48h", "client_confirmed"), ("p1-team-impact", "48h", None),
        ("p1-process-improvement", "48h", None)])),
    # "LOW (P3) - Planned work ... Normal planning process": nothing after triage
    ({"feature_request": True}, "1h", ("triage",), ("P3", None, [])),
])
def test_spark_phases(answers, elapsed, done, expected):
    assert working_on("spark", answers, elapsed, done) == expected


# --------------------------------------------------------------------------
# Crisis Management Workflow

CRISIS_OUTAGE = {"complete_outage": True}                   # "Complete service outage": P0
CRISIS_BREACH = {"security_breach": True}                   # "Data breach or security compromise": P0
CRISIS_HALF_USERS = {"users_affected_pct": 60}              # "Performance issues affecting >50% users": P1
CRISIS_OUTAGE_WORKFLOW = ("immediate-response", "investigation", "resolution-recovery")
CRISIS_IMMEDIATE = [
    ("activate-incident-commander", "5m", "acknowledged"), ("call-in-responders", "5m", "mobilized"),
    ("open-channels", "5m", None), ("notify-stakeholders-customers", "5m", "client_notified"),
    ("record-start-time", "5m", None), ("check-dashboards", "5m", None), ("size-scope", "5m", None),
    ("first-mitigation", "5m", "mitigated")]


@pytest.mark.parametrize(("answers", "elapsed", "done", "expected"), [
    # "Phase 1: Immediate Response (0-5 minutes)": crisis coordination, technical assessment, initial mitigation
    (CRISIS_OUTAGE, "0m", (), ("P0", "immediate-response", CRISIS_IMMEDIATE)),
    # "Phase 2: Investigation and Diagnosis (5-30 minutes)": technical analysis, impact assessment, root cause
    (CRISIS_OUTAGE, "10m", CRISIS_OUTAGE_WORKFLOW[:1], ("P0", "investigation", [
        ("review-recent-changes", "30m", None), ("read-logs-and-metrics", "30m", None),
        ("check-dependencies", "30m", None), ("quantify-impact", "30m", None), ("check-data-and-security", "30m", None),
        ("write-event-timeline", "30m", None), ("confirm-root-cause", "30m", None)])),
    # "Phase 3: Resolution and Recovery (30 minutes - 2 hours)": fix development, deployment, recovery
    # validation; "After Crisis: Post-mortem scheduled"
    (CRISIS_HALF_USERS, "45m", CRISIS_OUTAGE_WORKFLOW[:2], ("P1", "resolution-recovery", [
        ("build-and-test-fix", "2h", None), ("prepare-rollback", "2h", None), ("roll-out-fix", "2h", None),
        ("confirm-recovery", "2h", "resolved"), ("watch-for-regressions", "2h", None),
        ("update-on-recovery", "2h", None), ("book-post-mortem", "2h", None)])),
    # "Detection → Assessment → Response → Recovery → Post-Mortem": once recovered, the post-mortem is next
    (CRISIS_OUTAGE, "3h", CRISIS_OUTAGE_WORKFLOW, ("P0", "post-mortem", [
        ("rebuild-timeline", "8d", None), ("evaluate-response", "8d", None), ("identify-improvements", "8d", None),
        ("assign-action-items", "8d", None)])),
    # A breach is P0: the outage workflow's 5 minutes come first, then "Phase 1: Containment (0-15 minutes)"
    (CRISIS_BREACH, "0m", (), ("P0", "immediate-response", CRISIS_IMMEDIATE)),
    (CRISIS_BREACH, "6m", ("immediate-response",), ("P0", "security-containment", [
        ("isolate-systems", "15m", None), ("preserve-evidence", "15m", None), ("size-breach", "15m", None),
        ("emergency-access-controls", "15m", None)])),
    # "Phase 2: Investigation (15 minutes - 4 hours)" starts before the outage workflow's recovery (30 minutes)
    (CRISIS_BREACH, "40m", ("immediate-response", "investigation", "security-containment"),
     ("P0", "security-investigation", [
         ("trace-attack-vector", "4h", None), ("size-compromise", "4h", None),
         ("involve-legal-compliance", "4h", None)])),
    # "Phase 3: Eradication and Recovery (4-24 hours)", before the post-mortem
    (CRISIS_BREACH, "5h", (*CRISIS_OUTAGE_WORKFLOW, "security-containment", "security-investigation"),
     ("P0", "security-eradication", [
         ("remove-malicious-code", "24h", None), ("harden-and-monitor", "24h", None),
         ("restore-clean-backups", "24h", "resolved")])),
    # "Workflow 3: Data Loss or Corruption Crisis": stop writes, clean backup, restore, validate, resume
    ({"data_loss": True}, "6m", ("immediate-response",), ("P0", "data-recovery", [
        ("stop-writes", "2h", None), ("find-clean-backup", "2h", None), ("restore-from-backup", "2h", None),
        ("validate-restored-data", "2h", None), ("resume-under-watch", "2h", None)])),
    # "MEDIUM (P2): Minor feature issues": the production outage workflow is for P0 and P1
    ({"business_impact": "minor"}, "0m", (), ("P2", None, [])),
])
def test_crisis_phases(answers, elapsed, done, expected):
    assert working_on("crisis", answers, elapsed, done) == expected


# --------------------------------------------------------------------------
# TeamFlow Escalation Policies & Procedures

TF_SECURITY_FIRST = [
    ("security-isolate", "15m", None), ("security-alert-team", "15m", "mobilized"),
    ("security-start-log", "15m", None), ("security-acknowledge", "15m", "client_notified"),
    ("security-run-playbook", "15m", None)]


@pytest.mark.parametrize(("answers", "elapsed", "done", "expected"), [
    # "1. Security Incident Escalation, Immediate Actions (0-15 minutes): Secure the Environment, Notify Security
    # Team, Document Everything, Customer Communication: Acknowledge receipt, avoid details, Activate Incident
    # Response"
    ({"security_breach": True}, "0m", (), ("P0", "security-first-actions", TF_SECURITY_FIRST)),
    # "Follow-up Actions (15-60 minutes): Executive Notification, Legal Review, Customer Updates every 30 minutes,
    # External Notifications, Media Monitoring"
    ({"security_breach": True}, "20m", ("security-first-actions",), ("P0", "security-follow-up", [
        ("security-brief-executives", "1h", None), ("security-legal-review", "1h", None),
        ("security-regulators", "1h", None), ("security-watch-media", "1h", None)])),
    # "2. Service Outage Escalation, Immediate Actions (0-15 minutes): Status Page Update, Engineering Notification,
    # Customer Communication: Send service disruption notice, Management Alert, Monitor Social Media"
    ({"complete_outage": True}, "0m", (), ("P0", "outage-first-actions", [
        ("outage-status-page", "15m", None), ("outage-page-on-call", "15m", "mobilized"),
        ("outage-disruption-notice", "15m", "client_notified"), ("outage-alert-managers", "15m", None),
        ("outage-watch-social", "15m", None)])),
    # "API downtime affecting multiple customers" is an outage too; "Follow-up Actions (15-60 minutes): Root Cause
    # Analysis, Vendor Communication, Customer Success, Regular Updates, Post-Incident Review"
    ({"other_customers_affected": "yes", "business_impact": "stopped"}, "20m", ("outage-first-actions",),
     ("P0", "outage-follow-up", [
         ("outage-root-cause", "1h", None), ("outage-vendors", "1h", None), ("outage-enterprise-csms", "1h", None),
         ("outage-book-review", "1h", None)])),
    # "3. Legal/Compliance Escalation, Immediate Actions (0-15 minutes): Preserve Records, Legal Notification,
    # Executive Alert, Customer Response, Document Control"
    ({"legal_compliance": True}, "5m", (), ("P0", "legal-first-actions", [
        ("legal-preserve-records", "15m", None), ("legal-notify", "15m", "mobilized"),
        ("legal-alert-executives", "15m", None), ("legal-acknowledge", "15m", "client_notified"),
        ("legal-secure-documents", "15m", None)])),
    # "Follow-up Actions (15-60 minutes): Legal Counsel, Compliance Review, Response Preparation, Internal
    # Communication, Follow-up Plan"
    ({"legal_compliance": True}, "30m", ("legal-first-actions",), ("P0", "legal-follow-up", [
        ("legal-call-counsel", "1h", None), ("legal-compliance-check", "1h", None), ("legal-draft-reply", "1h", None),
        ("legal-brief-team", "1h", None), ("legal-communication-plan", "1h", None)])),
    # "4. Enterprise Customer Escalation, Immediate Actions (0-1 hour): Account Review, Success Manager,
    # Management Alert, Priority Handling, Initial Response"
    ({"customer_tier": "enterprise"}, "10m", (), ("P1", "enterprise-first-actions", [
        ("enterprise-account-review", "1h", None), ("enterprise-tell-csm", "1h", None),
        ("enterprise-tell-vp", "1h", None), ("enterprise-front-of-queue", "1h", None),
        ("enterprise-acknowledge", "1h", "client_notified")])),
    # "Follow-up Actions (1-4 hours): Executive Involvement, Solution Planning, Resource Allocation, Communication
    # Plan, Relationship Review"
    ({"customer_tier": "enterprise"}, "2h", ("enterprise-first-actions",), ("P1", "enterprise-follow-up", [
        ("enterprise-c-level", "4h", None), ("enterprise-resolution-plan", "4h", None),
        ("enterprise-dedicated-resources", "4h", "mobilized"), ("enterprise-update-schedule", "4h", None),
        ("enterprise-account-health", "4h", None)])),
    # An enterprise customer's breach: the security procedure's 15 minutes come before the enterprise hour
    ({"customer_tier": "enterprise", "security_breach": True}, "0m", (),
     ("P0", "security-first-actions", TF_SECURITY_FIRST)),
    # "Refund requests over $1,000" is a priority escalation without a procedure of its own
    ({"refund_amount": 5000}, "0m", (), ("P1", None, [])),
])
def test_teamflow_phases(answers, elapsed, done, expected):
    assert working_on("teamflow", answers, elapsed, done) == expected


# --------------------------------------------------------------------------
# Growth Engine Escalation Procedures


@pytest.mark.parametrize(("answers", "elapsed", "done", "expected"), [
    # "Initial Response (Level 1): Step 1 Issue Triage, Step 2 Documentation, Step 3 Escalation Decision";
    # Level 1 "Escalation: If not resolved in 30 minutes"
    ({"complete_outage": True}, "0m", (), ("P0", "level-1-response", [
        ("triage-issue", "30m", None), ("try-documented-fixes", "30m", None), ("log-incident-ticket", "30m", None),
        ("decide-escalation", "30m", None)])),
    # "P0 - Critical: Response Time: 5 minutes, Resolution Time: 2 hours, Escalation: Immediate to Level 4";
    # "Issue Resolution: Verify Resolution ... Document Resolution"
    ({"complete_outage": True}, "10m", ("level-1-response",), ("P0", "p0-critical", [
        ("p0-respond", "5m", "acknowledged"), ("p0-raise-to-level-4", "5m", None),
        ("p0-confirm-fixed", "2h", "resolved"), ("p0-record-resolution", "2h", None)])),
    # "P1 - High: Response Time: 15 minutes, Resolution Time: 4 hours, Escalation: Level 3 within 1 hour"
    ({"system_affected": "core"}, "20m", ("level-1-response",), ("P1", "p1-high", [
        ("p1-respond", "15m", "acknowledged"), ("p1-raise-to-level-3", "1h", None),
        ("p1-confirm-fixed", "4h", "resolved"), ("p1-record-resolution", "4h", None)])),
    # "P2 - Medium: Response Time: 1 hour, Resolution Time: 8 hours, Escalation: Level 2 within 2 hours"
    ({"business_impact": "minor"}, "45m", ("level-1-response",), ("P2", "p2-medium", [
        ("p2-respond", "1h", "acknowledged"), ("p2-raise-to-level-2", "2h", None),
        ("p2-confirm-fixed", "8h", "resolved"), ("p2-record-resolution", "8h", None)])),
    # "P3 - Low: Response Time: 4 hours, Resolution Time: 24 hours, Escalation: Level 1 within 4 hours"
    ({"feature_request": True}, "1h", ("level-1-response",), ("P3", "p3-low", [
        ("p3-respond", "4h", "acknowledged"), ("p3-confirm-fixed", "24h", "resolved"),
        ("p3-record-resolution", "24h", None)])),
    # Unfinished Level 1 work stays first, even for a P0 past its 30 minutes
    ({"complete_outage": True}, "40m", (), ("P0", "level-1-response", [
        ("triage-issue", "30m", None), ("try-documented-fixes", "30m", None), ("log-incident-ticket", "30m", None),
        ("decide-escalation", "30m", None)])),
    # "Verify Resolution: Confirm issue is fully resolved": every step done, nothing left
    ({"feature_request": True}, "25h", ("level-1-response", "p3-low"), ("P3", None, [])),
])
def test_growth_engine_phases(answers, elapsed, done, expected):
    assert working_on("growth-engine", answers, elapsed, done) == expected


# --------------------------------------------------------------------------
# Default policy (a synthesis: each phase says which playbooks it follows)

DEFAULT_TRIAGE = [("assess-customer-impact", "15m", None), ("assess-technical-side", "15m", None),
                  ("classify-severity", "15m", None)]


@pytest.mark.parametrize(("answers", "elapsed", "done", "expected"), [
    # SPARK "Stage 1: Triage (< 15 minutes)", for every severity
    ({"complete_outage": True}, "0m", (), ("P0", "triage", DEFAULT_TRIAGE)),
    ({"business_impact": "minor"}, "5m", (), ("P2", "triage", DEFAULT_TRIAGE)),
    # red-status "Client Notification (15-30 minutes)": phone, email confirmation, assessment, schedule
    ({"complete_outage": True}, "20m", ("triage",), ("P0", "notify-client", [
        ("phone-client", "30m", "client_notified"), ("email-first-assessment", "30m", None),
        ("agree-update-times", "30m", None)])),
    # red-status "Team Mobilization (30-45 minutes)"; SPARK "War room activated", red-status "Establish
    # communication war room"
    ({"business_impact": "major"}, "35m", ("triage", "notify-client"), ("P1", "mobilize", [
        ("alert-technical-lead", "45m", "mobilized"), ("tell-leadership", "45m", None),
        ("open-war-room", "45m", None)])),
    # red-status and SPARK "Critical ... 4 hours"; SPARK "Customer satisfaction confirmed" and red-status
    # "Satisfaction assessment call" within 24 hours of resolution
    ({"complete_outage": True}, "1h", ("triage", "notify-client", "mobilize"), ("P0", "p0-resolution", [
        ("p0-resolve", "4h", "resolved"), ("p0-client-confirms", "28h", "client_confirmed"),
        ("p0-root-cause-and-prevention", "28h", None)])),
    # SPARK and TeamFlow "High ... 24 hours", then the same confirmation within a day
    ({"business_impact": "major"}, "1h", ("triage", "notify-client", "mobilize"), ("P1", "p1-resolution", [
        ("p1-resolve", "24h", "resolved"), ("p1-client-confirms", "48h", "client_confirmed"),
        ("p1-root-cause-and-prevention", "48h", None)])),
    # A P2 has only the triage phase
    ({"business_impact": "minor"}, "20m", ("triage",), ("P2", None, [])),
])
def test_default_phases(answers, elapsed, done, expected):
    assert working_on("default", answers, elapsed, done) == expected


# --------------------------------------------------------------------------
# Across the presets


PRESETS = ["crisis", "default", "growth-engine", "red-status", "spark", "teamflow"]


@pytest.mark.parametrize("name", PRESETS)
def test_every_step_is_short_names_its_section_and_stays_in_its_phase(name):
    # A responder reads a step under pressure: one short imperative line, the playbook section it comes from,
    # due inside its phase's window.
    problems = [
        f"{phase.key}/{step.key}"
        for phase in load_preset(name).phases for step in phase.steps
        if len(step.title) > 70 or not step.section or not phase.start <= step.due <= phase.end
    ]
    assert problems == []


@pytest.mark.parametrize(("name", "without_steps"), [
    # "Action Timeline: Within 4 Hours" spans the first hour: its actions are the first-hour phases' steps.
    ("red-status", ["action-window"]),
    ("spark", []), ("crisis", []), ("teamflow", []), ("growth-engine", []), ("default", []),
])
def test_phases_without_steps(name, without_steps):
    assert [phase.key for phase in load_preset(name).phases if not phase.steps] == without_steps
