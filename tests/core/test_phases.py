"""The phase plan of an incident: which phases apply, each step's state at a time, the phase to work on.

The rule (core.incident.phases) on a small policy made for it: overlapping windows, a phase without
steps, phases scoped by severity and by condition. The presets' own phases are checked against their
playbooks in test_phase_presets.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.incident.phases import PhaseProgress, StepProgress, current_phase, next_steps, phase_plan
from core.policy.loading import parse_policy
from core.vocabulary import ClockState

MET, BREACHED, PENDING = ClockState.MET, ClockState.BREACHED, ClockState.PENDING
DETECTED = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)

PHASED = """\
name: phased
title: Phased policy
source: custom
description: A policy whose phases exercise the phase rule.
severities:
  - {id: P0, label: Critical, definition: Down, section: S, red_status: true, escalation_category: immediate}
  - {id: P1, label: High, definition: Hurting, section: S}
  - {id: P2, label: Medium, definition: Annoying, section: S}
  - {id: P3, label: Low, definition: Fine, section: S}
default: {severity: P3, reason: Nothing matched, section: S}
roles:
  - {key: incident_commander, title: Incident commander}
  - {key: csm, title: Customer Success Manager}
phases:
  - key: response
    title: Whole response
    start: 0m
    end: 2h
    section: Response
    severities: [P0, P1]
    steps:
      - {key: fix, title: Fix it, due: 2h, milestone: resolved}
  - key: assess
    title: Assess
    start: 0m
    end: 15m
    section: First hour › Assess
    steps:
      - {key: ack, title: Take the incident, due: 10m, milestone: acknowledged}
      - {key: size, title: Size the impact, due: 15m}
  - key: outage
    title: Outage
    start: 5m
    end: 20m
    section: Outage
    when: {complete_outage: true}
    steps:
      - {key: status-page, title: Update the status page, due: 20m}
  - key: notify
    title: Tell the client
    start: 15m
    end: 30m
    section: First hour › Notify
    severities: [P0]
    steps:
      - {key: call, title: Call the client, due: 30m, milestone: client_notified}
      - {key: email, title: Confirm by email, due: 30m}
  - key: watch
    title: Watch window
    start: 0m
    end: 4h
    section: Watch
