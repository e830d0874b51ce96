"""Acknowledging a notification (core.alerts.acknowledge), on SQLite and PostgreSQL.

growth-engine P1 at T0 (see tests/core/test_alert_scheduler.py): the L3 step alert goes to L3's
published contacts at T0; the owner's acknowledge warning (inbox and email) at T0 + 10 minutes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.alerts import scheduler
from core.alerts.acknowledge import AcknowledgeError, acknowledge, acknowledge_own, mark_read
from core.incident import flows
from core.people.users import SYSTEM
from core.sla.response_log import responses_of
from db.engine import session_scope
from db.models import AuditEntry, Incident, Notification, TimelineEvent
from tests.core.test_alert_scheduler import MIN, T0, _setup


def _queued(engine) -> tuple[int, dict[tuple[str, str], int]]:
    """One P1 incident with its T0 and T0+10 alerts queued; the notification ids by (rule, channel)."""
    (iid,) = _setup(engine)
    scheduler.queue_due(engine, now=T0)
    scheduler.queue_due(engine, now=T0 + 10 * MIN)
    with session_scope(engine) as s:
        return iid, {(n.rule, n.channel): n.id for n in s.scalars(select(Notification))}


def _notification(engine, nid: int) -> Notification:
    with session_scope(engine) as s:
        return s.get(Notification, nid)


def _incident(engine, iid: int) -> Incident:
    with session_scope(engine) as s:
        return s.get(Incident, iid)


def test_the_owner_acknowledging_records_the_incident_acknowledged_and_stops_that_rules_reminders(engine):
    iid, ids = _queued(engine)
    at = T0 + 11 * MIN
    with session_scope(engine) as s:
        done = acknowledge(s, ids[("warn:acknowledge", "email")], now=at)
    assert (done.already, done.recorded, done.acknowledged_at) == (False, ("acknowledged",), at)
    incident = _incident(engine, iid)
    assert (incident.acknowledged_at, incident.status) == (at, "acknowledged")
    # Her inbox copy of the same alert is acknowledged too; the team webhook's still-pending copy is cancelled.
    assert _notification(engine, ids[("warn:acknowledge", "inbox")]).acknowledged_at == at
    assert _notification(engine, ids[("warn:acknowledge", "webhook")]).state == "cancelled"
    # Other rules' rows are untouched.
    assert _notification(engine, ids[("step:L3", "email")]).state == "pending"
    with session_scope(engine) as s:
        events = [e.summary for e in s.scalars(select(TimelineEvent).where(TimelineEvent.kind == "notification"))]
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "notification")).one()
    assert events == ["Olivia acknowledged the email notification "
                      f"'{_notification(engine, ids[('warn:acknowledge', 'email')]).subject}' (via link)"]
    assert (audit.actor_name, audit.action) == ("Olivia (via link)", "acknowledge")


def test_a_second_acknowledgement_changes_nothing_and_says_when(engine):
    _iid, ids = _queued(engine)
    nid = ids[("warn:acknowledge", "email")]
    with session_scope(engine) as s:
        acknowledge(s, nid, now=T0 + 11 * MIN)
    with session_scope(engine) as s:
        again = acknowledge(s, nid, now=T0 + 20 * MIN)
    assert (again.already, again.acknowledged_at, again.recorded) == (True, T0 + 11 * MIN, ())
    with session_scope(engine) as s:
        assert len(s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "notification")).all()) == 1


@pytest.mark.parametrize("escalated, expected", [
    (True, ("level_responded:L3",)),   # the level was called: its response clock stops
    (False, ()),                       # never escalated to L3: there is no L3 clock to stop
])
def test_a_levels_notification_records_that_levels_response_once_escalated(engine, escalated, expected):
    iid, ids = _queued(engine)
    if escalated:
        with session_scope(engine) as s:
            flows.escalate(s, incident_id=iid, to_level="L3", reason="P1", actor=SYSTEM, now=T0 + MIN)
    with session_scope(engine) as s:
        done = acknowledge(s, ids[("step:L3", "email")], now=T0 + 3 * MIN)
    assert done.recorded == expected
    incident = _incident(engine, iid)
    assert ("L3" in responses_of(incident)) is escalated
    assert incident.acknowledged_at is None  # an L3 contact is not the owner
    assert _notification(engine, ids[("step:L3", "sms")]).state == "cancelled"


def test_the_inbox_acknowledges_and_marks_read_only_the_users_own_notifications(engine):
    iid, ids = _queued(engine)
    owner = _incident(engine, iid).owner_id
    mine, not_mine = ids[("warn:acknowledge", "inbox")], ids[("step:L3", "email")]
    with session_scope(engine) as s:
        assert mark_read(s, [mine, not_mine], user_id=owner, now=T0 + 10 * MIN) == 1
    assert _notification(engine, mine).read_at == T0 + 10 * MIN
    assert _notification(engine, not_mine).read_at is None
    with session_scope(engine) as s, pytest.raises(AcknowledgeError, match="not yours"):
        acknowledge_own(s, not_mine, user_id=owner, now=T0 + 11 * MIN)
    with session_scope(engine) as s:
        done = acknowledge_own(s, mine, user_id=owner, now=T0 + 11 * MIN)
    assert done.recorded == ("acknowledged",)
    with session_scope(engine) as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "notification")).one()
    assert audit.actor_name == "Olivia (in the app)"


def test_an_unknown_notification_is_refused(engine):
    with session_scope(engine) as s, pytest.raises(AcknowledgeError, match="no longer exists"):
        acknowledge(s, 999, now=T0)


def test_the_incident_timeline_shows_each_alert_to_whom_over_which_channel_and_what_came_of_it(engine):
    from core.incident.views import load

    iid, ids = _queued(engine)
    with session_scope(engine) as s:
        s.execute(update(Notification).where(Notification.id == ids[("step:L3", "slack")])
                  .values(state="sent", sent_at=T0 + MIN))
        s.execute(update(Notification).where(Notification.id == ids[("step:L3", "sms")])
                  .values(state="dead", attempts=5, last_error="HTTP 500"))
    with session_scope(engine) as s:
        acknowledge(s, ids[("step:L3", "email")], now=T0 + 2 * MIN)
    with session_scope(engine) as s:
        alerts = {e.kind: e.summary for e in load(s, iid, now=T0 + 5 * MIN).timeline if e.kind.startswith("alert")}
    # Due by T0+5: the four L3 rows; the owner's warning (due T0+10) is not shown yet.
    assert {kind: summary.split(" → ")[1].split(": ", 1)[1] for kind, summary in alerts.items()} == {
        "alert (email)": "acknowledged 2026-03-02 09:02 UTC",
        "alert (slack)": "delivered",
        "alert (sms)": "failed for good after 5 attempt(s): HTTP 500",
        "alert (webhook)": "withdrawn (acknowledged)",  # the same rule's copy still waiting: cancelled
    }
    assert "→ expert-support@hotdash.com: acknowledged" in alerts["alert (email)"]
