"""Which zone a person's times are shown in (core.people.time_display), as a table; and the profile's writes."""

import pytest

from core.people import users
from core.people.time_display import ShowTimesIn, ZoneSource, display_zone
from db.engine import session_scope
from db.models import AuditEntry, User
from tests.conftest import NOW, make_user

MINE, UTC = ShowTimesIn.MINE, ShowTimesIn.UTC
CHOSEN, BROWSER, DEFAULT = ZoneSource.CHOSEN, ZoneSource.BROWSER, ZoneSource.DEFAULT


@pytest.mark.parametrize("shows, stored, chosen, browser, expected", [
    # A zone the person set wins over the browser's.
    (MINE, "Europe/Paris", True, "America/New_York", ("Europe/Paris", "Europe/Paris", CHOSEN)),
    (MINE, "UTC", True, "Asia/Tokyo", ("UTC", "UTC", CHOSEN)),
    # Not set yet: the browser's zone.
    (MINE, "UTC", False, "America/New_York", ("America/New_York", "America/New_York", BROWSER)),
    (MINE, "Europe/Paris", False, "Asia/Kolkata", ("Asia/Kolkata", "Asia/Kolkata", BROWSER)),
    # A browser zone that is not an IANA name, or none at all: the stored zone.
    (MINE, "UTC", False, "Mars/Olympus", ("UTC", "UTC", DEFAULT)),
    (MINE, "UTC", False, "", ("UTC", "UTC", DEFAULT)),
    (MINE, "Europe/Paris", False, None, ("Europe/Paris", "Europe/Paris", DEFAULT)),
    # UTC chosen: every time in UTC, whatever the person's own zone is.
    (UTC, "Europe/Paris", True, "America/New_York", ("UTC", "Europe/Paris", CHOSEN)),
    (UTC, "UTC", False, "America/New_York", ("UTC", "America/New_York", BROWSER)),
    (UTC, "UTC", False, None, ("UTC", "UTC", DEFAULT)),
    # A stored value read leniently: an unknown choice means "my time zone", an unknown stored zone UTC.
    ("sideways", "Europe/Paris", True, None, ("Europe/Paris", "Europe/Paris", CHOSEN)),
    (None, "Atlantis/Capital", True, "Europe/Paris", ("UTC", "UTC", CHOSEN)),
])
def test_display_zone(shows, stored, chosen, browser, expected):
    zone = display_zone(shows=shows, time_zone=stored, chosen=chosen, browser=browser)
    assert (zone.name, zone.own, zone.source) == expected


@pytest.mark.parametrize("shows, chosen, browser, label", [
    (MINE, True, None, "Europe/Paris (your profile)"),
    (MINE, False, "Asia/Tokyo", "Asia/Tokyo (your browser)"),
    (MINE, False, None, "Europe/Paris (not set yet)"),
    (UTC, True, "Asia/Tokyo", "UTC (your choice)"),
])
def test_the_sidebar_says_where_the_zone_comes_from(shows, chosen, browser, label):
    assert display_zone(shows=shows, time_zone="Europe/Paris", chosen=chosen, browser=browser).label == label


def _person(engine, username):
    with session_scope(engine) as s:
        user = users.get_by_username(s, username)
        return user.time_zone, user.time_zone_chosen, user.show_times_in


@pytest.mark.parametrize("zone, shows, expected", [
    ("Europe/Paris", "mine", ("Europe/Paris", True, "mine")),
    ("Europe/Paris", "utc", ("Europe/Paris", True, "utc")),
    (None, "utc", ("UTC", False, "utc")),  # follow the browser: nothing chosen, the stored zone stays
])
def test_update_profile_stores_the_choice(engine, zone, shows, expected):
    uid = make_user(engine, "dana", "csm")
    with session_scope(engine) as s:
        users.update_profile(s, user_id=uid, display_name="Dana", email="dana@example.com", time_zone=zone,
                             show_times_in=shows, now=NOW)
    assert _person(engine, "dana") == expected


@pytest.mark.parametrize("zone, shows, message", [
    ("Mars/Olympus", "mine", "IANA name"),
    ("Europe/Paris", "browser", "Choose 'mine' \\(my time zone\\) or 'utc'"),
])
def test_update_profile_refuses_and_changes_nothing(engine, zone, shows, message):
    uid = make_user(engine, "dana", "csm")
    with pytest.raises(users.UserError, match=message), session_scope(engine) as s:
        users.update_profile(s, user_id=uid, display_name="Dana", email="dana@example.com", time_zone=zone,
                             show_times_in=shows, now=NOW)
    assert _person(engine, "dana") == ("UTC", False, "mine")


def test_choosing_a_zone_is_audited_and_an_admin_set_zone_counts_as_chosen(engine):
    uid = make_user(engine, "dana", "csm")
    with session_scope(engine) as s:
        users.update_profile(s, user_id=uid, display_name="Dana", email="dana@example.com", time_zone="Asia/Tokyo",
                             show_times_in="utc", now=NOW)
        users.create_user(s, username="erin", display_name="Erin", role="csm", time_zone="America/Chicago",
                          actor=users.SYSTEM, now=NOW)
        users.create_user(s, username="finn", display_name="Finn", role="csm", actor=users.SYSTEM, now=NOW)
    with session_scope(engine) as s:
        entry = s.query(AuditEntry).filter_by(entity_type="user", entity_id=str(uid), action="update_profile").one()
        assert entry.changes == {"time_zone": ["UTC", "Asia/Tokyo"], "time_zone_chosen": [False, True],
                                 "show_times_in": ["mine", "utc"]}
        chosen = {u.username: (u.time_zone, u.time_zone_chosen) for u in s.query(User)}
    assert chosen["erin"] == ("America/Chicago", True)
    assert chosen["finn"] == ("UTC", False), "no zone given: the browser's is shown until Finn sets one"
