"""Paging in the app with AppTest: the profile's "How I am paged" and the incident cockpit's Paging section."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.alerts import paging
from core.incident.alerting import LEVEL, Alert
from db.engine import session_scope
from db.models import Incident, NotificationRule, OnCallLayer, OnCallSchedule, Page, User
from tests.pages.conftest import open_test_incident, page_as, texts
from tests.pages.test_incident_pages import incident_page


def _settings(app_db, username: str):
    with session_scope(app_db) as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        rules = [(r.channel, r.delay_minutes) for r in s.scalars(
            select(NotificationRule).where(NotificationRule.user_id == user.id).order_by(NotificationRule.position))]
        return user.phone, user.quiet_from, user.quiet_to, rules


def _submit(at):
    next(b for b in at.button if b.label == "Save how I am paged").click().run()
    return at


def test_how_i_am_paged_saves_phone_quiet_hours_and_ordered_rules(people, app_db):
    at = page_as("pages/profile.py", "csm1")
    assert not at.exception
    assert "Without rules you are reached in the app and by email at once" in texts(at)
    at.text_input(key="reach_phone").input("+44 20 7946 0000")
    at.text_input(key="reach_quiet_from").input("22:00")
    at.text_input(key="reach_quiet_to").input("07:00")
    at.selectbox(key="reach_channel_1").select("inbox")
    at.selectbox(key="reach_channel_2").select("email")
    at.number_input(key="reach_delay_2").set_value(2)
    at.selectbox(key="reach_channel_3").select("sms")
    at.number_input(key="reach_delay_3").set_value(5)
    _submit(at)
    assert not at.exception
    assert _settings(app_db, "csm1") == ("+44 20 7946 0000", "22:00", "07:00",
                                         [("inbox", 0), ("email", 2), ("sms", 5)])
    # Read back on the next visit.
    again = page_as("pages/profile.py", "csm1")
    assert again.selectbox(key="reach_channel_3").value == "sms"
    assert again.number_input(key="reach_delay_3").value == 5
    assert again.text_input(key="reach_quiet_from").value == "22:00"


def test_how_i_am_paged_explains_what_to_fix_and_keeps_what_was_typed(people, app_db):
    at = page_as("pages/profile.py", "csm1")
    at.text_input(key="reach_quiet_from").input("10pm")
    at.text_input(key="reach_quiet_to").input("07:00")
    at.selectbox(key="reach_channel_1").select("sms")
    _submit(at)
    assert not at.exception
    assert "Quiet hours start: write the time as HH:MM" in texts(at)
    assert at.text_input(key="reach_quiet_from").value == "10pm"
    assert at.selectbox(key="reach_channel_1").value == "sms"
    at.text_input(key="reach_quiet_from").input("22:00")
    _submit(at)
    assert "Rule 1: an SMS needs your phone number" in texts(at)
    assert _settings(app_db, "csm1") == ("", "", "", [])  # nothing saved while anything is wrong


def _paged_incident(app_db, people) -> int:
    """A growth-engine incident whose L3 page reached csm1 (primary); lead1 is secondary."""
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    now = dt.datetime.now(dt.UTC)
    with session_scope(app_db) as s:
        schedule = OnCallSchedule(name="Expert support", level="L3", manager=f"u:{people['admin']}",
                                  ack_timeout_minutes=5, repeats=1)
        s.add(schedule)
        s.flush()
        for position, who in ((1, people["csm"]), (2, people["lead"])):
            s.add(OnCallLayer(schedule_id=schedule.id, position=position, name=f"Layer {position}",
                              rotation="weekly", start_local="2026-01-05T09:00", time_zone="UTC",
                              members=[{"who": f"u:{who}"}]))
        paging.open_or_join(s, s.get(Incident, iid), Alert("step", "L3", "L3", now, now, LEVEL, "L3"), now)
    return iid


def _page(app_db, iid: int) -> Page:
    with session_scope(app_db) as s:
        return s.scalars(select(Page).where(Page.incident_id == iid)).one()


def test_the_cockpit_shows_who_was_paged_and_escalates_or_jumps(workspace, app_db):
    iid = _paged_incident(app_db, workspace)
    at = incident_page("lead1", iid)
    assert not at.exception
    shown = texts(at)
    assert "Paging" in shown and "1. primary on call (Layer 1)" in shown and "round 1 of 2" in shown
    table = at.dataframe[0].value
    assert list(table["Who"]) == ["Csm1", "Csm1"] and set(table["How"]) == {"inbox", "email"}
    at.button(key=f"page_escalate_{_page(app_db, iid).id}").click().run()
    assert not at.exception
    assert _page(app_db, iid).step == 1
    page_id = _page(app_db, iid).id
    at.selectbox(key=f"page_step_{page_id}").select(2)
    at.button(key=f"page_jump_{page_id}").click().run()
    assert not at.exception
    assert _page(app_db, iid).step == 2
    again = incident_page("lead1", iid)
    assert "Admin1" in list(again.dataframe[0].value["Who"])


def test_an_incident_never_paged_shows_no_paging_section(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    assert not at.exception
    assert not [h for h in at.subheader if h.value == "Paging"]


def test_the_escalation_tab_says_who_is_on_call_now_for_each_level(workspace, app_db):
    """A level's contacts resolve to the person on call at this moment, not only to the policy's roles."""
    iid = _paged_incident(app_db, workspace)
    at = incident_page("csm1", iid)
    assert not at.exception
    assert "On call now" in texts(at)
    (table,) = [frame.value for frame in at.dataframe if "On call now" in frame.value.columns]
    assert list(zip(table["Layer"], table["On call now"], strict=True)) == [("1. Layer 1", "Csm1"),
                                                                           ("2. Layer 2", "Lead1")]
    assert all(level.startswith("L3") for level in table["Level"])
