"""The `alerts:` section of a policy: the presets' house lead times, validation, and stored policies without it.

Lead times are house defaults (no playbook gives one); each row also quotes the playbook's target the
lead is scaled to, so a changed target that would leave a warning after the breach shows here first.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.policy.loading import PRESET_DIR, PolicyError, load_preset, parse_policy
from core.policy.schema import Alerts, stored_policy
from tests.core.test_policy import MINIMAL

M = timedelta(minutes=1)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    "name, clock, severity, target, lead",
    [
        # default: red-status's 15m acknowledge for P0, our synthesis' 1h for P1; resolution 4h (red-status, spark P0).
        ("default", "acknowledge", "P0", 15 * M, 5 * M),
        ("default", "acknowledge", "P1", 1 * H, 10 * M),
        ("default", "resolution", "P0", 4 * H, 15 * M),
        ("default", "resolution", "P3", 90 * 24 * H, 24 * H),
        ("default", "client_notification", "P0", 30 * M, 10 * M),
        # crisis: every severity acknowledged within 5 minutes; P0 resolved within 2 hours.
        ("crisis", "acknowledge", "P2", 5 * M, 2 * M),
        ("crisis", "resolution", "P0", 2 * H, 15 * M),
        # red-status: critical notification 30m, mobilisation 45m.
        ("red-status", "client_notification", "P1", 30 * M, 10 * M),
        ("red-status", "mobilization", "P0", 45 * M, 10 * M),
        # spark: P0 acknowledged and the client notified within 15 minutes; P2 resolved within a week.
        ("spark", "client_notification", "P0", 15 * M, 5 * M),
        ("spark", "resolution", "P2", 7 * 24 * H, 12 * H),
        # growth-engine: P0 acknowledged within 5 minutes, L2 responds within 15 minutes at P0.
        ("growth-engine", "acknowledge", "P0", 5 * M, 2 * M),
        ("growth-engine", "response_L2", "P0", 15 * M, 5 * M),
        # teamflow: L4 (executives) respond within 1 hour; critical resolution 4 hours.
        ("teamflow", "response_L4", "P2", 1 * H, 10 * M),
        ("teamflow", "resolution", "P0", 4 * H, 15 * M),
    ],
)
def test_preset_warnings_come_before_the_playbook_targets(name, clock, severity, target, lead):
    policy = load_preset(name)
    assert min(policy._alert_targets(clock, severity)) == target
    assert policy.alerts.lead(clock, severity) == lead
    assert lead < target


@pytest.mark.parametrize(
    "name, severity, reminder",
    [
        ("default", "P0", 10 * M),   # updates every 30m (red-status critical)
        ("default", "P1", 15 * M),   # every 4h (spark P1)
        ("red-status", "P1", 10 * M),  # hourly for high priority
        ("spark", "P0", 10 * M),     # hourly P0 communication timeline
        ("teamflow", "P2", 5 * M),   # outage updates every 15 minutes, whatever the severity
        ("crisis", "P0", None),      # crisis plans no client cadence
        ("growth-engine", "P0", None),
    ],
)
def test_preset_client_update_reminders(name, severity, reminder):
    assert load_preset(name).alerts.reminder(severity) == reminder


@pytest.mark.parametrize("name", ["crisis", "default", "growth-engine", "red-status", "spark", "teamflow"])
def test_presets_alert_at_every_breach_and_ladder_step_and_say_so_in_their_header(name):
    policy = load_preset(name)
    assert policy.alerts.escalation_steps
    assert all(policy.alerts.on_breach(clock) for clock in ("acknowledge", "resolution", "escalation"))
    text = (PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    header = text[: text.index(f"\nname: {name}\n")]
    assert "house defaults" in header and "warn_before" in header and "client_update_reminder" in header


def test_a_growth_engine_immediate_escalation_gets_no_warning_ahead():
    # growth-engine: a P0 goes to level 4 at once (target 0m): a warning could only come after it.
    policy = load_preset("growth-engine")
    assert policy.target("escalation", "P0") == timedelta(0)
    assert policy.alerts.lead("escalation", "P0") is None
    assert policy.alerts.on_breach("escalation")


def test_a_stored_policy_without_alerts_alerts_at_breaches_and_ladder_steps_only():
    snapshot = load_preset("default").model_dump(mode="json")
    del snapshot["alerts"]
    policy = stored_policy(snapshot)
    assert policy.alerts == Alerts()
    assert policy.alerts.lead("acknowledge", "P0") is None
    assert policy.alerts.reminder("P0") is None
    assert policy.alerts.on_breach("resolution") and policy.alerts.escalation_steps


def test_alerts_round_trip_through_a_json_snapshot():
    policy = load_preset("teamflow")
    assert stored_policy(policy.model_dump(mode="json")).alerts == policy.alerts


WITH_ALERTS = MINIMAL + """\
alerts:
  warn_before:
    acknowledge: {P0: 5m}
    resolution: 30m
  at_breach: {acknowledge: true, resolution: false}
  client_update_reminder: 10m
