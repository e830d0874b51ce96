"""How a person is reached when paged (core.oncall.reach): rules, quiet hours, always-page severities.

Pure: tables of cases, no database.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.oncall.reach import (
    ReachError,
    ReachRule,
    check_phone,
    check_quiet_hours,
    check_rules,
    plan_reach,
    quiet_until,
)

UTC = dt.UTC
# Monday 2 March 2026, 23:30 UTC = Tuesday 00:30 in Paris (CET, UTC+1).
NIGHT = dt.datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RULES = (ReachRule("inbox", 0), ReachRule("email", 2), ReachRule("sms", 5))
M = dt.timedelta(minutes=1)
PAGE_ALWAYS = ("P0", "P1")


def _plan(rules=RULES, *, severity="P3", quiet=("22:00", "07:00"), zone="Europe/Paris", now=NIGHT,
          has_email=True, has_phone=True):
    return plan_reach(rules, severity=severity, always_page=PAGE_ALWAYS, quiet_from=quiet[0], quiet_to=quiet[1],
                      zone=zone, now=now, has_email=has_email, has_phone=has_phone)


# 07:00 Paris on Tuesday 3 March is 06:00 UTC.
MORNING = dt.datetime(2026, 3, 3, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("case, kwargs, expected", [
    ("no rules: in the app and by email at once", {"rules": (), "now": NOON},
     [("inbox", NOON), ("email", NOON)]),
    ("rules in order, delays from the page", {"now": NOON},
     [("inbox", NOON), ("email", NOON + 2 * M), ("sms", NOON + 5 * M)]),
    ("P3 in quiet hours waits until they end; delays count from there", {},
     [("inbox", MORNING), ("email", MORNING + 2 * M), ("sms", MORNING + 5 * M)]),
    ("P2 waits too", {"severity": "P2"},
     [("inbox", MORNING), ("email", MORNING + 2 * M), ("sms", MORNING + 5 * M)]),
    ("P0 ignores quiet hours", {"severity": "P0"},
     [("inbox", NIGHT), ("email", NIGHT + 2 * M), ("sms", NIGHT + 5 * M)]),
    ("P1 ignores quiet hours", {"severity": "P1"},
     [("inbox", NIGHT), ("email", NIGHT + 2 * M), ("sms", NIGHT + 5 * M)]),
    ("quiet hours are read in the person's zone: 15:00 UTC is 10:00 in New York, not quiet",
     {"zone": "America/New_York", "now": dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)},
     [("inbox", dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)), ("email", dt.datetime(2026, 3, 2, 15, 2, tzinfo=UTC)),
      ("sms", dt.datetime(2026, 3, 2, 15, 5, tzinfo=UTC))]),
    ("no phone: the SMS is left out", {"has_phone": False, "now": NOON},
     [("inbox", NOON), ("email", NOON + 2 * M)]),
    ("nothing reachable: still in the app", {"rules": (ReachRule("email", 0),), "has_email": False, "now": NOON},
     [("inbox", NOON)]),
    ("no quiet hours set", {"quiet": ("", ""), "rules": (ReachRule("email", 0),)}, [("email", NIGHT)]),
])
def test_plan_reach(case, kwargs, expected):
    assert _plan(**kwargs) == expected, case


@pytest.mark.parametrize("quiet_from, quiet_to, zone, now, expected", [
    ("22:00", "07:00", "UTC", dt.datetime(2026, 3, 2, 23, 0, tzinfo=UTC), dt.datetime(2026, 3, 3, 7, 0, tzinfo=UTC)),
    ("22:00", "07:00", "UTC", dt.datetime(2026, 3, 3, 3, 0, tzinfo=UTC), dt.datetime(2026, 3, 3, 7, 0, tzinfo=UTC)),
    ("22:00", "07:00", "UTC", dt.datetime(2026, 3, 3, 7, 0, tzinfo=UTC), None),     # the end is not quiet
    ("22:00", "07:00", "UTC", dt.datetime(2026, 3, 2, 22, 0, tzinfo=UTC),
     dt.datetime(2026, 3, 3, 7, 0, tzinfo=UTC)),                                    # the start is
    ("12:00", "14:00", "UTC", dt.datetime(2026, 3, 2, 13, 0, tzinfo=UTC), dt.datetime(2026, 3, 2, 14, 0, tzinfo=UTC)),
    ("12:00", "14:00", "UTC", dt.datetime(2026, 3, 2, 11, 59, tzinfo=UTC), None),
    # Paris springs forward on 29 March 2026: 07:00 local is 05:00 UTC after the change (06:00 before).
    ("22:00", "07:00", "Europe/Paris", dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
     dt.datetime(2026, 3, 29, 5, 0, tzinfo=UTC)),
    ("22:00", "07:00", "Europe/Paris", dt.datetime(2026, 3, 27, 23, 0, tzinfo=UTC),
     dt.datetime(2026, 3, 28, 6, 0, tzinfo=UTC)),
    ("", "", "UTC", NIGHT, None),
    ("22:00", "22:00", "UTC", NIGHT, None),
])
def test_quiet_until(quiet_from, quiet_to, zone, now, expected):
    assert quiet_until(quiet_from, quiet_to, zone, now) == expected


@pytest.mark.parametrize("rules, has_phone, message", [
    ([ReachRule("pager", 0)], True, "Rule 1: the channel is one of In the app, Email, SMS"),
    ([ReachRule("inbox", 0), ReachRule("email", 61)], True, "Rule 2: the delay is 0 to 60 minutes"),
    ([ReachRule("email", -1)], True, "Rule 1: the delay is 0 to 60 minutes"),
    ([ReachRule("sms", 0)], False, "Rule 1: an SMS needs your phone number"),
    ([ReachRule("inbox", n) for n in range(6)], True, "Keep at most 5 rules: remove 1"),
])
def test_check_rules_says_what_to_fix(rules, has_phone, message):
    with pytest.raises(ReachError, match=message):
        check_rules(rules, has_phone=has_phone)


def test_check_rules_accepts_the_issues_example():
    assert check_rules(list(RULES), has_phone=True) == list(RULES)


@pytest.mark.parametrize("quiet_from, quiet_to, expected", [
    ("22:00", "07:00", ("22:00", "07:00")),
    (" 08:30 ", "09:00", ("08:30", "09:00")),
    ("", "", ("", "")),
    ("22:00", "", "Quiet hours end"),
    ("7:00", "08:00", "Quiet hours start: write the time as HH:MM"),
    ("24:00", "08:00", "Quiet hours start"),
    ("10:00", "10:00", "same time"),
])
def test_check_quiet_hours(quiet_from, quiet_to, expected):
    if isinstance(expected, tuple):
        assert check_quiet_hours(quiet_from, quiet_to) == expected
    else:
        with pytest.raises(ReachError, match=expected):
            check_quiet_hours(quiet_from, quiet_to)


@pytest.mark.parametrize("phone, expected", [
    ("+44 20 7946 0000", "+44 20 7946 0000"),
    ("  ", ""),
    ("+1-415-555-0100", "+1-415-555-0100"),
    ("call me", None),
    ("+12", None),
])
def test_check_phone(phone, expected):
    if expected is None:
        with pytest.raises(ReachError, match="international number"):
            check_phone(phone)
    else:
        assert check_phone(phone) == expected
