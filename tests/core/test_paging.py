"""Pages (core.alerts.paging): a level's alert climbs the level's on-call schedule until someone answers.

growth-engine P1 incident at T0 (tests/core/test_alert_scheduler.py): the L3 step alert is due at
T0. L3's schedule here: layer 1 Ana (primary), layer 2 Ben (secondary), manager Mia; 5 minutes to
acknowledge, 2 repeats, an acknowledgement holds 30 minutes. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from core.alerts import paging, scheduler
from core.alerts.acknowledge import acknowledge
from core.incident import flows
from core.incident.alerting import LEVEL, Alert
from core.incident.lifecycle import Milestone
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from core.sla.response_log import responses_of
from db.engine import session_scope
from db.models import (
    ExternalContact,
    Incident,
    Notification,
    NotificationRule,
    OnCallLayer,
    OnCallOverride,
    OnCallSchedule,
    Page,
    User,
)
from tests.conftest import make_user
from tests.core.test_alert_scheduler import MIN, T0, _setup


def _layer(schedule_id: int, position: int, name: str, who: str) -> OnCallLayer:
    return OnCallLayer(schedule_id=schedule_id, position=position, name=name, rotation="weekly",
                       start_local="2026-01-05T09:00", time_zone="UTC", members=[{"who": who}])


def _paged_setup(engine) -> dict[str, int]:
    """The incident, and a schedule for L3 (Ana, Ben, then Mia); ids by name."""
    (iid,) = _setup(engine)
    ids = {"incident": iid}
    for name in ("ana", "ben", "mia"):
        ids[name] = make_user(engine, name, "csm")
    with session_scope(engine) as s:
        schedule = OnCallSchedule(name="Expert support", level="L3", manager=f"u:{ids['mia']}",
                                  ack_timeout_minutes=5, repeats=2, ack_expires_minutes=30)
        s.add(schedule)
        s.flush()
        s.add_all([_layer(schedule.id, 1, "Primary", f"u:{ids['ana']}"),
                   _layer(schedule.id, 2, "Secondary", f"u:{ids['ben']}")])
        ids["schedule"] = schedule.id
    return ids


def _page(engine, iid: int, level: str = "L3") -> Page:
    with session_scope(engine) as s:
        return s.scalars(select(Page).where(Page.incident_id == iid, Page.level == level)
                         .order_by(Page.id.desc())).first()


def _paged(engine, since: dt.datetime | None = None) -> list[tuple[str, str, dt.datetime]]:
    """(recipient, channel, due_at) of every page notification, in order."""
    with session_scope(engine) as s:
        rows = s.scalars(select(Notification).where(Notification.rule == "page:L3")
                         .order_by(Notification.due_at, Notification.id))
        return [(n.recipient, n.channel, n.due_at) for n in rows if since is None or n.due_at >= since]


def _one(engine, recipient: str, channel: str = "email", state: str | None = None) -> int:
    with session_scope(engine) as s:
        stmt = select(Notification.id).where(Notification.rule == "page:L3", Notification.recipient == recipient,
                                             Notification.channel == channel).order_by(Notification.id.desc())
        if state:
            stmt = stmt.where(Notification.state == state)
        return s.scalars(stmt).first()


def _notices(engine) -> set[tuple[str, str, str]]:
    with session_scope(engine) as s:
        return {(n.recipient, n.channel, n.subject) for n in s.scalars(
            select(Notification).where(Notification.rule == "page-notice:L3"))}


def _incident(engine, iid: int) -> Incident:
    with session_scope(engine) as s:
        return s.get(Incident, iid)


def test_a_levels_alert_pages_the_primary_instead_of_the_published_contacts(engine):
    ids = _paged_setup(engine)
    scheduler.queue_due(engine, now=T0)
    with session_scope(engine) as s:
        rows = {(n.rule, n.channel, n.recipient) for n in s.scalars(select(Notification))}
        page_row = s.scalars(select(Notification).where(Notification.channel == "email")).one()
        assert page_row.dedupe_key == f"page:{page_row.page_id}:r0:s0:email:u:{ids['ana']}"
        assert page_row.subject.startswith("[P1] Page for ") and "primary on call" in page_row.subject
        assert "step 1 of 3, round 1 of 3" in page_row.body and "within 5 min" in page_row.body
        assert "the page goes to the secondary on call" in page_row.body
    assert rows == {("page:L3", "inbox", "Ana"), ("page:L3", "email", "ana@example.com"),
                    ("step:L3", "webhook", "hook"), ("step:L3", "slack", "ops-l3")}  # team channels as before
    page = _page(engine, ids["incident"])
    assert (page.state, page.step, page.round, page.next_at) == ("open", 0, 0, T0 + 5 * MIN)
    # A second pass, or the same alert read again, joins the live page and pages nobody again.
    with session_scope(engine) as s:
        s.execute(update(Incident).where(Incident.id == ids["incident"]).values(next_alert_at=T0))
    scheduler.queue_due(engine, now=T0 + MIN)
    assert len(_paged(engine)) == 2
    with session_scope(engine) as s:
        assert len(s.scalars(select(Page)).all()) == 1


def test_without_a_schedule_the_level_alert_goes_to_the_published_contacts_as_before(engine):
    _setup(engine)
    scheduler.queue_due(engine, now=T0)
    with session_scope(engine) as s:
        assert s.scalars(select(Page)).all() == []
        assert ("email", "expert-support@hotdash.com") in {(n.channel, n.recipient)
                                                            for n in s.scalars(select(Notification))}


def test_an_unanswered_page_climbs_to_the_secondary_then_the_manager_repeating_then_gives_up(engine):
    ids = _paged_setup(engine)
    iid = ids["incident"]
    level_before = _incident(engine, iid).current_level
    scheduler.queue_due(engine, now=T0)
    assert paging.advance_due(engine, T0 + 4 * MIN) == 0  # not yet: 5 minutes to acknowledge
    expected = []
    for n, who in enumerate(["Ana", "Ben", "Mia"] * 3):
        at = T0 + 5 * n * MIN
        if n:
            assert paging.advance_due(engine, at) == 1
        page = _page(engine, iid)
        assert (page.state, page.step, page.round, page.next_at) == ("open", n % 3, n // 3, at + 5 * MIN)
        expected.append((who, at))
    inbox = [(recipient, due) for recipient, channel, due in _paged(engine) if channel == "inbox"]
    assert inbox == expected
    # After the third round's manager: given up, and the owner and the CSM hear it in the app.
    assert paging.advance_due(engine, T0 + 45 * MIN) == 1
    page = _page(engine, iid)
    assert (page.state, page.next_at) == ("exhausted", None)
    assert "nobody acknowledged after 3 round(s)" in page.closed_reason
    assert {(r, c) for r, c, _s in _notices(engine)} == {("Olivia", "inbox"), ("Carl", "inbox")}
    assert paging.advance_due(engine, T0 + 90 * MIN) == 0
    # The ladder is not the pager's: nobody answering never raised the incident's level.
    assert _incident(engine, iid).current_level == level_before


def test_tick_drives_the_climb(engine):
    ids = _paged_setup(engine)
    scheduler.tick(engine, now=T0, worker="t", base_url="")
    scheduler.tick(engine, now=T0 + 5 * MIN, worker="t", base_url="")
    page = _page(engine, ids["incident"])
    assert (page.step, page.round) == (1, 0)
    with session_scope(engine) as s:
        ben = s.scalars(select(Notification).where(Notification.recipient == "Ben")).one()
        assert ben.state == "sent"  # the inbox copy was delivered by the same pass


def test_a_step_with_nobody_on_call_is_skipped(engine):
    ids = _paged_setup(engine)
    with session_scope(engine) as s:
        s.execute(update(OnCallLayer).where(OnCallLayer.position == 2).values(members=[]))
    scheduler.queue_due(engine, now=T0)
    paging.advance_due(engine, T0 + 5 * MIN)
    page = _page(engine, ids["incident"])
    assert (page.step, page.round) == (2, 0)
    assert [r for r, c, _d in _paged(engine) if c == "inbox"] == ["Ana", "Mia"]


def test_an_override_pages_whoever_covers_at_that_moment(engine):
    ids = _paged_setup(engine)
    zoe = make_user(engine, "zoe", "csm")
    with session_scope(engine) as s:
        s.add(OnCallOverride(schedule_id=ids["schedule"], position=1, who=f"u:{zoe}", starts_at=T0 - 60 * MIN,
                             ends_at=T0 + 60 * MIN, reason="Ana is off"))
    scheduler.queue_due(engine, now=T0)
    assert [r for r, c, _d in _paged(engine) if c == "inbox"] == ["Zoe"]


def test_an_acknowledgement_stops_the_climb_and_tells_the_chain_to_stand_down(engine):
    ids = _paged_setup(engine)
    iid = ids["incident"]
    with session_scope(engine) as s:  # Ben is also paged by SMS 10 minutes later: cancelled by the acknowledgement
        s.add_all([NotificationRule(user_id=ids["ben"], position=1, channel="email", delay_minutes=0),
                   NotificationRule(user_id=ids["ben"], position=2, channel="sms", delay_minutes=10)])
        s.get(User, ids["ben"]).phone = "+44 20 7946 0000"
    scheduler.queue_due(engine, now=T0)
    paging.advance_due(engine, T0 + 5 * MIN)
    with session_scope(engine) as s:
        done = acknowledge(s, _one(engine, "ben@example.com"), now=T0 + 6 * MIN)
    assert f"page:{_page(engine, iid).id}" in done.recorded
    page = _page(engine, iid)
    assert (page.state, page.acknowledged_at, page.acknowledged_by, page.acknowledged_user_id) == (
        "acknowledged", T0 + 6 * MIN, "Ben", ids["ben"])
    assert (page.ack_expires_at, page.next_at) == (T0 + 36 * MIN, T0 + 36 * MIN)
    assert _one(engine, "+44 20 7946 0000", "sms") == _one(engine, "+44 20 7946 0000", "sms", "cancelled")
    # Ana (paged before) is told in the app and by email; Ben, who acknowledged, is not.
    assert {(r, c) for r, c, _s in _notices(engine)} == {("Ana", "inbox"), ("ana@example.com", "email")}
    assert all("Ben acknowledged the page" in subject for _r, _c, subject in _notices(engine))
    assert paging.advance_due(engine, T0 + 20 * MIN) == 0
    assert [r for r, c, _d in _paged(engine) if c == "inbox"] == ["Ana"]  # Ben's rules: email, then SMS
    assert _incident(engine, iid).version == page.ack_version


def test_an_acknowledgement_that_expires_without_progress_pages_again(engine):
    ids = _paged_setup(engine)
    iid = ids["incident"]
    scheduler.queue_due(engine, now=T0)
    with session_scope(engine) as s:
        acknowledge(s, _one(engine, "ana@example.com"), now=T0 + MIN)
    assert paging.advance_due(engine, T0 + 30 * MIN) == 0
    assert paging.advance_due(engine, T0 + 31 * MIN) == 1
    page = _page(engine, iid)
    assert (page.state, page.step, page.round, page.acknowledged_at) == ("open", 0, 1, None)
    assert page.next_at == T0 + 36 * MIN
    again = [(r, d) for r, c, d in _paged(engine) if c == "email"]
    assert again == [("ana@example.com", T0), ("ana@example.com", T0 + 31 * MIN)]
    with session_scope(engine) as s:
        body = s.get(Notification, _one(engine, "ana@example.com")).body
    assert "acknowledged this page earlier but the incident has not moved since" in body


def test_an_acknowledgement_that_expires_after_progress_stands(engine):
    ids = _paged_setup(engine)
    iid = ids["incident"]
    scheduler.queue_due(engine, now=T0)
    with session_scope(engine) as s:
        acknowledge(s, _one(engine, "ana@example.com"), now=T0 + MIN)
    with session_scope(engine) as s:
        flows.record_milestone(s, incident_id=iid, milestone=Milestone.MOBILIZED, actor=SYSTEM, now=T0 + 10 * MIN)
    assert paging.advance_due(engine, T0 + 31 * MIN) == 1
    page = _page(engine, iid)
    assert (page.state, page.next_at, page.round) == ("acknowledged", None, 0)
    assert len(_paged(engine)) == 2


def test_resolution_closes_the_page_cancels_what_is_pending_and_tells_everyone_paged(engine):
    ids = _paged_setup(engine)
    iid = ids["incident"]
    with session_scope(engine) as s:  # Ana: in the app at once, an SMS 10 minutes after the page
        s.add_all([NotificationRule(user_id=ids["ana"], position=1, channel="inbox", delay_minutes=0),
                   NotificationRule(user_id=ids["ana"], position=2, channel="sms", delay_minutes=10)])
        s.get(User, ids["ana"]).phone = "+44 20 7946 0001"
    scheduler.queue_due(engine, now=T0)
    paging.advance_due(engine, T0 + 5 * MIN)
    with session_scope(engine) as s:
        flows.record_milestone(s, incident_id=iid, milestone=Milestone.RESOLVED, actor=SYSTEM, now=T0 + 7 * MIN)
    assert paging.advance_due(engine, T0 + 7 * MIN) == 1
    page = _page(engine, iid)
    assert (page.state, page.next_at, page.closed_reason) == ("resolved", None, "the incident was resolved")
    with session_scope(engine) as s:
        sms = s.scalars(select(Notification).where(Notification.channel == "sms",
                                                   Notification.rule == "page:L3")).one()
        assert (sms.state, sms.last_error) == ("cancelled", "incident resolved")
    assert {(r, c) for r, c, _s in _notices(engine)} == {("Ana", "inbox"), ("Ben", "inbox"),
                                                         ("ben@example.com", "email")}
    assert all(subject.startswith("[P1] Resolved: ") for _r, _c, subject in _notices(engine))
    assert paging.advance_due(engine, T0 + 60 * MIN) == 0


def test_escalate_now_and_jump_to_page_at_once_for_people_who_may_change_the_incident(engine):
    ids = _paged_setup(engine)
    iid = ids["incident"]
    lead = Actor(id=make_user(engine, "lena", "lead"), name="Lena", role=Role.LEAD)
    outsider = Actor(id=ids["ana"], name="Ana", role=Role.CSM)  # a CSM who neither owns it nor the account
    scheduler.queue_due(engine, now=T0)
    page_id = _page(engine, iid).id
    with session_scope(engine) as s, pytest.raises(paging.PagingForbidden, match="may not escalate"):
        paging.escalate_now(s, page_id, outsider, T0 + MIN)
    with session_scope(engine) as s:
        paging.escalate_now(s, page_id, lead, T0 + MIN)
    page = _page(engine, iid)
    assert (page.state, page.step, page.next_at) == ("open", 1, T0 + 6 * MIN)
    with session_scope(engine) as s:
        paging.jump_to(s, page_id, 2, lead, T0 + 2 * MIN)
    assert (_page(engine, iid).step, _page(engine, iid).next_at) == (2, T0 + 7 * MIN)
    with session_scope(engine) as s:  # back to the primary, already paged this round: paged again all the same
        paging.jump_to(s, page_id, 0, lead, T0 + 3 * MIN)
    assert [(r, d) for r, c, d in _paged(engine) if c == "inbox"] == [
        ("Ana", T0), ("Ben", T0 + MIN), ("Mia", T0 + 2 * MIN), ("Ana", T0 + 3 * MIN)]
    with session_scope(engine) as s, pytest.raises(paging.PagingError, match="Step 9 does not exist"):
        paging.jump_to(s, page_id, 8, lead, T0 + 3 * MIN)
    with session_scope(engine) as s:
        body = s.scalars(select(Notification.body).where(Notification.recipient == "Mia")).one()
    assert "Lena paged you directly" in body


def test_an_outside_contacts_link_acknowledges_that_page_and_nothing_else(engine):
    ids = _paged_setup(engine)
    iid = ids["incident"]
    with session_scope(engine) as s:
        contact = ExternalContact(name="Priya (partner)", email="priya@partner.example", phone="+1 415 555 0100")
        s.add(contact)
        s.flush()
        s.execute(update(OnCallLayer).where(OnCallLayer.position == 2).values(members=[{"who": f"c:{contact.id}"}]))
        l4 = OnCallSchedule(name="Executives", level="L4", manager="", ack_timeout_minutes=5)
        s.add(l4)
        s.flush()
        s.add(_layer(l4.id, 1, "Exec", f"u:{ids['mia']}"))
        incident = s.get(Incident, iid)
        paging.open_or_join(s, incident, Alert("step", "L4", "L4", T0, T0, LEVEL, "L4"), T0)
    scheduler.queue_due(engine, now=T0)
    paging.advance_due(engine, T0 + 5 * MIN)
    page_id = _page(engine, iid).id
    with session_scope(engine) as s:
        email = s.scalars(select(Notification).where(Notification.recipient == "priya@partner.example")).one()
        sms = s.scalars(select(Notification).where(Notification.recipient == "+1 415 555 0100")).one()
        assert (email.contact_id, email.user_id, email.page_id) == (contact.id, None, page_id)
        assert "acknowledges this page only" in email.body
        assert sms.endpoint_id is not None
        before = s.get(Incident, iid)
        version, responses, acknowledged_at = before.version, responses_of(before), before.acknowledged_at
        done = acknowledge(s, email.id, now=T0 + 6 * MIN)
    assert done.recorded == (f"page:{page_id}",)  # no milestone, no level response
    page = _page(engine, iid)
    assert (page.state, page.acknowledged_by, page.acknowledged_user_id) == ("acknowledged", "Priya (partner)", None)
    after = _incident(engine, iid)
    assert (after.version, responses_of(after), after.acknowledged_at) == (version, responses, acknowledged_at)
    other = _page(engine, iid, "L4")
    assert (other.state, other.acknowledged_at) == ("open", None)  # the other level's page is untouched


def test_a_users_page_acknowledgement_may_record_the_levels_response_but_never_escalates(engine):
    ids = _paged_setup(engine)
    iid = ids["incident"]
    scheduler.queue_due(engine, now=T0)
    before = _incident(engine, iid)
    with session_scope(engine) as s:
        done = acknowledge(s, _one(engine, "ana@example.com"), now=T0 + MIN)
    after = _incident(engine, iid)
    assert after.current_level == before.current_level
    assert set(done.recorded) <= {"level_responded:L3", f"page:{_page(engine, iid).id}"}


@pytest.mark.parametrize("severity, quiet, expected_due", [
    ("P3", ("08:00", "10:00"), T0 + 60 * MIN),   # held until quiet hours end (10:00 UTC)
    ("P2", ("08:00", "10:00"), T0 + 60 * MIN),
    ("P1", ("08:00", "10:00"), T0),              # the policy's always-page severities ignore quiet hours
    ("P0", ("08:00", "10:00"), T0),
    ("P3", ("10:00", "12:00"), T0),              # outside quiet hours: at once
    ("P3", ("", ""), T0),                        # no quiet hours
])
def test_quiet_hours_hold_a_p3_page_and_never_a_p0(engine, severity, quiet, expected_due):
    ids = _paged_setup(engine)
    iid = ids["incident"]
    with session_scope(engine) as s:
        s.get(User, ids["ana"]).quiet_from, s.get(User, ids["ana"]).quiet_to = quiet
        incident = s.get(Incident, iid)
        incident.severity = severity
        paging.open_or_join(s, incident, Alert("step", "L3", "L3", T0, T0, LEVEL, "L3"), T0)
    assert {d for r, c, d in _paged(engine)} == {expected_due}
    # The climb counts from when the page actually reaches the person.
    assert _page(engine, iid).next_at == expected_due + 5 * MIN


def test_pages_of_and_the_handoff_say_who_was_paged_and_when(engine):
    ids = _paged_setup(engine)
    iid = ids["incident"]
    scheduler.queue_due(engine, now=T0)
    paging.advance_due(engine, T0 + 5 * MIN)
    with session_scope(engine) as s:
        acknowledge(s, _one(engine, "ben@example.com"), now=T0 + 6 * MIN)
    with session_scope(engine) as s:
        [view] = paging.pages_of(s, iid)
    assert (view.level, view.state, view.state_name, view.step, view.round, view.rounds, view.live) == (
        "L3", "acknowledged", "Acknowledged", 1, 0, 3, True)
    assert [step.label for step in view.steps] == ["1. primary on call", "2. secondary on call", "3. manager"]
    assert view.step_label == "2. secondary on call" and view.acknowledged_by == "Ben"
    assert [(p.name, p.channel, p.due_at, p.outcome) for p in view.paged] == [
        ("Ana", "inbox", T0, "not sent"), ("Ana", "email", T0, "not sent"),
        ("Ben", "inbox", T0 + 5 * MIN, "acknowledged"), ("Ben", "email", T0 + 5 * MIN, "acknowledged")]
    with session_scope(engine) as s:
        summary = flows.escalate(s, incident_id=iid, to_level="L4", reason="Executives must decide", actor=SYSTEM,
                                 now=T0 + 8 * MIN)
    assert "Who was paged\n  - 2026-03-02 09:00 UTC L3: Ana by inbox, not sent\n" in summary
    assert "  - 2026-03-02 09:05 UTC L3: Ben by email, acknowledged\n" in summary


def test_a_drills_pages_say_drill(engine):
    ids = _paged_setup(engine)
    with session_scope(engine) as s:
        s.execute(update(Incident).where(Incident.id == ids["incident"]).values(is_drill=True))
    scheduler.queue_due(engine, now=T0)
    with session_scope(engine) as s:
        rows = s.scalars(select(Notification).where(Notification.rule == "page:L3")).all()
    assert rows and all(row.subject.startswith("[DRILL] ") and row.payload["drill"] for row in rows)
