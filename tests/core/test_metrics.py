"""Metric definitions on hand-computed cases: clock states at query time, attainment, percentiles,
repeats, emergency work and how policy objectives are measured and judged.

Incidents use the red-status preset (P0: acknowledge 15m, notify 30m, mobilise 45m, resolve 4h;
only resolution clocks pause), detected Monday 2025-03-03 09:00 UTC.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.policy.loading import load_preset, preset_names
from core.sla import metrics
from core.sla.clocks import IncidentFacts, Pause, compute_clocks
from core.sla.metrics import Attainment, clock_fact, state_now
from core.vocabulary import CLOCKS, LEVEL_RESPONSE_CLOCKS, SEVERITIES, TIERS, ClockState

UTC = dt.UTC
DETECTED = dt.datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
H = 3600


def at(hhmm: str, day: int = 3) -> dt.datetime:
    """A UTC time on March `day` 2025."""
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def facts_at(now: dt.datetime, **moments) -> dict[str, str]:
    """Each tracked clock's state at `now`, read the way the dashboard reads a stored fact."""
    pauses = tuple(Pause(start, end) for start, end in moments.pop("pauses", ()))
    incident = IncidentFacts(severity="P0", tier="enterprise", detected_at=DETECTED, pauses=pauses, **moments)
    return {c.clock: c.state.value for c in compute_clocks(incident, load_preset("red-status"), now)
            if c.clock in metrics.TRACKED_CLOCKS}


# --------------------------------------------------------------------------
# Clock states, including the ones that change with time after the last write.


@pytest.mark.parametrize("stored, stopped, now, expected", [
    ("running", False, at("09:10"), "running"),     # before the deadline
    ("running", False, at("09:16"), "breached"),    # written in time, now past the deadline
    ("breached", False, at("09:16"), "breached"),   # was already late when written
    ("paused", False, at("23:00"), "paused"),       # the deadline moves while paused
    ("met", True, at("23:00"), "met"),
    ("breached", True, at("23:00"), "breached"),
])
def test_state_now_classifies_open_clocks_at_query_time(stored, stopped, now, expected):
    assert state_now(stored, at("09:15"), stopped, now) == expected


@pytest.mark.parametrize("case, moments, now, expected", [
    # No escalation level is required here, so there is no escalation clock.
    ("still open, all in time", {}, at("09:10"),
     {"acknowledge": "running", "client_notification": "running", "mobilization": "running",
      "resolution": "running"}),
    ("still open, acknowledge late", {"acknowledged_at": at("09:20")}, at("09:40"),
     {"acknowledge": "breached", "client_notification": "breached", "mobilization": "running",
      "resolution": "running"}),
    ("resolved in 3h, everything stamped in time",
     {"acknowledged_at": at("09:05"), "client_notified_at": at("09:25"), "mobilized_at": at("09:40"),
      "resolved_at": at("12:00")}, at("18:00"),
     {"acknowledge": "met", "client_notification": "met", "mobilization": "met", "resolution": "met"}),
    # Paused 10:00-12:00: resolution moves from 13:00 to 15:00, so 14:30 is in time;
    # the notification clock does not pause and was never stamped: resolution stops it, late.
    ("paused two hours, resolved 14:30",
     {"acknowledged_at": at("09:05"), "mobilized_at": at("09:40"), "resolved_at": at("14:30"),
      "pauses": [(at("10:00"), at("12:00"))]}, at("18:00"),
     {"acknowledge": "met", "client_notification": "breached", "mobilization": "met", "resolution": "met"}),
    ("paused now, past the unpaused deadline", {"acknowledged_at": at("09:05"), "pauses": [(at("12:00"), None)]},
     at("14:00"), {"acknowledge": "met", "client_notification": "breached", "mobilization": "breached",
                   "resolution": "paused"}),
    # A reopened incident has no resolution time any more: its clocks run again from detection.
    ("reopened the next day", {"acknowledged_at": at("09:05"), "client_notified_at": at("09:20"),
                               "mobilized_at": at("09:30")}, at("10:00", day=4),
     {"acknowledge": "met", "client_notification": "met", "mobilization": "met", "resolution": "breached"}),
])
def test_clock_states_of_hand_computed_incidents(case, moments, now, expected):
    assert facts_at(now, **moments) == expected, case