"""


def at(minutes: float) -> dt.datetime:
    return DETECTED + dt.timedelta(minutes=minutes)


def plan(severity="P0", answers=None, milestones=None, steps_done=None, now=0):
    policy = parse_policy(PHASED, "phased.yaml")
    return phase_plan(policy, severity=severity, answers=answers or {}, detected_at=DETECTED,
                      milestones=milestones or {}, steps_done=steps_done or {}, now=at(now))


def test_the_whole_plan_of_a_critical_outage_at_twelve_minutes():
    result = plan("P0", {"complete_outage": True}, milestones={"acknowledged": at(4), "resolved": None},
                  steps_done={"status-page": "2026-03-02T10:08:00+00:00"}, now=12)
    assert result == [
        PhaseProgress("assess", "Assess", "First hour › Assess", at(0), at(15), (
            StepProgress("ack", "Take the incident", "assess", at(10), "acknowledged", at(4), MET),
            StepProgress("size", "Size the impact", "assess", at(15), None, None, PENDING),
        )),
        PhaseProgress("response", "Whole response", "Response", at(0), at(120), (
            StepProgress("fix", "Fix it", "response", at(120), "resolved", None, PENDING),
        )),
        PhaseProgress("watch", "Watch window", "Watch", at(0), at(240), ()),
        PhaseProgress("outage", "Outage", "Outage", at(5), at(20), (
            StepProgress("status-page", "Update the status page", "outage", at(20), None, at(8), MET),
        )),
        PhaseProgress("notify", "Tell the client", "First hour › Notify", at(15), at(30), (
            StepProgress("call", "Call the client", "notify", at(30), "client_notified", None, PENDING),
            StepProgress("email", "Confirm by email", "notify", at(30), None, None, PENDING),
        )),
    ]


@pytest.mark.parametrize(("severity", "answers", "phases"), [
    # Ordered by start, then end; a phase without steps is kept (it still has a window to show).
    ("P0", {}, ["assess", "response", "watch", "notify"]),
    ("P0", {"complete_outage": True}, ["assess", "response", "watch", "outage", "notify"]),
    ("P1", {}, ["assess", "response", "watch"]),
    ("P1", {"complete_outage": True}, ["assess", "response", "watch", "outage"]),
    ("P2", {}, ["assess", "watch"]),
    ("P3", {"complete_outage": True}, ["assess", "watch", "outage"]),
    ("P3", {"data_loss": True}, ["assess", "watch"]),
])
def test_phases_apply_by_severity_and_condition(severity, answers, phases):
    assert [p.key for p in plan(severity, answers)] == phases


def states(result):
    return {step.key: (step.state, step.done_at) for phase in result for step in phase.steps}


@pytest.mark.parametrize(("now", "milestones", "steps_done", "expected"), [
    # Nothing done: pending until the due time, breached once it has passed.
    (0, {}, {}, {"ack": (PENDING, None), "size": (PENDING, None), "fix": (PENDING, None),
                 "call": (PENDING, None), "email": (PENDING, None)}),
    (10, {}, {}, {"ack": (PENDING, None), "size": (PENDING, None), "fix": (PENDING, None),
                  "call": (PENDING, None), "email": (PENDING, None)}),
    (11, {}, {}, {"ack": (BREACHED, None), "size": (PENDING, None), "fix": (PENDING, None),
                  "call": (PENDING, None), "email": (PENDING, None)}),
    (31, {}, {}, {"ack": (BREACHED, None), "size": (BREACHED, None), "fix": (PENDING, None),
                  "call": (BREACHED, None), "email": (BREACHED, None)}),
    # A milestone step is done when its milestone is recorded, in time or late; None is not done.
    (31, {"acknowledged": at(10), "client_notified": at(31), "resolved": None}, {},
     {"ack": (MET, at(10)), "size": (BREACHED, None), "fix": (PENDING, None), "call": (BREACHED, at(31)),
      "email": (BREACHED, None)}),
    # Other steps are done when ticked off: ISO text from the JSON column (any offset; bare means UTC) or a time.
    (20, {}, {"size": "2026-03-02T11:14:00+01:00", "email": at(16)},
     {"ack": (BREACHED, None), "size": (MET, at(14)), "fix": (PENDING, None), "call": (PENDING, None),
      "email": (MET, at(16))}),
    (40, {}, {"size": "2026-03-02T10:16:00", "email": "2026-03-02T10:30:00Z"},
     {"ack": (BREACHED, None), "size": (BREACHED, at(16)), "fix": (PENDING, None), "call": (BREACHED, None),
      "email": (MET, at(30))}),
    # A milestone step ignores a tick under its own key: only the milestone counts.
    (5, {}, {"ack": at(3)}, {"ack": (PENDING, None), "size": (PENDING, None), "fix": (PENDING, None),
                             "call": (PENDING, None), "email": (PENDING, None)}),
    # Done after `now` (a replay looking back) still counts as done, judged against its due time.
    (5, {"resolved": at(100)}, {}, {"ack": (PENDING, None), "size": (PENDING, None), "fix": (MET, at(100)),
                                    "call": (PENDING, None), "email": (PENDING, None)}),
])
def test_step_states_at_a_given_time(now, milestones, steps_done, expected):
    assert states(plan("P0", milestones=milestones, steps_done=steps_done, now=now)) == expected


ALL_P0 = {"acknowledged": at(5), "resolved": at(60), "client_notified": at(20)}


@pytest.mark.parametrize(("severity", "answers", "now", "milestones", "steps_done", "expected"), [
    # Overlapping windows that start together: the one that ends first.
    ("P0", {}, 0, {}, {}, "assess"),
    # Still the earliest-starting phase with work left, even once its window is over.
    ("P0", {}, 20, {}, {}, "assess"),
    ("P0", {}, 20, {"acknowledged": at(5)}, {"size": at(12)}, "response"),
    # The outage phase starts at 5 minutes: after assess and response, before notify.
    ("P0", {"complete_outage": True}, 20, {"acknowledged": at(5), "resolved": at(18)}, {"size": at(12)}, "outage"),
    ("P0", {"complete_outage": True}, 20, {"acknowledged": at(5), "resolved": at(18)},
     {"size": at(12), "status-page": at(19)}, "notify"),
    # Nothing started has work left: the next phase to start that has steps (notify at 15 minutes).
    ("P0", {}, 3, {"acknowledged": at(1), "resolved": at(2)}, {"size": at(3)}, "notify"),
    # A phase whose steps were ticked off early is not waited for.
    ("P0", {"complete_outage": True}, 3, {"acknowledged": at(1), "resolved": at(2)},
     {"size": at(3), "status-page": at(3)}, "notify"),
    # Every step done: no phase left (the step-less watch window does not count).
    ("P0", {}, 50, ALL_P0, {"size": at(12), "email": at(25)}, None),
    ("P2", {}, 50, {"acknowledged": at(5)}, {"size": at(12)}, None),
])
def test_current_phase(severity, answers, now, milestones, steps_done, expected):
    result = plan(severity, answers, milestones, steps_done, now)
    current = current_phase(result, at(now))
    assert (current.key if current else None) == expected


def test_no_phase_at_all():
    policy = parse_policy(PHASED[:PHASED.index("phases:")], "bare.yaml")
    result = phase_plan(policy, severity="P0", answers={}, detected_at=DETECTED, milestones={}, steps_done={},
                        now=DETECTED)
    assert (result, current_phase(result, DETECTED), next_steps(result)) == ([], None, [])


@pytest.mark.parametrize(("severity", "answers", "now", "milestones", "steps_done", "limit", "expected"), [
    # Nothing breached: by due time; equal due times keep the plan's order (phase, then step).
    ("P0", {"complete_outage": True}, 0, {}, {}, 3, ["ack", "size", "status-page"]),
    ("P0", {"complete_outage": True}, 0, {}, {}, 10, ["ack", "size", "status-page", "call", "email", "fix"]),
    # Breached ones first (at one `now` they are also the earliest due), then the pending ones by due time.
    ("P0", {"complete_outage": True}, 25, {}, {}, 10, ["ack", "size", "status-page", "call", "email", "fix"]),
    ("P0", {"complete_outage": True}, 25, {"acknowledged": at(3)}, {"size": at(30)}, 3,
     ["status-page", "call", "email"]),
    ("P0", {}, 16, {"acknowledged": at(3)}, {}, 3, ["size", "call", "email"]),
    ("P0", {}, 16, {"acknowledged": at(3), "client_notified": at(16)}, {}, 3, ["size", "email", "fix"]),
    ("P1", {}, 130, {}, {"size": at(1)}, 3, ["ack", "fix"]),
    # Done is done, even late: only steps not done are listed.
    ("P2", {}, 60, {"acknowledged": at(30)}, {"size": at(59)}, 3, []),
    ("P0", {}, 0, {}, {}, 0, []),
])
def test_next_steps(severity, answers, now, milestones, steps_done, limit, expected):
    result = plan(severity, answers, milestones, steps_done, now)
    assert [s.key for s in next_steps(result, limit)] == expected


def test_next_steps_default_to_three_and_carry_their_phase():
    steps = next_steps(plan("P0", {}, now=0))
    assert [(s.key, s.phase_key, s.due, s.state) for s in steps] == [
        ("ack", "assess", at(10), PENDING), ("size", "assess", at(15), PENDING), ("call", "notify", at(30), PENDING),
    ]


@pytest.mark.parametrize(("milestones", "steps_done", "done"), [
    ({}, {}, [False, False, True, False]),
    ({"acknowledged": at(1)}, {"size": at(2)}, [True, False, True, False]),
    ({"acknowledged": at(1), "resolved": at(9)}, {"size": at(2), "email": at(3)}, [True, True, True, False]),
    ({"acknowledged": at(1), "resolved": at(9), "client_notified": at(4)}, {"size": at(2), "email": at(3)},
     [True, True, True, True]),
])
def test_a_phase_is_done_when_every_step_is(milestones, steps_done, done):
    assert [p.done for p in plan("P0", {}, milestones, steps_done, 10)] == done
