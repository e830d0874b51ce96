"""Working-time calendars that SLA clocks run on.

A clock either runs around the clock (``24x7``) or only while a team is open
(``business_hours``: an IANA time zone, weekly opening hours, holiday dates).
This module turns "4 hours of working time from this instant" into a deadline
and measures how much working time lies between two instants. It is pure: it
never reads the current time, never touches files or the network, and only
accepts timezone-aware datetimes, always answering in UTC.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic_core import PydanticCustomError

from core import zones

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")
_CALENDAR_KEYS = ("kind", "tz", "hours", "holidays")


def _parse_span(text: str) -> tuple[time, time | None]:
    """Parse ``HH:MM-HH:MM``; an end of ``24:00`` is returned as None (midnight)."""
    match = _SPAN.match(text)
    if not match:
        raise ValueError(
            f"opening hours {text!r} must look like 09:00-17:30 (24-hour clock, end may be 24:00)"
        )
    h0, m0, h1, m1 = (int(g) for g in match.groups())
    if h1 == 24 and m1 != 0:
        raise ValueError(f"opening hours {text!r}: 24:00 is the latest possible end")
    start = time(h0, m0)
    end = None if h1 == 24 else time(h1, m1)
    if end is not None and end <= start:
        raise ValueError(f"opening hours {text!r} must end after they start, on the same day")
    return start, end


class Calendar(BaseModel):
    """When a clock runs: always, or only during weekly opening hours outside holidays."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["24x7", "business_hours"] = "24x7"
    tz: str = "UTC"
    hours: dict[Weekday, tuple[str, ...]] = {}
    holidays: tuple[date, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _accept_shorthand(cls, data: object) -> object:
        # "24x7" alone is the common case in policy files.
        if data == "24x7":
            return {"kind": "24x7"}
        if isinstance(data, dict):
            for key in data:
                if key not in _CALENDAR_KEYS:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key '{key}'; allowed keys: {allowed}",
                        {"key": key, "allowed": ", ".join(_CALENDAR_KEYS), "at": [key]},
                    )
        return data

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # The one check every stored zone name goes through (core.zones); its error is a ValueError.
        return zones.check_zone_name(value)

    @field_validator("hours")
    @classmethod
    def _well_formed_hours(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for day, spans in value.items():
            parsed = [_parse_span(s) for s in spans]
            for (_s0, e0), (s1, _e1) in itertools.pairwise(parsed):
                if e0 is None or s1 < e0:
                    raise ValueError(
                        f"opening hours on {day} must be listed in order without overlapping"
                    )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Calendar:
        if self.kind == "24x7" and (self.hours or self.holidays):
            raise ValueError("a 24x7 calendar has no opening hours or holidays; use kind: business_hours")
        if self.kind == "business_hours" and not any(self.hours.values()):
            raise ValueError(
                "a business_hours calendar needs opening hours for at least one day (mon..sun)"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return zones.zone(self.tz)

    def open_spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Yield the UTC opening spans in order, beginning with the local day of ``start``."""
        zone = self.zone
        holidays = set(self.holidays)
        weekly: dict[str, list[tuple[time, time | None]]] = {
            day: [_parse_span(s) for s in spans] for day, spans in self.hours.items()
        }
        day = start.astimezone(zone).date()
        closed_run = 0
        # Holidays are finite and at least one weekday opens, so a long run of
        # closed days means the calendar data cannot ever open again.
        closed_limit = len(holidays) + 8
        while True:
            spans = [] if day in holidays else weekly.get(WEEKDAYS[day.weekday()], [])
            produced = False
            for open_at, close_at in spans:
                local_open = datetime.combine(day, open_at, tzinfo=zone)
                if close_at is None:
                    local_close = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
                else:
                    local_close = datetime.combine(day, close_at, tzinfo=zone)
                utc_open, utc_close = local_open.astimezone(UTC), local_close.astimezone(UTC)
                if utc_close > utc_open:  # a span inside a DST gap has no length
                    produced = True
                    yield utc_open, utc_close
            closed_run = 0 if produced else closed_run + 1
            if closed_run > closed_limit:
                raise ValueError("this calendar never opens again: check its hours and holidays")
            day += timedelta(days=1)


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {moment.isoformat()})")
    return moment.astimezone(UTC)


def add_working_time(start: datetime, duration: timedelta, calendar: Calendar) -> datetime:
    """Return the earliest UTC instant by which ``duration`` of working time has elapsed since ``start``."""
    start = _as_utc(start, "start")
    if duration < timedelta(0):
        raise ValueError("a duration of working time cannot be negative")
    if calendar.kind == "24x7" or duration == timedelta(0):
        return start + duration
    remaining = duration
    for open_at, close_at in calendar.open_spans(start):
        if close_at <= start:
            continue
        counted_from = max(open_at, start)
        available = close_at - counted_from
        if remaining <= available:
            return counted_from + remaining
        remaining -= available
    raise AssertionError("unreachable: open_spans is endless")  # pragma: no cover


def working_time_between(start: datetime, end: datetime, calendar: Calendar) -> timedelta:
    """Return the working time between two instants (zero when ``end`` is not after ``start``)."""
    start = _as_utc(start, "start")
    end = _as_utc(end, "end")
    if end <= start:
        return timedelta(0)
    if calendar.kind == "24x7":
        return end - start
    total = timedelta(0)
    for open_at, close_at in calendar.open_spans(start):
        if open_at >= end:
            break
        overlap = min(close_at, end) - max(open_at, start)
        if overlap > timedelta(0):
            total += overlap
    return total
