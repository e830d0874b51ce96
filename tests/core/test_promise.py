"""The next update a client message promises: the plan's time when it can be kept, never a time in the past.

`promise_next_update` is the rule (core.communication.promise);
`next_due_if_sent` (core.sla.schedule) gives it the plan's time: when the
next update falls due if this message goes out now. Cases follow SPARK's P0
communication timeline (15, 30, 60 minutes, then every hour).
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.communication.promise import PromisedUpdate, promise_next_update
from core.policy.loading import load_preset
from core.sla.clocks import IncidentFacts
from core.sla.schedule import next_due_if_sent

NOW = dt.datetime(2026, 3, 2, 4, 9, tzinfo=dt.UTC)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


@pytest.mark.parametrize(
    "plan_due, expected",
    [
        (NOW + minutes(20), PromisedUpdate(NOW + minutes(20), NOW + minutes(20))),   # kept as planned
        (NOW + minutes(5), PromisedUpdate(NOW + minutes(5), NOW + minutes(5))),      # exactly 5 minutes: kept
        (NOW + minutes(4), PromisedUpdate(NOW + minutes(15), NOW + minutes(4))),     # too close: 15 min from now
        (NOW - minutes(4), PromisedUpdate(NOW + minutes(15), NOW - minutes(4))),     # 04:05 at 04:09: never promised
        (NOW - dt.timedelta(hours=3), PromisedUpdate(NOW + minutes(15), NOW - dt.timedelta(hours=3))),
        (None, PromisedUpdate(None, None)),                                          # no plan: nothing promised
    ],
)
def test_the_promised_update_is_the_plans_time_or_fifteen_minutes_from_now(plan_due, expected):
    assert promise_next_update(plan_due, NOW) == expected


@pytest.mark.parametrize(
    "plan_due, late",
    [(NOW + minutes(20), False), (NOW + minutes(5), False), (NOW + minutes(4), True), (NOW - minutes(4), True),
     (None, False)],
)
def test_the_plan_entry_shows_as_late_when_the_promise_is_later_than_the_plan(plan_due, late):
    promise = promise_next_update(plan_due, NOW)
    assert promise.late is late
    assert promise.at is None or promise.at >= NOW + minutes(5)


DETECTED = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def _facts(messages: tuple[int, ...], resolved: int | None = None) -> IncidentFacts:
    return IncidentFacts(severity="P0", tier=None, detected_at=DETECTED, schedule_key="p0-communication-timeline",
                         client_messages=tuple(DETECTED + minutes(m) for m in messages),
                         resolved_at=DETECTED + minutes(resolved) if resolved is not None else None)


@pytest.mark.parametrize(
    "sent_before, now, resolved, plan_due",
    [
        ((), 10, None, 30),               # the 15-minute acknowledgement goes out: next is the 30-minute entry
        ((10,), 26, None, 60),            # the 30-minute assessment goes out: next is the 60-minute update
        ((), 40, None, 30),               # the first message is late: the 30-minute entry is already past
        ((10, 25, 55), 70, None, 130),    # planned entries used up: one hour after this message
        ((10,), 60, 50, None),            # resolved: no further update
    ],
)
def test_the_plans_next_due_time_if_a_message_goes_out_now(sent_before, now, resolved, plan_due):
    due = next_due_if_sent(_facts(sent_before, resolved), load_preset("spark"), DETECTED + minutes(now))
    assert due == (DETECTED + minutes(plan_due) if plan_due is not None else None)
