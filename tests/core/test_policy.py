"""Policy files: loading, validation messages, the rule language and the presets' data."""

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from core.policy.calendar import Calendar
from core.policy.loading import (
    MAX_POLICY_BYTES,
    PRESET_DIR,
    PolicyError,
    PolicyFileError,
    load_policy_file,
    load_preset,
    parse_policy,
    preset_names,
)
from core.policy.notation import duration_notation, parse_duration
from core.policy.roles import DEFAULT_ROLES, REQUIRED_ROLES
from core.policy.rules import Condition
from core.policy.schema import Policy, stored_policy
from core.triage.rules import Answers, triage
from core.vocabulary import CLOCKS, SEVERITIES, TIERS
from tests.hostile_policies import HOSTILE_POLICIES

PRESETS = ["crisis", "default", "growth-engine", "red-status", "spark", "teamflow"]

MINIMAL = """\
name: minimal
title: Minimal policy
source: custom
description: Smallest useful policy for tests.
severities:
  - {id: P0, label: Critical, definition: Down, section: S, red_status: true, escalation_category: immediate, escalation_level: L2}
  - {id: P1, label: High, definition: Hurting, section: S, escalation_level: L1}
  - {id: P2, label: Medium, definition: Annoying, section: S}
  - {id: P3, label: Low, definition: Fine, section: S}
default: {severity: P3, reason: Nothing matched, section: S}
targets:
  P0:
    acknowledge: 15m
    resolution: {basic: 8h, pro: 4h, enterprise: 2h}
rules:
  - id: outage
    when: {any: [{complete_outage: true}, {outage_minutes: {gt: 60}}]}
    then: {severity: P0}
    reason: Down
    section: S
escalation_levels:
  - {id: L1, name: Team, summary: The team, section: S}
  - {id: L2, name: Boss, summary: The boss, section: S}
roles:
  - {key: incident_commander, title: Incident commander}
  - {key: csm, title: Customer Success Manager}
"""  # noqa: E501 a policy file whose line numbers the error tests name: its rows stay one per line


def test_preset_names_are_sorted_and_complete():
    assert preset_names() == PRESETS
    assert sorted(p.name for p in PRESET_DIR.glob("*.yaml")) == [f"{n}.yaml" for n in PRESETS]


@pytest.mark.parametrize("name", PRESETS)
def test_presets_round_trip_through_a_json_snapshot(name):
    policy = load_preset(name)
    snapshot = json.loads(json.dumps(policy.model_dump(mode="json")))
    assert Policy.model_validate(snapshot) == policy
    assert policy.name == name
    assert [s.id for s in policy.severities] == list(SEVERITIES)


@pytest.mark.parametrize(
    "name, source",
    [
        ("red-status", "red-status-response-protocol.md"),
        ("spark", "spark-customer-emergency-protocol.md"),
        ("crisis", "crisis-management-workflow.md"),
        ("growth-engine", "growth-engine-escalation-procedures.md"),
        ("teamflow", "teamflow-escalation-policies.md"),
        ("default", "custom"),
    ],
)
def test_preset_sources(name, source):
    assert load_preset(name).source == source


def targets_of(name):
    return load_preset(name).model_dump(mode="json")["targets"]


