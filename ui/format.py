"""How times and durations are shown: in the viewer's time zone, explicitly labelled."""

from __future__ import annotations

import datetime as dt

from core.sla.clocks import compact_duration
from core.zones import zone


def local_time(value: dt.datetime | None, time_zone: str, fmt: str = "%a %d %b %H:%M") -> str:
    """`value` (UTC) shown in `time_zone`, with the zone's abbreviation."""
    if value is None:
        return "—"
    local = value.astimezone(zone(time_zone))
    return f"{local.strftime(fmt)} {local.tzname()}"


def time_left(deadline: dt.datetime | None, now: dt.datetime) -> str:
    """'in 1h 05m' or 'overdue 12m' relative to `now`."""
    if deadline is None:
        return "—"
    seconds = int((deadline - now).total_seconds())
    text = human_duration(abs(seconds))
    return f"in {text}" if seconds >= 0 else f"overdue {text}"


def countdown(deadline: dt.datetime, now: dt.datetime) -> str:
    """A live countdown: to the second within the hour ('in 14m 05s', 'overdue 2m 40s'), else like time_left."""
    seconds = int((deadline - now).total_seconds())
    if abs(seconds) >= 3600:
        return time_left(deadline, now)
    minutes, rest = divmod(abs(seconds), 60)
    text = f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"
    return f"in {text}" if seconds >= 0 else f"overdue {text}"


def human_duration(seconds: int) -> str:
    """A compact duration: 45s, 12m, 1h 05m, 3d 4h."""
    return f"{seconds}s" if seconds < 60 else compact_duration(dt.timedelta(seconds=seconds))
