"""The On-call page with AppTest: every role sees who is on call; covers are added, refused forms keep their
values, swaps are answered by the colleague asked; leads and admins get the schedule forms."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.oncall import schedules
from core.oncall.resolve import user_who
from core.people.access import Role
from core.people.users import Actor
from db.engine import session_scope
from db.models import OnCallOverride, OnCallSchedule, OnCallSwap
from tests.literal_text import visible_text
from tests.pages.conftest import app_test, texts


@pytest.fixture
def rota(people, app_db):
    """An L1 schedule whose daily primary layer rotates Csm1 and Lead1 at midnight UTC; Lead1 asks Csm1 for a swap."""
    now = dt.datetime.now(dt.UTC)
    lead = Actor(people["lead"], "lead1", Role.LEAD)
    first = (now - dt.timedelta(days=7)).date()
    with session_scope(app_db) as s:
        schedule = schedules.create_schedule(s, name="L1 technical lead on call", level="L1", time_zone="UTC",
                                             manager=user_who(people["admin"]), actor=lead, now=now)
        schedules.add_layer(s, schedule.id, name="Primary", rotation_kind="daily", start_local=f"{first}T00:00",
                            time_zone="UTC", members=[user_who(people["csm"]), user_who(people["lead"])],
                            actor=lead, now=now)
        tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(10), tzinfo=dt.UTC)
        (shift,) = schedules.shifts_between(s, schedule.id, 1, tomorrow, tomorrow + dt.timedelta(hours=2))
        asker = "lead" if shift.who == user_who(people["lead"]) else "csm"
        asked = "csm" if asker == "lead" else "lead"
        schedules.ask_swap(s, schedule.id, position=1, asked_id=people[asked], starts_at=tomorrow,
                           ends_at=tomorrow + dt.timedelta(hours=2), message="Dentist at ten",
                           actor=Actor(people[asker], f"{asker}1", Role(asker)), now=now)
    return {"people": people, "asked": f"{asked}1", "asker": f"{asker}1", "schedule": schedule.id}


def _open(username: str):
    return app_test("pages/oncall.py", username, timeout=30).run()


@pytest.mark.parametrize("username, manages", [("csm1", False), ("lead1", True), ("admin1", True)])
def test_every_role_sees_who_is_on_call_now_and_next(rota, username, manages):
    at = _open(username)
    assert not at.exception, at.exception
    now_table = at.dataframe[0].value
    assert list(now_table["Level"]) == ["L1"]
    assert {now_table["On call now"][0], now_table["Next"][0]} == {"Csm1", "Lead1"}
    assert "Who is on call now / next" in texts(at)
    labels = [tab.label for tab in at.tabs]
    assert ("Manage schedules" in labels) is manages and ("Outside contacts" in labels) is manages


def _cover(at, *, day: dt.date, start: dt.time, end: dt.time, reason: str):
    at.date_input(key="cover_start_day").set_value(day)
    at.time_input(key="cover_start_time").set_value(start)
    at.date_input(key="cover_end_day").set_value(day)
    at.time_input(key="cover_end_time").set_value(end)
    at.text_input(key="cover_reason").set_value(reason)
    next(b for b in at.button if b.label == "Add cover").click()
    return at.run()


def test_a_csm_puts_themselves_on_call_with_the_cover_form(rota):
    at = _open("csm1")
    day = dt.date.today() + dt.timedelta(days=2)
    at = _cover(at, day=day, start=dt.time(9), end=dt.time(17), reason="I cover for Lead1 on Friday")
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    with session_scope() as s:
        (row,) = s.scalars(select(OnCallOverride)).all()
    assert (row.who, row.reason) == (user_who(rota["people"]["csm"]), "I cover for Lead1 on Friday")
    assert row.ends_at - row.starts_at == dt.timedelta(hours=8)
    assert "Cover added" in texts(at)
    assert at.text_input(key="cover_reason").value == ""
    next(b for b in at.button if b.label == "Add cover").click()  # the same cover again: a second click
    at.run()
    assert not at.exception and not at.error
    with session_scope() as s:
        assert len(s.scalars(select(OnCallOverride)).all()) == 1, "a repeated submission adds no second cover"


def test_a_refused_cover_keeps_what_was_typed_and_says_what_to_fix(rota):
    at = _open("csm1")
    day = dt.date.today() + dt.timedelta(days=2)
    at = _cover(at, day=day, start=dt.time(17), end=dt.time(9), reason="Dentist")
    assert not at.exception, at.exception
    assert [visible_text(e.value) for e in at.error] == [
        "The end must come after the start: check the two dates and times."]
    assert at.text_input(key="cover_reason").value == "Dentist"
    assert at.time_input(key="cover_start_time").value == dt.time(17)
    with session_scope() as s:
        assert s.scalars(select(OnCallOverride)).all() == []


def test_the_colleague_asked_accepts_a_swap_and_the_asker_cannot(rota):
    asker = _open(rota["asker"])
    assert not [b for b in asker.button if b.label == "Accept"]
    at = _open(rota["asked"])
    assert "Dentist at ten" in [t.value for t in at.text]
    next(b for b in at.button if b.label == "Accept").click()
    at.run()
    assert not at.exception and not at.error
    with session_scope() as s:
        swap = s.scalars(select(OnCallSwap)).one()
        override = s.get(OnCallOverride, swap.override_id)
    assert swap.state == "accepted"
    assert override.who == user_who(rota["people"][rota["asked"].removesuffix("1")])


def test_a_lead_creates_a_schedule_and_a_refused_one_keeps_its_name(rota):
    at = _open("lead1")
    at.text_input(key="sch_new_name").set_value("L2 support manager on call")
    at.selectbox(key="sch_new_level").set_value("L1")  # L1 is taken: refused
    next(b for b in at.button if b.label == "Create schedule").click()
    at.run()
    assert [visible_text(e.value) for e in at.error] == [
        "L1 is already answered by the schedule 'L1 technical lead on call': disable that one first, or give this "
        "one another level (or none)."]
    assert at.text_input(key="sch_new_name").value == "L2 support manager on call"
    at.selectbox(key="sch_new_level").set_value("L2")
    next(b for b in at.button if b.label == "Create schedule").click()
    at.run()
    assert not at.error and not at.exception
    with session_scope() as s:
        assert sorted(s.scalars(select(OnCallSchedule.level))) == ["L1", "L2"]


def test_an_admin_adds_an_outside_contact_and_a_refused_one_keeps_what_was_typed(rota):
    at = _open("admin1")
    at.text_input(key="contact_new_name").set_value("Dana Whitfield")
    at.text_input(key="contact_new_org").set_value("Chief Operating Officer")
    at.text_input(key="contact_new_email").set_value("dana at example")
    next(b for b in at.button if b.label == "Add contact").click()
    at.run()
    assert [visible_text(e.value) for e in at.error] == ["Email 'dana at example' is not an address like "
                                                         "name@example.com."]
    assert at.text_input(key="contact_new_name").value == "Dana Whitfield"
    at.text_input(key="contact_new_email").set_value("dana.whitfield@example.com")
    next(b for b in at.button if b.label == "Add contact").click()
    at.run()
    assert not at.error and not at.exception
    assert "Dana Whitfield · Chief Operating Officer" in [e.label for e in at.expander]


def test_a_csm_asks_for_a_swap_of_their_own_shift_with_the_form(rota):
    now = dt.datetime.now(dt.UTC)
    with session_scope() as s:
        shifts = schedules.shifts_between(s, rota["schedule"], 1, now + dt.timedelta(days=1),
                                          now + dt.timedelta(days=4))
    mine = next(shift for shift in shifts if shift.who == user_who(rota["people"]["csm"]))
    day = max(mine.starts_at, now + dt.timedelta(days=1)).date()
    at = _open("csm1")
    at.selectbox(key="swap_asked").set_value(f"u:{rota['people']['lead']}")
    at.date_input(key="swap_start_day").set_value(day)
    at.date_input(key="swap_end_day").set_value(day)
    at.text_input(key="swap_message").set_value("School play")
    next(b for b in at.button if b.label == "Ask").click()
    at.run()
    assert not at.error and not at.exception
    with session_scope() as s:
        asked = s.scalars(select(OnCallSwap).where(OnCallSwap.message == "School play")).one()
    assert (asked.requester_id, asked.asked_id, asked.state) == (rota["people"]["csm"], rota["people"]["lead"], "asked")