@pytest.mark.parametrize(
    "name, targets",
    [
        (
            "red-status",
            {
                "P0": {"acknowledge": "15m", "client_notification": "30m", "mobilization": "45m",
                       "client_update": "30m", "resolution": "4h", "escalation": "4h"},
                "P1": {"acknowledge": "15m", "client_notification": "30m", "mobilization": "45m",
                       "client_update": "1h", "resolution": "8h", "escalation": "4h"},
                "P2": {"escalation": "1h"},
            },
        ),
        (
            "spark",
            {
                # "15 min: Customer acknowledgment" and "P0 Acknowledgment (< 15 min)": the first message.
                "P0": {"acknowledge": "15m", "client_notification": "15m", "mobilization": "1h",
                       "client_update": "1h", "resolution": "4h", "escalation": "30m"},
                "P1": {"acknowledge": "4h", "mobilization": "4h", "client_update": "4h", "resolution": "24h",
                       "escalation": "4h"},
                "P2": {"acknowledge": "24h", "mobilization": "24h", "resolution": "1w"},
                "P3": {"acknowledge": "48h", "resolution": "90d"},
            },
        ),
        (
            "crisis",
            {
                "P0": {"acknowledge": "5m", "client_notification": "5m", "mobilization": "5m", "escalation": "5m",
                       "resolution": "2h"},
                "P1": {"acknowledge": "5m"},
                "P2": {"acknowledge": "5m"},
            },
        ),
        (
            "growth-engine",
            {
                "P0": {"acknowledge": "5m", "resolution": "2h", "resolution_max": "4h", "escalation": "0m"},
                "P1": {"acknowledge": "15m", "resolution": "4h", "resolution_max": "8h", "escalation": "1h"},
                "P2": {"acknowledge": "1h", "resolution": "8h", "resolution_max": "24h", "escalation": "2h"},
                "P3": {"acknowledge": "4h", "resolution": "24h", "resolution_max": "48h", "escalation": "4h"},
            },
        ),
        (
            "teamflow",
            {
                "P0": {"acknowledge": "15m", "client_update": "30m", "resolution": "4h", "escalation": "15m"},
                "P1": {"acknowledge": "1h", "resolution": "24h", "escalation": "1h"},
                "P2": {"acknowledge": "4h", "resolution": "72h", "escalation": "4h"},
                "P3": {"acknowledge": {"basic": "24h", "pro": "8h", "enterprise": "4h"}},
            },
        ),
        (
            "default",
            {
                "P0": {"acknowledge": "15m", "client_notification": "30m", "mobilization": "45m",
                       "client_update": "30m", "resolution": "4h", "escalation": "15m"},
                "P1": {"acknowledge": "1h", "client_update": "4h", "resolution": "24h", "escalation": "1h"},
                "P2": {"acknowledge": "4h", "client_update": "1d", "resolution": "72h", "resolution_max": "1w",
                       "escalation": "4h"},
                "P3": {"acknowledge": "48h", "resolution": "90d"},
            },
        ),
    ],
)
def test_preset_clock_targets(name, targets):
    # duration_notation writes whole days as "1d"/"72h"-style only when exact; compare parsed values.
    assert {
        sev: {clock: _as_timedelta(value) for clock, value in clocks.items()}
        for sev, clocks in targets_of(name).items()
    } == {sev: {clock: _as_timedelta(value) for clock, value in clocks.items()} for sev, clocks in targets.items()}


def _as_timedelta(value):
    if isinstance(value, dict):
        return {key: parse_duration(v) for key, v in value.items()}
    return parse_duration(value)


@pytest.mark.parametrize(
    "name, overrides",
    [
        ("red-status", {"complete-outage-over-1h": {"resolution": "2h"},
                        "critical-technical-failure": {"resolution": "2h"},
                        "data-loss": {"resolution": "6h"}, "data-integrity": {"resolution": "6h"}}),
        ("crisis", {"security-breach": {"resolution": "24h"}}),
        ("teamflow", {"service-outage": {"client_update": "15m"}, "legal-compliance": {"acknowledge": "30m"},
                      "unresolved-after-24h": {"resolution_max": "1w", "client_update": "24h"},
                      "repeated-failed-fixes": {"resolution_max": "1w", "client_update": "24h"}}),
        ("spark", {}),
        ("growth-engine", {}),
    ],
)
def test_rule_specific_targets(name, overrides):
    policy = load_preset(name)
    found = {r.id: {c: duration_notation(d) for c, d in r.then.targets.items()} for r in policy.rules if r.then.targets}
    assert found == overrides


@pytest.mark.parametrize(
    "name, levels",
    [
        ("red-status", [("L1", "Technical lead response", None), ("L2", "Management escalation", "1h"),
                        ("L3", "Executive crisis response", "4h")]),
        ("spark", [("L1", "Normal flow", None), ("L2", "Dedicated person", None), ("L3", "All hands", None)]),
        ("crisis", [("L1", "On-call", None), ("L2", "Engineering Manager", "1h"), ("L3", "VP Engineering", "4h"),
                    ("L4", "Executive (CTO / CEO)", None)]),
        # growth-engine counts each tier's time from when the tier took the case (resolve_within),
        # not from detection: see test_growth_engine_tiers_hand_off_after_their_own_time.
        ("growth-engine", [("L1", "Basic support", None), ("L2", "Advanced support", None),
                           ("L3", "Expert support", None), ("L4", "Executive escalation", None)]),
        ("teamflow", [("L1", "First-line support", None), ("L2", "Senior support", None), ("L3", "Management", None),
                      ("L4", "Executive", None)]),
        ("default", [("L1", "Frontline", None), ("L2", "Technical lead", "1h"), ("L3", "Management", "4h"),
                     ("L4", "Executive", "8h")]),
    ],
)
def test_escalation_ladders(name, levels):
    policy = load_preset(name)
    assert [
        (level.id, level.name,
         duration_notation(level.time_trigger.unresolved_for.default) if level.time_trigger else None)
        for level in policy.escalation_levels
    ] == levels


@pytest.mark.parametrize(
    "name, tier, responses",
    [
        ("teamflow", "basic", {"L1": "24h", "L2": "4h", "L3": "2h", "L4": "1h"}),
        ("teamflow", "pro", {"L1": "8h", "L2": "4h", "L3": "2h", "L4": "1h"}),
        ("teamflow", "enterprise", {"L1": "4h", "L2": "4h", "L3": "2h", "L4": "1h"}),
    ],
)
def test_level_response_times_by_plan(name, tier, responses):
    policy = load_preset(name)
    assert {lvl.id: duration_notation(lvl.response.pick(tier=tier)) for lvl in policy.escalation_levels} == responses