def test_clock_fact_keeps_actual_time_and_bucket():
    incident = IncidentFacts(severity="P0", tier=None, detected_at=DETECTED, acknowledged_at=at("09:12"),
                             resolved_at=at("13:30"))
    facts = {c.clock: clock_fact(c, DETECTED) for c in compute_clocks(incident, load_preset("red-status"), at("18:00"))}
    assert (facts["acknowledge"].actual_seconds, facts["acknowledge"].state) == (12 * 60, "met")
    assert facts["acknowledge"].bucket == metrics.bucket_of(12 * 60) == metrics.DURATION_BOUNDS.index(15 * 60)
    assert (facts["resolution"].actual_seconds, facts["resolution"].state) == (4.5 * H, "breached")
    assert facts["resolution"].target_seconds == 4 * H
    assert not facts["resolution"].is_open


@pytest.mark.parametrize("counts, pct, decided", [
    (Attainment(met=3, breached=1), 75.0, 4),
    (Attainment(met=0, breached=2, running=5), 0.0, 2),
    (Attainment(running=3, paused=1), None, 0),
    (Attainment(met=1) + Attainment(breached=1, paused=2), 50.0, 2),
])
def test_attainment_is_met_over_decided(counts, pct, decided):
    assert (counts.pct, counts.decided) == (pct, decided)


def test_attainment_counts_states():
    assert Attainment.of_states(["met", "breached", "running", "paused", "met"]) == Attainment(2, 1, 1, 1)


# --------------------------------------------------------------------------
# The duration histogram and its percentiles.


@pytest.mark.parametrize("seconds, bucket", [
    (0, 0), (60, 0), (61, 1), (15 * 60, 4), (4 * H, metrics.DURATION_BOUNDS.index(4 * H)),
    (4 * H + 1, metrics.DURATION_BOUNDS.index(6 * H)), (91 * 86400, metrics.BUCKETS - 1),
])
def test_bucket_of(seconds, bucket):
    assert metrics.bucket_of(seconds) == bucket


@pytest.mark.parametrize("durations, q, expected", [
    ([], 0.5, None),
    ([30 * 60] * 4, 0.5, 30 * 60),                       # all in the (20m, 30m] bucket: halfway = 25m
    ([2 * H, 2 * H, 4 * H, 4 * H], 0.5, 2 * H),           # the median is the top of the 2h bucket
    ([100 * 86400], 0.9, 90 * 86400),                     # beyond the last bound reports that bound
])
def test_percentile_from_histogram(durations, q, expected):
    value = metrics.percentile_from_histogram(metrics.histogram(durations), q)
    if durations == [30 * 60] * 4:
        assert value == 25 * 60
    else:
        assert value == expected


