"""One zone per person on every page (AppTest): the profile's choice, the sidebar, and the pages that show times.

A person sees their own zone (the one they set, else their browser's) or UTC
when they chose it; text for the client always uses the client's zone.
"""

from __future__ import annotations

import pytest

from core.people import users
from db.engine import session_scope
from tests.pages.conftest import app_test, texts


def person(app_db, username: str) -> tuple[str, bool, str]:
    with session_scope(app_db) as s:
        user = users.get_by_username(s, username)
        return user.time_zone, user.time_zone_chosen, user.show_times_in


def set_choice(app_db, username: str, *, zone: str | None, shows: str) -> None:
    """Store `username`'s zone (None: follow the browser) and their choice, as the profile page would."""
    with session_scope(app_db) as s:
        user = users.get_by_username(s, username)
        users.update_profile(s, user_id=user.id, display_name=user.display_name, email=user.email,
                             time_zone=zone, show_times_in=shows, now=users.dt.datetime.now(users.dt.UTC))


def sidebar_line(at) -> str:
    return next(c.value for c in at.sidebar.caption if c.value.startswith("Times shown in"))


@pytest.mark.parametrize("zone, shows, browser, expected", [
    (None, "mine", "America/New_York", "Times shown in America/New_York (your browser)"),
    (None, "mine", "Not/AZone", "Times shown in UTC (not set yet)"),
    (None, "mine", None, "Times shown in UTC (not set yet)"),
    ("Europe/Paris", "mine", "America/New_York", "Times shown in Europe/Paris (your profile)"),
    ("Europe/Paris", "utc", "America/New_York", "Times shown in UTC (your choice)"),
])
def test_the_sidebar_says_which_zone_and_why(people, app_db, zone, shows, browser, expected):
    set_choice(app_db, "csm1", zone=zone, shows=shows)
    at = app_test("pages/profile.py", "csm1")
    at.context = {"timezone": browser}
    at.run()
    assert not at.exception, at.exception
    assert sidebar_line(at) == expected


def test_profile_saves_the_zone_and_the_choice_of_utc(people, app_db):
    at = app_test("pages/profile.py", "csm1")
    at.context = {"timezone": "America/New_York"}
    at.run()
    assert at.selectbox(key="profile_zone").value == "", "no zone set yet: it follows the browser"
    assert "Automatic: this browser's zone (America/New_York)" in at.selectbox(key="profile_zone").options
    assert at.radio(key="profile_show_times_in").options == ["My time zone (America/New_York)", "UTC"]
    at.selectbox(key="profile_zone").select("Europe/Paris")
    at.radio(key="profile_show_times_in").set_value("utc")
    at.button[0].click().run()
    assert "Details saved" in texts(at)
    assert person(app_db, "csm1") == ("Europe/Paris", True, "utc")
    assert sidebar_line(at) == "Times shown in UTC (your choice)"
    # Back to the browser's zone, shown in it.
    at.selectbox(key="profile_zone").select("")
    at.radio(key="profile_show_times_in").set_value("mine")
    at.button[0].click().run()
    assert person(app_db, "csm1") == ("Europe/Paris", False, "mine")
    assert sidebar_line(at) == "Times shown in America/New_York (your browser)"


def test_profile_refusal_keeps_what_was_typed_and_stores_nothing(people, app_db):
    at = app_test("pages/profile.py", "csm1").run()
    at.text_input(key="profile_email").input("not-an-email")
    at.selectbox(key="profile_zone").select("Asia/Tokyo")
    at.radio(key="profile_show_times_in").set_value("utc")
    at.button[0].click().run()
    assert "is not an address" in texts(at)
    assert at.text_input(key="profile_email").value == "not-an-email"
    assert at.selectbox(key="profile_zone").value == "Asia/Tokyo"
    assert at.radio(key="profile_show_times_in").value == "utc"
    assert person(app_db, "csm1") == ("UTC", False, "mine")