def test_growth_engine_support_tiers_and_contacts():
    policy = load_preset("growth-engine")
    assert [
        (lvl.id, duration_notation(lvl.response.default), lvl.resolve_within and duration_notation(lvl.resolve_within),
         lvl.contacts[0].email, lvl.contacts[0].phone, lvl.contacts[0].channel, lvl.contacts[0].escalation,
         len(lvl.handoff))
        for lvl in policy.escalation_levels
    ] == [
        ("L1", "0m", "30m", "support@hotdash.com", "+1-555-SUPPORT", "#support-team", "manager@hotdash.com", 0),
        ("L2", "15m", "2h", "advanced-support@hotdash.com", "+1-555-ADVANCED", "#advanced-support",
         "director@hotdash.com", 5),
        ("L3", "5m", "8h", "expert-support@hotdash.com", "+1-555-EXPERT", "#expert-support", "ceo@hotdash.com", 5),
        ("L4", "0m", None, "executive@hotdash.com", "+1-555-EXECUTIVE", "#executive-team", "CEO direct line", 5),
    ]
    management = policy.directory[0]
    assert [
        (c.role, c.email, c.phone, [(list(a.severities), a.coverage) for a in c.availability])
        for c in management.contacts
    ] == [
        ("Support Manager", "manager@hotdash.com", "+1-555-MANAGER", [(["P0", "P1"], "24x7")]),
        ("Technical Director", "director@hotdash.com", "+1-555-DIRECTOR",
         [(["P0"], "24x7"), (["P1", "P2"], "business_hours")]),
        ("CEO", "ceo@hotdash.com", "+1-555-CEO", [(["P0"], "24x7"), (["P1"], "business_hours")]),
    ]
    assert policy.escalate_on_breach == ("resolution",)


def test_teamflow_contacts_are_kept_verbatim():
    policy = load_preset("teamflow")
    flat = {(group.title, c.role): c.phone or c.email or c.channel
            for group in policy.directory for c in group.contacts}
    assert flat == {
        ("24/7 on-call rotation", "Primary"): "+1-415-555-0199",
        ("24/7 on-call rotation", "Secondary"): "+1-415-555-0188",
        ("24/7 on-call rotation", "Escalation"): "+1-415-555-0177",
        ("Email escalation lists", "Security incidents"): "security-incident@teamflow.com",
        ("Email escalation lists", "Service outages"): "outage-response@teamflow.com",
        ("Email escalation lists", "Legal issues"): "legal-emergency@teamflow.com",
        ("Email escalation lists", "Executive escalation"): "executive-escalation@teamflow.com",
        ("Slack channels", "Escalation coordination"): "#support-escalation",
        ("Slack channels", "Security incident response"): "#security-alerts",
        ("Slack channels", "Service disruption coordination"): "#outage-response",
        ("Slack channels", "Enterprise customer issues"): "#customer-success",
        ("Status page", "Public status page"): "status.teamflow.com",
        ("Legal counsel", "Primary"): "+1-415-555-0166",
        ("Legal counsel", "After hours"): "+1-415-555-0155",
        ("Legal counsel", "International"): "+44-20-1234-5678",
        ("Public relations", "Crisis communications"): "+1-415-555-0144",
        ("Public relations", "Social media monitoring"): "+1-415-555-0133",
    }


@pytest.mark.parametrize(
    "name, reviews",
    [
        ("red-status", [("review-24h", "24h"), ("review-1w", "1w"), ("review-1m", "30d")]),
        ("spark", [("retrospective", "24h")]),
        ("teamflow", [("root-cause-analysis", "48h")]),
        ("growth-engine", [("post-incident-review", "1w")]),
        ("crisis", [("blameless-post-mortem", "1w")]),
        ("default", [("retrospective", "24h"), ("root-cause-analysis", "48h"), ("review-1w", "1w"),
                     ("review-1m", "30d")]),
    ],
)
def test_review_schedules(name, reviews):
    hours = {"24h": timedelta(hours=24), "48h": timedelta(hours=48), "1w": timedelta(weeks=1),
             "30d": timedelta(days=30)}
    assert [(r.key, r.after_resolution) for r in load_preset(name).reviews] == [(k, hours[v]) for k, v in reviews]


def measures(name, collection):
    return {
        item.key: (item.comparison,
                   item.value if item.value is not None else item.duration and duration_notation(item.duration),
                   item.unit)
        for item in getattr(load_preset(name), collection)
    }