def _exact_percentile(values: list[int], q: float) -> int:
    """The q-quantile by nearest rank: the reference the histogram estimate is checked against."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=80 * 86400), min_size=1, max_size=60),
       st.sampled_from([0.5, 0.9]))
def test_histogram_percentile_lies_in_the_bucket_of_the_exact_one(durations, q):
    exact = _exact_percentile(durations, q)
    estimate = metrics.percentile_from_histogram(metrics.histogram(durations), q)
    bucket = metrics.bucket_of(exact)
    low = metrics.DURATION_BOUNDS[bucket - 1] if bucket else 0
    assert low <= estimate <= metrics.DURATION_BOUNDS[bucket]


@pytest.mark.parametrize("policy", preset_names())
def test_every_preset_target_and_objective_threshold_is_a_bucket_bound(policy):
    preset = load_preset(policy)
    durations = {preset.target(c, s, t) for c in CLOCKS for s in SEVERITIES for t in TIERS}
    durations |= {d for rule in preset.rules for d in rule.then.targets.values()}
    durations |= {o.within for o in preset.objectives if o.within is not None}
    assert {int(d.total_seconds()) for d in durations if d} <= set(metrics.DURATION_BOUNDS)


# --------------------------------------------------------------------------
# Incidents: repeats and emergency work.


def test_repeat_flags_by_account_within_the_window():
    day = lambda n: DETECTED + dt.timedelta(days=n)  # noqa: E731
    detections = [(1, 10, day(0)), (2, 10, day(100)), (3, 10, day(400)), (4, 20, day(100)), (5, 10, day(400))]
    assert metrics.repeat_flags(detections) == {1: False, 2: True, 3: False, 4: False, 5: True}
    assert metrics.repeat_flags(detections, dt.timedelta(days=30)) == {1: False, 2: False, 3: False, 4: False,
                                                                       5: True}


@pytest.mark.parametrize("severity, resolved, now, seconds", [
    ("P0", at("13:00"), at("18:00"), 4 * H),
    ("P1", None, at("12:00"), 3 * H),     # still open: counts up to now
    ("P2", at("13:00"), at("18:00"), 0),  # not an emergency
])
def test_emergency_seconds(severity, resolved, now, seconds):
    assert metrics.emergency_seconds(severity, DETECTED, resolved, now) == seconds


def test_emergency_share_of_capacity():
    # 2 people x 40 h x 4 weeks = 320 h; 64 h of emergencies = 20 %.
    assert metrics.emergency_share(64 * H, people=2, weeks=4) == pytest.approx(20.0)
    assert metrics.emergency_share(10, people=0, weeks=4) is None


# --------------------------------------------------------------------------
# Objectives.


def objective(policy: str, key: str):
    """An objective of a preset by key."""
    return next(o for o in load_preset(policy).objectives if o.key == key)


@pytest.mark.parametrize("policy, key, measure", [
    ("red-status", "critical-resolved-4h", "within_share"),
    ("red-status", "outages-resolved-2h", "within_share"),
    ("red-status", "data-issues-resolved-6h", "within_share"),
    ("red-status", "notification-within-30m", "within_share"),
    ("red-status", "repeat-incidents", "repeat_share"),
    ("red-status", "response-accuracy", None),
    ("teamflow", "sla-compliance", "response_attainment"),
    ("spark", "repeat-issues", "repeat_share"),
    ("spark", "emergency-work", "emergency_share"),
    ("spark", "support-resolution-time", "median_duration"),
    ("crisis", "sub-five-minute-response", "median_duration"),
])
def test_how_each_playbook_objective_is_measured(policy, key, measure):
    assert metrics.measure_of(objective(policy, key)) == measure


@pytest.mark.parametrize("policy, key, actual, verdict, target", [
    ("red-status", "critical-resolved-4h", 95.0, "pass", "≥ 95 %"),
    ("red-status", "critical-resolved-4h", 94.9, "fail", "≥ 95 %"),
    ("red-status", "data-issues-resolved-6h", 100.0, "pass", "= 100 %"),
    ("red-status", "data-issues-resolved-6h", 99.5, "fail", "= 100 %"),
    ("teamflow", "sla-compliance", 99.0, "fail", "> 99 %"),
    ("spark", "repeat-issues", 9.9, "pass", "< 10 %"),
    ("spark", "emergency-work", 20.0, "fail", "< 20 %"),
    ("spark", "support-resolution-time", 3.5 * H, "pass", "< 4h"),
    ("red-status", "outages-resolved-2h", None, "no data", "≥ 99 %"),
])
def test_objective_verdicts(policy, key, actual, verdict, target):
    result = metrics.judge(policy, objective(policy, key), actual, "test")
    assert (result.verdict, result.target) == (verdict, target)


def test_emergency_limit_comes_from_the_policy():
    assert metrics.emergency_limit([load_preset("red-status"), load_preset("spark")]) == 20.0
    assert metrics.emergency_limit([load_preset("red-status")]) is None


def test_week_start_is_monday_utc():
    assert metrics.week_start(dt.datetime(2025, 3, 9, 23, 30, tzinfo=UTC)) == dt.date(2025, 3, 3)
    assert metrics.week_start(dt.datetime(2025, 3, 10, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))) \
        == dt.date(2025, 3, 3)
    assert ClockState.BREACHED.value == "breached"


def test_every_tracked_clock_name_fits_the_summary_and_incident_columns():
    # response_L1..response_L4 are tracked too; sla_clock_facts.clock, sla_rollup.clock and
    # incidents.next_deadline_clock are String(32).
    from db.models import Incident, SlaClockFact, SlaRollup

    assert set(LEVEL_RESPONSE_CLOCKS) <= set(metrics.TRACKED_CLOCKS)
    longest = max(len(clock) for clock in (*metrics.TRACKED_CLOCKS, *CLOCKS))
    columns = (SlaClockFact.__table__.c.clock, SlaRollup.__table__.c.clock, Incident.__table__.c.next_deadline_clock)
    for column in columns:
        assert column.type.length >= longest, column


@pytest.mark.parametrize("clock, label", [
    ("acknowledge", "Acknowledge"), ("escalation", "Reach the required escalation level"),
    ("response_L1", "L1 responds"), ("response_L4", "L4 responds"),
])
def test_tracked_clocks_have_labels(clock, label):
    from core.sla.clocks import clock_label

    assert clock_label(clock) == label


@pytest.mark.parametrize("start, zone, cell", [
    (dt.datetime(2026, 3, 29, 0, 0, tzinfo=UTC), "UTC", (6, 0)),
    (dt.datetime(2026, 3, 29, 0, 0, tzinfo=UTC), "Europe/Paris", (6, 1)),    # CET, the last hour before summer
    (dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "Europe/Paris", (6, 3)),    # CEST: 02:00 local never happens
    (dt.datetime(2026, 10, 25, 0, 0, tzinfo=UTC), "Europe/Paris", (6, 2)),   # 02:00 CEST ...
    (dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC), "Europe/Paris", (6, 2)),   # ... and 02:00 CET again
    (dt.datetime(2026, 3, 22, 23, 0, tzinfo=UTC), "Asia/Tokyo", (0, 8)),     # Sunday in UTC, Monday in Tokyo
    (dt.datetime(2026, 3, 2, 4, 0, tzinfo=UTC), "America/Los_Angeles", (6, 20)),
    (dt.datetime(2026, 3, 2, 4, 0, tzinfo=UTC), "Asia/Kolkata", (0, 9)),     # 09:30 to 09:45
    (dt.datetime(2026, 3, 2, 4, 30, tzinfo=UTC), "Asia/Kolkata", (0, 10)),   # 10:00 to 10:15
    (dt.datetime(2026, 3, 2, 4, 0, tzinfo=UTC), "Asia/Kathmandu", (0, 9)),   # 09:45 to 10:00
    (dt.datetime(2026, 3, 2, 4, 15, tzinfo=UTC), "Asia/Kathmandu", (0, 10)),
    (dt.datetime(2026, 4, 4, 14, 45, tzinfo=UTC), "Australia/Lord_Howe", (6, 1)),  # 01:45 at +11 until 02:00 ...
    (dt.datetime(2026, 4, 4, 15, 0, tzinfo=UTC), "Australia/Lord_Howe", (6, 1)),   # ... then +10:30: 01:30 again
    (dt.datetime(1900, 1, 1, 4, 0, tzinfo=UTC), "Europe/Amsterdam", None),   # +00:19:32 local mean time
    (dt.datetime(2026, 3, 2, 4, 0, tzinfo=UTC), "Not/AZone", (0, 4)),        # unknown: UTC
])
def test_a_utc_quarter_hour_lands_in_one_local_hour_or_is_refused(start, zone, cell):
    assert metrics.quarter_cell(start, zone) == cell


def test_heat_moves_whole_quarters_or_says_it_cannot_and_moments_always_can():
    week = dt.date(2026, 3, 23)
    quarters = [(metrics.utc_quarter(week, 6, 0, 0), 2), (metrics.utc_quarter(week, 6, 0, 2), 5),
                (metrics.utc_quarter(week, 6, 1, 0), 3)]
    assert quarters[1][0] == dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert metrics.heat_in_zone(quarters, "Europe/Paris") == {(6, 1): 7, (6, 3): 3}
    assert metrics.heat_in_zone(quarters, "Asia/Kolkata") == {(6, 5): 2, (6, 6): 8}
    assert metrics.heat_in_zone([(dt.datetime(1900, 1, 1, 4, 0, tzinfo=UTC), 1)], "Europe/Amsterdam") is None
    assert [metrics.quarter_of(dt.datetime(2026, 3, 2, 4, m, 59, tzinfo=UTC)) for m in (0, 14, 15, 44, 45, 59)] == [
        0, 0, 1, 2, 3, 3]
    moments = [(dt.datetime(2026, 3, 29, 0, 10, tzinfo=UTC), 1), (dt.datetime(2026, 3, 29, 0, 40, tzinfo=UTC), 1)]
    assert metrics.heat_of_moments(moments, "Asia/Kolkata") == {(6, 5): 1, (6, 6): 1}
