"""Notification read models (core.alerts.views) on SQLite and PostgreSQL: inbox, deliveries, time to acknowledge."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from core.alerts import views
from core.alerts.acknowledge import acknowledge
from core.sla.queries import DashboardFilter
from db.engine import session_scope
from db.models import Notification
from tests.core.test_acknowledge import _queued
from tests.core.test_alert_scheduler import MIN, T0


def test_the_inbox_holds_only_the_users_due_inbox_rows_newest_first_and_counts_the_unread(engine):
    iid, ids = _queued(engine)
    with session_scope(engine) as s:
        owner = s.get(Notification, ids[("warn:acknowledge", "inbox")]).user_id
        # Before the warning's time it is not in the inbox yet.
        assert views.unread(s, owner, now=T0).count == 0
        now = T0 + 10 * MIN
        unread = views.unread(s, owner, now=now)
        items, total = views.inbox(s, owner, now=now)
    assert (unread.count, unread.newest_id, total) == (1, ids[("warn:acknowledge", "inbox")], 1)
    assert unread.newest_subject.startswith("[P1] Acknowledge")
    assert [(i.id, i.incident_id, i.read_at) for i in items] == [(ids[("warn:acknowledge", "inbox")], iid, None)]


@pytest.mark.parametrize("flt, expected", [
    (views.DeliveryFilter(), 7),
    (views.DeliveryFilter(channels=("email",)), 2),
    (views.DeliveryFilter(states=("dead",)), 1),
    (views.DeliveryFilter(channels=("sms",), states=("pending",)), 0),  # the SMS row is the dead one
    (views.DeliveryFilter(incident_id=999), 0),
])
def test_deliveries_filter_and_count_by_state(engine, flt, expected):
    _iid, ids = _queued(engine)
    with session_scope(engine) as s:
        s.execute(update(Notification).where(Notification.id == ids[("step:L3", "sms")])
                  .values(state="dead", last_error="HTTP 500 from the gateway"))
    with session_scope(engine) as s:
        rows, total = views.deliveries(s, flt, page_size=3)
        counts = views.counts_by_state(s)
    assert (total, len(rows)) == (expected, min(3, expected))
    assert counts == {"pending": 6, "sent": 0, "dead": 1, "cancelled": 0}
    if flt.states == ("dead",):
        assert (rows[0].endpoint, rows[0].last_error) == ("gateway", "HTTP 500 from the gateway")


def test_time_to_acknowledge_is_the_median_and_p90_of_the_periods_acknowledgements(engine):
    _iid, ids = _queued(engine)
    # Delivered at T0 (L3) and T0+10 (owner); acknowledged 1, 2, 4 and 10 minutes later.
    sent = {("step:L3", "email"): (T0, 1), ("step:L3", "webhook"): (T0, 2),
            ("warn:acknowledge", "email"): (T0 + 10 * MIN, 4), ("warn:acknowledge", "webhook"): (T0 + 10 * MIN, 10)}
    with session_scope(engine) as s:
        for key, (at, minutes) in sent.items():
            s.execute(update(Notification).where(Notification.id == ids[key])
                      .values(state="sent", sent_at=at, acknowledged_at=at + minutes * MIN))
    week = DashboardFilter.for_dates(T0.date(), T0.date())
    with session_scope(engine) as s:
        times = views.acknowledge_times(s, week)
        before = views.acknowledge_times(s, DashboardFilter.for_dates(T0.date() - dt.timedelta(days=30),
                                                                     T0.date() - dt.timedelta(days=20)))
        other_csm = views.acknowledge_times(s, DashboardFilter.for_dates(T0.date(), T0.date(), csm_ids=(999,)))
        p2 = views.acknowledge_times(s, DashboardFilter.for_dates(T0.date(), T0.date(), severities=("P2",)))
    assert (times.count, times.median_seconds, times.p90_seconds) == (4, 120.0, 600.0)
    assert before == other_csm == p2 == views.AcknowledgeTimes(0, None, None)


def test_an_acknowledgement_made_through_the_flow_is_counted(engine):
    _iid, ids = _queued(engine)
    with session_scope(engine) as s:
        acknowledge(s, ids[("warn:acknowledge", "email")], now=T0 + 13 * MIN)
    with session_scope(engine) as s:
        times = views.acknowledge_times(s, DashboardFilter.for_dates(T0.date(), T0.date()))
        acked = s.scalars(select(Notification.id).where(Notification.acknowledged_at.is_not(None))).all()
    # The email and its inbox copy, each from due (T0+10, not sent yet) to T0+13.
    assert (times.count, times.median_seconds, len(acked)) == (2, 180.0, 2)