@pytest.mark.parametrize(
    "name, collection, expected",
    [
        ("red-status", "objectives", {
            "critical-resolved-4h": ("gte", 95, "percent"),
            "high-resolved-8h": ("gte", 90, "percent"),
            "outages-resolved-2h": ("gte", 99, "percent"),
            "data-issues-resolved-6h": ("eq", 100, "percent"),
            "initial-resolution-attempt": ("lt", "2h", "duration"),
            "first-update-within-2h": ("lte", "2h", "duration"),
            "satisfaction-recovery": ("gte", 90, "percent"),
            "post-incident-uptime": ("gte", 99.9, "percent"),
            "retention-after-incident": ("gte", 95, "percent"),
            "repeat-incidents": ("lt", 5, "percent"),
            "update-frequency": ("lte", "30m", "duration"),
            "response-accuracy": ("eq", 100, "percent"),
            "notification-within-30m": ("eq", 100, "percent"),
            "executive-engagement": ("eq", 100, "percent"),
        }),
        ("red-status", "early_warning", {
            "metric-shortfall": ("gt", 20, "percent"),
            "low-csat": ("lt", 7, "score"),
            "low-uptime": ("lt", 95, "percent"),
        }),
        ("spark", "objectives", {
            "emergency-buffer": ("eq", 20, "percent"),
            "emergency-work": ("lt", 20, "percent"),
            "planned-work": ("gt", 80, "percent"),
            "emergency-capacity": ("lt", 10, "percent"),
            "repeat-issues": ("lt", 10, "percent"),
            "customer-satisfaction": ("gt", 95, "percent"),
            "support-resolution-time": ("lt", "4h", "duration"),
            "critical-bugs": ("eq", 0, "count"),
        }),
        ("spark", "early_warning", {
            "ticket-volume-surge": ("gte", 50, "percent"),
            "repeat-tickets": ("gte", 3, "count"),
            "rising-errors": ("gte", "48h", "duration"),
            "satisfaction-dropping": (None, None, None),
        }),
        ("teamflow", "objectives", {
            "escalated-satisfaction": ("gt", 95, "percent"),
            "first-call-resolution": ("gt", 80, "percent"),
            "sla-compliance": ("gt", 99, "percent"),
            "escalation-rate": ("lt", 5, "percent"),
        }),
        ("crisis", "objectives", {"sub-five-minute-response": ("lt", "5m", "duration")}),
    ],
)
def test_objectives_and_early_warnings(name, collection, expected):
    assert measures(name, collection) == expected


def test_crisis_phases_and_roles():
    policy = load_preset("crisis")
    assert [(p.key, duration_notation(p.start), duration_notation(p.end)) for p in policy.phases] == [
        ("immediate-response", "0m", "5m"),
        ("investigation", "5m", "30m"),
        ("resolution-recovery", "30m", "2h"),
        ("security-containment", "0m", "15m"),
        ("security-investigation", "15m", "4h"),
        ("security-eradication", "4h", "24h"),
        ("data-recovery", "0m", "2h"),
        ("post-mortem", "24h", "8d"),
    ]
    assert [r.key for r in policy.roles] == [
        "incident_commander", "technical_lead", "security_lead", "communications_lead", "operations_lead", "csm",
    ]


@pytest.mark.parametrize("name", PRESETS)
def test_presets_run_around_the_clock_and_pause_only_resolution(name):
    policy = load_preset(name)
    assert all(policy.calendar_for(clock) == Calendar() for clock in CLOCKS)
    assert set(policy.pausable_clocks) <= {"resolution", "resolution_max"}


# --------------------------------------------------------------------------
# Lookups on a policy.


def test_policy_lookups():
    policy = parse_policy(MINIMAL, "minimal.yaml")
    assert [
        policy.target("acknowledge", "P0", None),
        policy.target("resolution", "P0", "pro"),
        policy.target("resolution", "P0", None),  # plan unknown: the strictest tier
        policy.target("resolution", "P1", "pro"),
        policy.severity_label("P1"),
        policy.level("L2").name,
    ] == [timedelta(minutes=15), timedelta(hours=4), timedelta(hours=2), None, "High", "Boss"]
    with pytest.raises(KeyError, match="defined: L1, L2"):
        policy.level("L4")
    with pytest.raises(KeyError, match="unknown clock"):
        policy.target("lunch", "P0")
    with pytest.raises(KeyError, match="unknown severity 'P7' or tier 'gold'"):
        policy.target("resolution", "P7", "gold")


def test_per_clock_calendar_drives_triage_deadlines():
    text = MINIMAL + """\
calendars:
  default: 24x7
  resolution:
    kind: business_hours
    tz: Europe/Paris
    hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"],
            thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
    holidays: [2025-03-10]
"""
    policy = parse_policy(text, "office.yaml")
    assert policy.calendar_for("acknowledge") == Calendar()
    # Friday 16:00 Paris; Monday is a holiday, so 1h Friday + 1h Tuesday.
    detected = datetime(2025, 3, 7, 15, 0, tzinfo=UTC)
    result = triage(Answers(complete_outage=True, customer_tier="enterprise"), policy, detected)
    assert (result.escalation_level, result.deadlines) == (
        "L2",
        {
            "acknowledge": datetime(2025, 3, 7, 15, 15, tzinfo=UTC),
            "resolution": datetime(2025, 3, 11, 9, 0, tzinfo=UTC),
        },
    )
    assert Policy.model_validate(policy.model_dump(mode="json")) == policy