"""


def test_a_policy_with_alerts_loads():
    alerts = parse_policy(WITH_ALERTS, "ok.yaml").alerts
    assert alerts.lead("acknowledge", "P0") == 5 * M
    assert alerts.lead("acknowledge", "P1") is None
    assert alerts.lead("resolution", "P3") == 30 * M
    assert alerts.on_breach("acknowledge") and not alerts.on_breach("resolution")
    assert alerts.on_breach("mobilization")  # a clock left out alerts at its breach
    assert alerts.reminder("P2") == 10 * M


@pytest.mark.parametrize(
    "old, new, fragments",
    [
        ("acknowledge: {P0: 5m}", "acknowledg: {P0: 5m}",
         ["alerts.warn_before.acknowledg", "'acknowledge'", "'response_L1'"]),
        ("acknowledge: {P0: 5m}", "response_L3: {P0: 5m}",
         ["alerts.warn_before.response_L3", "level L3, which this policy does not define", "L1, L2"]),
        ("acknowledge: {P0: 5m}", "acknowledge: {P0: 15m}",
         ["alerts.warn_before.acknowledge.P0", "P0 warning comes 15m before the acknowledge clock",
          "target is 15m", "shorter than 15m (e.g. 5m)"]),
        ("acknowledge: 15m", "acknowledge: 1m",
         ["alerts.warn_before.acknowledge.P0", "no lead fits a target this short; leave P0 out"]),
        ("acknowledge: {P0: 5m}", "acknowledge: {P0: -5m}", ["alerts.warn_before.acknowledge.P0", "not a duration"]),
        ("acknowledge: {P0: 5m}", "acknowledge: {P0: 0m}",
         ["alerts.warn_before.acknowledge.P0", "a lead time is positive", "leave the severity out"]),
        ("acknowledge: {P0: 5m}", "acknowledge: {P0: 15d}",
         ["alerts.warn_before.acknowledge.P0", "more than 1w ahead", "did you mean minutes"]),
        ("acknowledge: {P0: 5m}", "acknowledge: {}", ["alerts.warn_before.acknowledge", "give a lead time"]),
        ("resolution: 30m", "resolution: 3h",
         ["alerts.warn_before.resolution", "P0 warning comes 3h", "target is 2h"]),  # enterprise resolves in 2h
        ("acknowledge: {P0: 5m}", "client_update: {P0: 5m}",
         ["alerts.warn_before.client_update", "set client_update_reminder"]),
        ("resolution: false", "resolution: maybe", ["alerts.at_breach.resolution", "bool"]),
        ("client_update_reminder: 10m", "client_update_reminder: 10 minutes",
         ["alerts.client_update_reminder", "not a duration"]),
        ("client_update_reminder: 10m", "client_update_remind: 10m",
         ["alerts.client_update_remind", "unknown key", "warn_before, at_breach, escalation_steps"]),
    ],
)
def test_invalid_alerts_say_what_to_fix(old, new, fragments):
    assert old in WITH_ALERTS
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(WITH_ALERTS.replace(old, new, 1), "broken.yaml")
    message = str(excinfo.value)
    assert [f for f in fragments if f not in message] == [], message


def test_a_reminder_longer_than_the_cadence_is_refused():
    text = WITH_ALERTS.replace("    acknowledge: 15m\n", "    acknowledge: 15m\n    client_update: 30m\n", 1)
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(text.replace("client_update_reminder: 10m", "client_update_reminder: {P0: 45m}"), "b.yaml")
    assert "P0 reminder comes 45m before a client update is due, but updates are due every 30m" in str(excinfo.value)


@pytest.mark.parametrize("name, always_page", [
    ("growth-engine", ("P0", "P1")),  # "Availability: 24/7 for P0-P1 issues"
    ("default", ("P0", "P1")),
    ("crisis", ("P0", "P1")),
    ("red-status", ("P0", "P1")),
    ("spark", ("P0", "P1")),
    ("teamflow", ("P0", "P1")),
])
def test_presets_page_through_quiet_hours_for_p0_and_p1(name, always_page):
    assert load_preset(name).alerts.always_page == always_page


def test_always_page_defaults_to_p0_p1_and_is_checked():
    assert Alerts().always_page == ("P0", "P1")
    assert parse_policy(WITH_ALERTS + "  always_page: [P0]\n", "ok.yaml").alerts.always_page == ("P0",)
    with pytest.raises(PolicyError) as excinfo:
        parse_policy(WITH_ALERTS + "  always_page: [P9]\n", "broken.yaml")
    assert "alerts.always_page" in str(excinfo.value)
