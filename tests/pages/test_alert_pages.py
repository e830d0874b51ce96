"""The alert pages with AppTest: the Inbox (each person's own), the sidebar's unread count, admin Notifications."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from core.outbox.queue import Draft, enqueue
from db.engine import session_scope
from db.models import Notification
from tests.pages.conftest import app_test, open_test_incident, texts

ANSWERS = {"business_impact": "major"}


@pytest.fixture
def alerts(workspace, app_db):
    """An incident on csm1's account; csm1 has two inbox alerts (one unread), the team an email and a dead SMS."""
    iid = open_test_incident(app_db, "Acme Corp", ANSWERS, title="Sync stalled")
    now = dt.datetime.now(dt.UTC)
    drafts = [
        Draft("warn:acknowledge", "inbox", "Csm1", "k1", now - dt.timedelta(minutes=5), subject="Acknowledge soon",
              body="Acknowledge within 5 min.", incident_id=iid, user_id=workspace["csm"]),
        Draft("breach:acknowledge", "inbox", "Csm1", "k2", now - dt.timedelta(minutes=1), subject="Acknowledge missed",
              body="It was due.", incident_id=iid, user_id=workspace["csm"]),
        Draft("warn:acknowledge", "email", "csm1@example.com", "k3", now, subject="Acknowledge soon",
              incident_id=iid, user_id=workspace["csm"]),
        Draft("step:L2", "sms", "+1-555-0100", "k4", now, subject="L2 needed", incident_id=iid, level="L2"),
        Draft("warn:later", "inbox", "Csm1", "k5", now + dt.timedelta(hours=1), subject="Not due yet",
              incident_id=iid, user_id=workspace["csm"]),
    ]
    with session_scope(app_db) as s:
        ids = [enqueue(s, d, now=now).id for d in drafts]
        s.execute(update(Notification).where(Notification.id == ids[0]).values(read_at=now))
        s.execute(update(Notification).where(Notification.id == ids[3])
                  .values(state="dead", attempts=5, last_error="HTTP 500 from the SMS gateway"))
    return {"incident": iid, "ids": ids}


def _row(app_db, nid: int) -> Notification:
    with session_scope(app_db) as s:
        return s.get(Notification, nid)


@pytest.mark.parametrize("reader, shown, unread", [
    ("csm1", ["Acknowledge missed", "Acknowledge soon"], 1),  # newest first; the future one is not due yet
    ("lead1", [], 0),                                         # someone else's inbox is not shown
    ("admin1", [], 0),
])
def test_the_inbox_shows_only_the_readers_due_notifications_and_the_sidebar_counts_the_unread(
        alerts, reader, shown, unread):
    at = app_test("pages/inbox.py", reader).run()
    assert not at.exception, at.exception
    subjects = [line for line in texts(at).splitlines() if line in ("Acknowledge missed", "Acknowledge soon")]
    assert subjects == shown
    assert "Not due yet" not in texts(at)
    badge = [b.label for b in at.button if b.key == "inbox_badge"]
    assert badge == ([f"Inbox ({unread} unread)"] if unread else ["Inbox"])


def test_the_reader_marks_read_and_acknowledges_from_the_inbox(alerts, app_db):
    newest = alerts["ids"][1]
    at = app_test("pages/inbox.py", "csm1").run()
    at.button(key=f"read_{newest}").click().run()
    assert not at.exception, at.exception
    assert _row(app_db, newest).read_at is not None
    at.button(key=f"ack_{newest}").click().run()
    assert not at.exception, at.exception
    assert _row(app_db, newest).acknowledged_at is not None
    assert "Acknowledged." in texts(at)


@pytest.mark.parametrize("reader, allowed", [("csm1", False), ("lead1", False), ("admin1", True)])
def test_the_notifications_page_is_for_admins(alerts, reader, allowed):
    at = app_test("pages/notifications_admin.py", reader).run()
    assert not at.exception, at.exception
    assert ("cannot open Notifications" in texts(at)) is not allowed
    if allowed:
        assert {m.label: m.value for m in at.metric} == {"Pending": "4", "Sent": "0", "Dead": "1", "Cancelled": "0"}
        assert "HTTP 500 from the SMS gateway" in texts(at)