# --------------------------------------------------------------------------
# Durations and the rule language.


@pytest.mark.parametrize(
    "text, value, written",
    [
        ("15m", timedelta(minutes=15), "15m"),
        ("4h", timedelta(hours=4), "4h"),
        ("1h30m", timedelta(minutes=90), "1h30m"),
        ("90d", timedelta(days=90), "90d"),
        ("1w", timedelta(weeks=1), "1w"),
        ("72h", timedelta(hours=72), "72h"),
        ("1d", timedelta(days=1), "24h"),
        ("8d", timedelta(days=8), "8d"),
        ("14d", timedelta(days=14), "2w"),
        ("0m", timedelta(0), "0m"),
    ],
)
def test_durations(text, value, written):
    assert (parse_duration(text), duration_notation(value)) == (value, written)


@pytest.mark.parametrize("text", ["15", "15 minutes", "1.5h", "h", "", "-1h", "4H"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="for example 15m, 4h"):
        parse_duration(text)


@pytest.mark.parametrize(
    "condition, answers, fires",
    [
        ({"business_impact": "stopped"}, {"business_impact": "stopped"}, True),
        ({"business_impact": "stopped"}, {"business_impact": "major"}, False),
        ({"business_impact": "stopped"}, {}, False),
        ({"business_impact": ["stopped", "major"]}, {"business_impact": "major"}, True),
        ({"business_impact": {"in": ["stopped"]}}, {"business_impact": "major"}, False),
        ({"outage_minutes": {"gt": 60}}, {"outage_minutes": 60}, False),
        ({"outage_minutes": {"gte": 60}}, {"outage_minutes": 60}, True),
        ({"outage_minutes": {"gt": 60, "lte": 240}}, {"outage_minutes": 300}, False),
        ({"csat": {"lt": 7}}, {}, False),
        ({"complete_outage": True, "outage_minutes": {"gt": 60}},
         {"complete_outage": True, "outage_minutes": 61}, True),
        ({"complete_outage": True, "outage_minutes": {"gt": 60}}, {"complete_outage": True}, False),
        ({"any": [{"data_loss": True}, {"csat": {"lt": 7}}]}, {"csat": 3}, True),
        ({"all": [{"data_loss": True}, {"csat": {"lt": 7}}]}, {"csat": 3}, False),
        ({"other_customers_affected": True}, {"other_customers_affected": "yes"}, True),  # YAML's bare yes
        ({"customer": "Acme"}, {"customer": "Acme"}, True),
    ],
)
def test_condition_semantics(condition, answers, fires):
    parsed = Condition.parse(condition)
    assert parsed.matches(Answers(**answers)) is fires
    assert Condition.parse(parsed.to_data()) == parsed


# --------------------------------------------------------------------------
# Invalid files: the message names the file, the path and what is allowed.


@pytest.mark.parametrize(
    "old, new, fragments",
    [
        ("acknowledge: 15m", "acknowledge: 15 minutes",
         ["broken.yaml", "targets.P0.acknowledge", "not a duration", "15m, 4h, 90d, 1w"]),
        ("acknowledge: 15m", "acknowledg: 15m",
         ["broken.yaml", "targets.P0.acknowledg", "unknown key 'acknowledg'", "'acknowledge', 'client_notification'"]),
        ("  P0:\n    acknowledge", "  P5:\n    acknowledge",
         ["broken.yaml", "targets.P5", "unknown key 'P5'", "'P0', 'P1', 'P2' or 'P3'"]),
        ("basic: 8h", "gold: 8h",
         ["broken.yaml", "targets.P0.resolution.gold", "unknown key 'gold'", "basic, pro, enterprise"]),
        ("{gt: 60}", "{above: 60}",
         ["broken.yaml", "rules[0].when.any[1].outage_minutes.above", "operator 'above'", "eq, gt, gte, lt, lte"]),
        ("{outage_minutes:", "{outage_mins:",
         ["broken.yaml", "rules[0].when.any[1].outage_mins", "unknown field or operator", "outage_minutes"]),
        ("{complete_outage: true}", "{business_impact: stoped}",
         ["broken.yaml", "rules[0].when.any[0].business_impact", "'stoped'", "stopped, major, minor, none"]),
        ("{complete_outage: true}", "{complete_outage: false}",
         ["broken.yaml", "rules[0].when.any[0].complete_outage", "only test that it is set"]),
        ("then: {severity: P0}", "then: {severity: P9}",
         ["broken.yaml", "rules[0].then.severity", "'P9'", "'P0', 'P1', 'P2' or 'P3'"]),
        ("then: {severity: P0}", "then: {}",
         ["broken.yaml", "rules[0].then", "at least one of: severity, red_status"]),
        ("escalation_level: L2}", "escalation_level: L3}",
         ["broken.yaml", "severities[0].escalation_level", "'L3' is not defined", "defined levels: L1, L2"]),
        ("{id: P2, label: Medium, definition: Annoying, section: S}",
         "{id: P2, label: Medium, definition: Annoying, section: S, escalation_level: L2}",
         ["broken.yaml", "severities[2]", "P2 may not imply more than P1"]),
        ("{id: P2,", "{id: P1,",
         ["broken.yaml", "severities", "exactly P0, P1, P2, P3"]),
        ("{id: L2, name: Boss", "{id: L3, name: Boss",
         ["broken.yaml", "escalation_levels", "L1 upwards without gaps"]),
        ("title: Minimal policy\n", "title: Minimal policy\ncolour: red\n",
         ["broken.yaml", "colour", "unknown key 'colour'", "name, title, source"]),
        ("name: minimal", "name: Minimal Policy",
         ["broken.yaml", "name", "should match pattern"]),
        ("    reason: Down\n", "",
         ["broken.yaml", "rules[0].reason", "required key is missing"]),
        ("title: Minimal policy\n", "title: Minimal policy\ntitle: Again\n",
         ["broken.yaml", "duplicate key 'title'"]),
    ],
)
def test_invalid_policies_explain_where_and_what_is_allowed(old, new, fragments):
    assert old in MINIMAL
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(MINIMAL.replace(old, new, 1), "broken.yaml")
    message = str(excinfo.value)
    assert [f for f in fragments if f not in message] == [], message


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("- just\n- a list\n", "a policy file is a YAML mapping"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_files_that_are_not_policies(text, fragment):
    with pytest.raises(PolicyError, match=fragment):
        parse_policy(text, "odd.yaml")


# --------------------------------------------------------------------------
# Limits checked before and while parsing: size, depth, aliases.

PROBLEM_LINE = re.compile(r"^[^:\n]+:\d+: \S+: \S.*$")


@pytest.mark.parametrize("name", sorted(HOSTILE_POLICIES))
def test_hostile_files_are_refused_quickly_with_one_line_per_problem(name):
    data, fragment = HOSTILE_POLICIES[name]
    # The budget is this thread's CPU time, a bound on the work a hostile file can cause (a blow-up is
    # seconds to hours of it), not wall time: other processes loading the machine cannot fail it.
    started = time.thread_time()
    with pytest.raises(PolicyFileError) as excinfo:
        parse_policy(data, f"{name}.yaml")
    spent = time.thread_time() - started
    assert fragment in str(excinfo.value)
    assert all(PROBLEM_LINE.match(str(p)) for p in excinfo.value.problems), str(excinfo.value)
    assert spent < 1.0, f"{name} took {spent:.2f} s of CPU"


def test_hostile_corpus_size():
    refused = sum(1 for data, _f in HOSTILE_POLICIES.values() if _refused(data))
    print(f"hostile policy files: {len(HOSTILE_POLICIES)} checked, {refused} refused")
    assert refused == len(HOSTILE_POLICIES) >= 5


def _refused(data: bytes) -> bool:
    try:
        parse_policy(data, "x.yaml")
    except PolicyFileError:
        return True
    return False


def test_the_same_limits_apply_to_text_and_to_files(tmp_path):
    text = "name: x\ndescription: '" + "é" * (MAX_POLICY_BYTES // 2) + "'\n"  # few characters, many bytes
    with pytest.raises(PolicyFileError, match="at most 262,144 bytes"):
        parse_policy(text, "wide.yaml")
    path = tmp_path / "wide.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyFileError, match=r"^wide.yaml:1: \(file\): the file is 262,?\d+ bytes"):
        load_policy_file(path)


def test_a_small_alias_is_still_allowed():
    text = (PRESET_DIR / "spark.yaml").read_text(encoding="utf-8")
    assert "&" not in text  # the presets use no anchors; a team may
    first, second = re.findall(r"section: ([^,}\n]+)", text)[:2]
    anchored = text.replace(f"section: {first}", f"section: &first {first}", 1)
    aliased = anchored[::-1].replace(f"section: {second}"[::-1], "section: *first"[::-1], 1)[::-1]
    policy = parse_policy(aliased, "spark.yaml")
    assert "*first" in aliased and policy.name == "spark"


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("acknowledge: 15m", "acknowledge: 15 minutes", "broken.yaml:13: targets.P0.acknowledge: not a duration"),
        ("title: Minimal policy\n", "title: Minimal policy\ncolour: red\n", "broken.yaml:3: colour: unknown key"),
        ("{gt: 60}", "{above: 60}", "broken.yaml:17: rules[0].when.any[1].outage_minutes.above: operator 'above'"),
        ("title: Minimal policy\n", "title: Minimal policy\ntitle: Again\n",
         "broken.yaml:3: (file): not valid YAML: duplicate key 'title'"),
    ],
)
def test_problems_carry_the_line_they_are_on(old, new, expected):
    with pytest.raises(PolicyFileError) as excinfo:
        parse_policy(MINIMAL.replace(old, new, 1), "broken.yaml")
    assert str(excinfo.value).startswith(expected), str(excinfo.value)


MINIMAL_PHASES = MINIMAL + """\
phases:
  - key: notify
    title: Tell the client
    start: 15m
    end: 30m
    section: S
    steps:
      - {key: call, title: Call the client, due: 30m, milestone: client_notified}
      - {key: email, title: Confirm by email, due: 30m}
  - key: mobilize
    title: Bring in the team
    start: 30m
    end: 45m
    section: S
    steps:
      - {key: alert, title: Alert the technical lead, due: 45m, milestone: mobilized}
"""


def test_phase_steps_load():
    phases = parse_policy(MINIMAL_PHASES, "phases.yaml").phases
    assert [(p.key, [(s.key, duration_notation(s.due), s.milestone) for s in p.steps]) for p in phases] == [
        ("notify", [("call", "30m", "client_notified"), ("email", "30m", None)]),
        ("mobilize", [("alert", "45m", "mobilized")]),
    ]


@pytest.mark.parametrize(
    "old, new, expected",
    [
        # A step is due at an offset from detection, never before its phase starts.
        ("due: 30m, milestone", "due: 10m, milestone",
         "broken.yaml:34: phases[0].steps[0].due: step 'call' is due before its phase starts (15m after detection)"),
        # ...nor after it ends: a phase's window covers its steps.
        ("due: 30m, milestone", "due: 40m, milestone",
         "broken.yaml:34: phases[0].steps[0].due: step 'call' is due after its phase ends (30m after detection): "
         "move it to a later phase or widen this one"),
        # Step keys are unique across the whole policy (the incident stores ticked steps by key)...
        ("key: alert", "key: call",
         "broken.yaml:42: phases[1].steps[0].key: step key 'call' is used twice; step keys are unique across phases"),
        # ...and within one phase.
        ("key: email", "key: call",
         "broken.yaml:35: phases[0].steps[1].key: step key 'call' is used twice; step keys are unique across phases"),
        ("milestone: mobilized", "milestone: closed",
         "broken.yaml:42: phases[1].steps[0].milestone: 'closed' is not allowed; expected 'acknowledged', "
         "'client_notified', 'mobilized', 'mitigated', 'resolved' or 'client_confirmed'"),
    ],
)
def test_phase_step_problems_name_the_line_and_the_step(old, new, expected):
    assert old in MINIMAL_PHASES
    with pytest.raises(PolicyFileError) as excinfo:
        parse_policy(MINIMAL_PHASES.replace(old, new, 1), "broken.yaml")
    assert str(excinfo.value) == expected


def test_missing_file_and_unknown_preset():
    with pytest.raises(PolicyError, match=r"nowhere.yaml:1: \(file\): cannot read policy file"):
        load_policy_file("/nonexistent/nowhere.yaml")
    with pytest.raises(PolicyError) as excinfo:
        load_preset("gold")
    assert str(excinfo.value) == (
        "unknown policy 'gold'; choose one of: crisis, default, growth-engine, red-status, spark, teamflow"
    )


def test_public_constants():
    assert CLOCKS == (
        "acknowledge", "client_notification", "mobilization", "client_update", "resolution", "resolution_max",
        "escalation",
    )
    assert (SEVERITIES, TIERS) == (("P0", "P1", "P2", "P3"), ("basic", "pro", "enterprise"))


# --------------------------------------------------------------------------
# Incident roles come from the policy.

MINIMAL_ROLES = """roles:
  - {key: incident_commander, title: Incident commander}
  - {key: csm, title: Customer Success Manager}
"""
NO_ROLES = MINIMAL.replace(MINIMAL_ROLES, "")


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_defines_the_required_roles(name):
    assert set(REQUIRED_ROLES) <= set(load_preset(name).role_keys())


@pytest.mark.parametrize(("roles", "message"), [
    ("", "roles: every policy defines the incident roles incident_commander and csm; add incident_commander, csm"),
    ("roles:\n  - {key: csm, title: CSM}\n", "roles: every policy defines the incident roles incident_commander "
                                               "and csm; add incident_commander"),
    ("roles:\n  - {key: incident_commander, title: IC}\n", "; add csm"),
    ("roles:\n  - {key: incident-commander, title: IC}\n  - {key: csm, title: CSM}\n",
     "roles[0].key: write role keys with underscores: incident_commander"),
])
def test_a_policy_without_the_required_roles_is_refused(roles, message):
    with pytest.raises(PolicyFileError) as refused:
        parse_policy(NO_ROLES + roles, "team.yaml")
    assert message in str(refused.value)


def test_an_old_snapshot_without_roles_still_loads_with_the_roles_of_its_time():
    snapshot = load_preset("default").model_dump(mode="json")
    del snapshot["roles"]
    with pytest.raises(ValueError, match="every policy defines the incident roles"):
        Policy.model_validate(snapshot)  # a team's new policy must list them...
    policy = stored_policy(json.dumps(snapshot))  # ...a stored one is completed
    assert policy.role_keys() == tuple(role["key"] for role in DEFAULT_ROLES)
    assert stored_policy(snapshot) == policy
    assert policy.role_title("technical_lead") == "Technical lead"


def test_an_old_snapshot_with_hyphenated_roles_is_read_with_underscores_and_a_csm():
    snapshot = load_preset("spark").model_dump(mode="json")
    snapshot["roles"] = [{"key": "incident-commander", "title": "Incident commander"},
                         {"key": "assigned-engineer", "title": "Assigned engineer"}]
    policy = stored_policy(snapshot)
    assert policy.role_keys() == ("incident_commander", "assigned_engineer", "csm")
    assert policy.role_title("executive_sponsor") == "Executive sponsor"  # held before, not in this policy


def test_a_saved_version_without_roles_is_read_back():
    assert parse_policy(NO_ROLES, "minimal v1", stored=True).role_keys() == tuple(r["key"] for r in DEFAULT_ROLES)


def test_the_policy_cache_parses_a_text_once_and_reads_saved_versions_without_roles():
    from core.policy.loading import cached_policy, snapshot_policy

    before_roles = MINIMAL[:MINIMAL.index("roles:")]  # a version saved before every policy listed its roles
    with pytest.raises(PolicyError, match="incident_commander"):
        parse_policy(before_roles, "team.yaml")
    first = cached_policy(before_roles, "team v1", stored=True)
    assert cached_policy(before_roles, "team v1", stored=True) is first
    assert {"incident_commander", "csm"} <= {role.key for role in first.roles}
    snapshot = first.model_dump(mode="json")
    assert snapshot_policy(snapshot) is snapshot_policy(dict(reversed(list(snapshot.items()))))


def test_growth_engine_tiers_hand_off_after_their_own_time():
    # Support Tiers: "Escalation: if not resolved in 30 minutes" (L1), "2 hours" (L2), "8 hours" (L3).
    policy = load_preset("growth-engine")
    assert [(level.id, level.resolve_within and duration_notation(level.resolve_within))
            for level in policy.escalation_levels] == [("L1", "30m"), ("L2", "2h"), ("L3", "8h"), ("L4", None)]


# --------------------------------------------------------------------------
# Reading a saved version back: libyaml for a plain text, the checked loader for anything else.


@pytest.mark.parametrize("name", preset_names())
def test_a_stored_preset_reads_back_the_same_through_libyaml_and_the_checked_loader(name, monkeypatch):
    from core.policy import loading

    text = (PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert loading._plain_stored_data(text) is not None  # the fast path is taken for every preset
    fast = loading.parse_policy(text, name, stored=True)
    monkeypatch.setattr(loading, "_C_LOADER", None)
    assert loading.parse_policy(text, name, stored=True) == fast


@pytest.mark.parametrize("text", [
    "name: a\nsteps: &s [1, 2]\nagain: *s\n",      # an anchor and an alias: the checked loader measures them
    "name: a\ntitle: x\nname: b\n",                # a repeated key: the checked loader refuses it
    "name: a\n? [complex, key]\n: v\n",            # a key that is not a plain value
    "name: a\nx: " + "[" * 40 + "]" * 40 + "\n",   # deeper than MAX_POLICY_DEPTH
    "name: [unclosed\n",                           # not YAML at all
])
def test_a_stored_text_that_is_not_plain_takes_the_checked_path(text):
    from core.policy import loading

    assert loading._plain_stored_data(text) is None


def test_a_repeated_key_in_a_nested_mapping_is_seen_and_sibling_mappings_do_not_share_keys():
    from core.policy import loading

    assert loading._plain_stored_data("a: {x: 1, y: 2}\nb: {x: 1, y: 2}\nc: [{x: 1}, {x: 2}]\n") == {
        "a": {"x": 1, "y": 2}, "b": {"x": 1, "y": 2}, "c": [{"x": 1}, {"x": 2}]}
    assert loading._plain_stored_data("a: {x: 1, y: {z: 1}, x: 2}\n") is None
    assert loading._plain_stored_data("a:\n  - x: 1\n    x: 2\n") is None
