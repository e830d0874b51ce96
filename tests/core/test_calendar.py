"""Working-time arithmetic across nights, weekends, holidays and DST changes."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.policy.calendar import Calendar, add_working_time, working_time_between

WEEKDAYS_9_TO_5 = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}

# Paris office: 09:00-17:00 local, Monday to Friday, closed on Christmas Day.
# Winter time is UTC+1 (09:00 local = 08:00Z), summer time UTC+2 (07:00Z).
# Clocks change on 2025-03-30 (forward) and 2025-10-26 (back), both Sundays.
PARIS = Calendar(kind="business_hours", tz="Europe/Paris", hours=WEEKDAYS_9_TO_5, holidays=[date(2025, 12, 25)])
LUNCH_BREAK = Calendar(
    kind="business_hours",
    tz="UTC",
    hours={day: ["09:00-12:00", "13:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
)
# Open all of Sunday and nothing else: a Sunday on which the clocks change is
# 23 or 25 hours long.
SUNDAYS_PARIS = Calendar(kind="business_hours", tz="Europe/Paris", hours={"sun": ["00:00-24:00"]})
ALWAYS = Calendar()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "case, calendar, start, duration, deadline",
    [
        ("inside opening hours", PARIS, utc("2025-03-03T09:00"), timedelta(hours=2), utc("2025-03-03T11:00")),
        ("carried over the night", PARIS, utc("2025-03-03T15:00"), timedelta(hours=2), utc("2025-03-04T09:00")),
        ("carried over the weekend", PARIS, utc("2025-03-07T15:30"), timedelta(hours=1), utc("2025-03-10T08:30")),
        ("starting on a Saturday", PARIS, utc("2025-03-08T10:00"), timedelta(hours=4), utc("2025-03-10T12:00")),
        ("starting before opening", PARIS, utc("2025-03-03T05:00"), timedelta(minutes=30), utc("2025-03-03T08:30")),
        ("starting after closing", PARIS, utc("2025-03-03T20:00"), timedelta(minutes=30), utc("2025-03-04T08:30")),
        ("ending exactly at closing", PARIS, utc("2025-03-03T08:00"), timedelta(hours=8), utc("2025-03-03T16:00")),
        ("skipping a holiday", PARIS, utc("2025-12-24T15:00"), timedelta(hours=2), utc("2025-12-26T09:00")),
        ("over the spring DST change", PARIS, utc("2025-03-28T15:00"), timedelta(hours=2), utc("2025-03-31T08:00")),
        ("over the autumn DST change", PARIS, utc("2025-10-24T14:00"), timedelta(hours=2), utc("2025-10-27T09:00")),
        ("a full working week", PARIS, utc("2025-03-03T08:00"), timedelta(hours=40), utc("2025-03-07T16:00")),
        ("across a lunch break", LUNCH_BREAK, utc("2025-03-03T11:00"), timedelta(hours=2), utc("2025-03-03T14:00")),
        ("a 23-hour DST Sunday", SUNDAYS_PARIS, utc("2025-03-29T23:00"), timedelta(hours=23), utc("2025-03-30T22:00")),
        ("past the 23-hour Sunday", SUNDAYS_PARIS, utc("2025-03-29T23:00"), timedelta(hours=24),
         utc("2025-04-05T23:00")),
        ("a 25-hour DST Sunday", SUNDAYS_PARIS, utc("2025-10-25T22:00"), timedelta(hours=25), utc("2025-10-26T23:00")),
        ("zero duration while closed", PARIS, utc("2025-03-08T10:00"), timedelta(0), utc("2025-03-08T10:00")),
        ("24x7 ignores weekends", ALWAYS, utc("2025-03-08T10:00"), timedelta(hours=4), utc("2025-03-08T14:00")),
        ("24x7 over the DST change", ALWAYS, utc("2025-03-29T23:00"), timedelta(days=1), utc("2025-03-30T23:00")),
    ],
)
def test_add_working_time(case, calendar, start, duration, deadline):
    assert add_working_time(start, duration, calendar) == deadline


def test_add_working_time_accepts_any_zone_and_answers_in_utc():
    start = datetime.fromisoformat("2025-03-03T16:00:00+01:00")  # Paris, one hour before closing
    deadline = add_working_time(start, timedelta(hours=2), PARIS)
    assert (deadline, deadline.tzinfo) == (utc("2025-03-04T09:00"), UTC)


@pytest.mark.parametrize(
    "case, calendar, start, end, worked",
    [
        ("over a weekend", PARIS, utc("2025-03-07T15:30"), utc("2025-03-10T08:30"), timedelta(hours=1)),
        ("over a holiday", PARIS, utc("2025-12-24T15:00"), utc("2025-12-26T09:00"), timedelta(hours=2)),
        ("entirely while closed", PARIS, utc("2025-03-08T00:00"), utc("2025-03-09T23:00"), timedelta(0)),
        ("end before start", PARIS, utc("2025-03-04T10:00"), utc("2025-03-03T10:00"), timedelta(0)),
        ("over the spring DST change", PARIS, utc("2025-03-28T15:00"), utc("2025-03-31T08:00"), timedelta(hours=2)),
        ("one 23-hour Sunday", SUNDAYS_PARIS, utc("2025-03-29T23:00"), utc("2025-03-30T23:00"), timedelta(hours=23)),
        ("one 25-hour Sunday", SUNDAYS_PARIS, utc("2025-10-25T22:00"), utc("2025-10-26T23:00"), timedelta(hours=25)),
        ("24x7", ALWAYS, utc("2025-03-07T15:30"), utc("2025-03-10T08:30"), timedelta(hours=65)),
    ],
)
def test_working_time_between(case, calendar, start, end, worked):
    assert working_time_between(start, end, calendar) == worked


@pytest.mark.parametrize("function", ["add", "between"])
def test_naive_datetimes_are_refused(function):
    naive = datetime(2025, 3, 3, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        if function == "add":
            add_working_time(naive, timedelta(hours=1), PARIS)
        else:
            working_time_between(utc("2025-03-03T09:00"), naive, PARIS)


def test_negative_duration_is_refused():
    with pytest.raises(ValueError, match="negative"):
        add_working_time(utc("2025-03-03T09:00"), timedelta(minutes=-1), PARIS)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"kind": "business_hours", "tz": "Mars/Olympus", "hours": WEEKDAYS_9_TO_5},
         "unknown time zone 'Mars/Olympus'"),
        ({"kind": "business_hours", "hours": {"mon": ["9-17"]}}, "must look like 09:00-17:30"),
        ({"kind": "business_hours", "hours": {"mon": ["17:00-09:00"]}}, "must end after they start"),
        ({"kind": "business_hours", "hours": {"mon": ["09:00-13:00", "12:00-17:00"]}}, "without overlapping"),
        ({"kind": "business_hours", "hours": {"monday": ["09:00-17:00"]}}, "'mon', 'tue', 'wed'"),
        ({"kind": "business_hours"}, "needs opening hours for at least one day"),
        ({"kind": "24x7", "hours": WEEKDAYS_9_TO_5}, "a 24x7 calendar has no opening hours"),
        ({"kind": "weekdays"}, "'24x7' or 'business_hours'"),
        ({"kind": "24x7", "timezone": "UTC"}, "unknown key 'timezone'; allowed keys: kind, tz, hours, holidays"),
    ],
)
def test_invalid_calendars_say_what_is_allowed(data, message):
    with pytest.raises(ValidationError) as excinfo:
        Calendar.model_validate(data)
    assert message in str(excinfo.value)


def test_calendar_shorthand_and_round_trip():
    assert Calendar.model_validate("24x7") == Calendar()
    assert Calendar.model_validate(PARIS.model_dump(mode="json")) == PARIS


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 20),
    calendar=st.sampled_from([PARIS, LUNCH_BREAK, SUNDAYS_PARIS, ALWAYS]),
)
def test_deadline_is_exactly_that_much_working_time_later(start, minutes, calendar):
    duration = timedelta(minutes=minutes)
    deadline = add_working_time(start, duration, calendar)
    assert deadline >= start
    assert working_time_between(start, deadline, calendar) == duration