def test_an_admin_retries_a_dead_letter(alerts, app_db):
    dead = alerts["ids"][3]
    at = app_test("pages/notifications_admin.py", "admin1").run()
    at.button(key=f"retry_{dead}").click().run()
    assert not at.exception, at.exception
    row = _row(app_db, dead)
    assert (row.state, row.attempts) == ("pending", 0)
    assert "HTTP 500 from the SMS gateway" in row.last_error  # the reason stays, marked as the previous failure
    with session_scope(app_db) as s:
        assert s.scalar(select(Notification.state).where(Notification.id == dead)) == "pending"


@pytest.mark.parametrize("states, expected", [((), 5), (("dead",), 1), (("pending",), 4)])
def test_the_notifications_page_filters_by_state(alerts, states, expected):
    at = app_test("pages/notifications_admin.py", "admin1")
    at.session_state["n_states"] = list(states)
    at.run()
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) == expected


@pytest.mark.parametrize("reader, expected", [("admin1", ("1", "3m")), ("csm1", ("1", "3m")), ("lead1", ("1", "3m"))])
def test_the_dashboard_shows_time_to_acknowledge_an_alert(alerts, app_db, reader, expected):
    first = alerts["ids"][0]
    with session_scope(app_db) as s:
        row = s.get(Notification, first)
        row.state, row.sent_at, row.acknowledged_at = "sent", row.due_at, row.due_at + dt.timedelta(minutes=3)
    at = app_test("pages/dashboard.py", reader, timeout=60).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Alerts acknowledged"], metrics["Median time to acknowledge an alert"]) == expected


@pytest.mark.parametrize("secret, saved, says", [
    ("s" * 20, True, "Endpoint pager added."),
    ("", False, "signs every message"),  # a generic webhook needs a secret: refused, the form keeps the rest
])
def test_an_admin_adds_an_endpoint_from_the_page(alerts, app_db, secret, saved, says):
    from db.models import NotificationEndpoint

    at = app_test("pages/notifications_admin.py", "admin1").run()
    at.text_input(key="ep_name").input("pager")
    at.selectbox(key="ep_kind").select("webhook")
    at.text_input(key="ep_url").input("https://pager.example/hook")
    at.text_input(key="ep_secret").input(secret)
    next(b for b in at.button if b.label == "Add endpoint").click().run()
    assert not at.exception, at.exception
    assert says in texts(at)
    with session_scope(app_db) as s:
        found = s.scalars(select(NotificationEndpoint.name)).all()
    assert found == (["pager"] if saved else [])
    if saved:
        assert "s" * 20 not in texts(at)  # the secret is never shown back


def test_a_toast_announces_an_alert_that_arrives_while_the_app_is_open_and_only_then(alerts, app_db, workspace):
    at = app_test("pages/home.py", "csm1").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.toast] == []  # what was there when the tab opened is counted, not announced
    now = dt.datetime.now(dt.UTC)
    with session_scope(app_db) as s:
        enqueue(s, Draft("breach:resolve", "inbox", "Csm1", "k9", now, subject="Resolution missed",
                         incident_id=alerts["incident"], user_id=workspace["csm"]), now=now)
    at.run()
    assert any("Resolution missed" in str(t.value) for t in at.toast)
    assert [b.label for b in at.button if b.key == "inbox_badge"] == ["Inbox (2 unread)"]
    at.run()
    assert not any("Resolution missed" in str(t.value) for t in at.toast)  # announced once


def test_the_inbox_pages_older_and_back_to_newer(alerts, app_db, workspace):
    from core.alerts.views import PAGE_SIZE

    now = dt.datetime.now(dt.UTC)
    with session_scope(app_db) as s:
        for n in range(PAGE_SIZE):  # with the fixture's two due ones: PAGE_SIZE + 2, two pages
            enqueue(s, Draft("warn:acknowledge", "inbox", "Csm1", f"page-{n}", now - dt.timedelta(minutes=10 + n),
                             subject=f"Older alert {n:02d}", incident_id=alerts["incident"],
                             user_id=workspace["csm"]), now=now)
    at = app_test("pages/inbox.py", "csm1").run()
    assert "page 1 of 2" in texts(at) and "Acknowledge missed" in texts(at)
    assert [b.key for b in at.button if b.key and b.key.startswith("inbox_page_")] == ["inbox_page_older"]
    at.button(key="inbox_page_older").click().run()
    assert not at.exception, at.exception
    assert "page 2 of 2" in texts(at) and "Acknowledge missed" not in texts(at)
    assert f"Older alert {PAGE_SIZE - 1:02d}" in texts(at)
    at.button(key="inbox_page_newer").click().run()
    assert "page 1 of 2" in texts(at)
