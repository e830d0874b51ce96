"""Time zones: the one check and the one type for an IANA zone name.

People, contacts, accounts and policy calendars all store a zone name; each
validates it here, so the same name is accepted or refused everywhere with the
same message. Pure: no I/O beyond reading the installed zone list once.
"""

from __future__ import annotations

import functools
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator

UTC_NAME = "UTC"


class UnknownTimeZone(ValueError):
    """A zone name that is not an IANA time zone."""


@functools.lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    return frozenset(available_timezones()) | {UTC_NAME}


def zone_names() -> list[str]:
    """Every zone name a person may pick, sorted (for pickers)."""
    return sorted(_names())


def check_zone_name(name: str) -> str:
    """`name` when it is an IANA time zone; else UnknownTimeZone saying what to type instead."""
    if name not in _names():
        raise UnknownTimeZone(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Paris or America/New_York"
        )
    return name


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo of a checked zone name."""
    return ZoneInfo(check_zone_name(name))


def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The ZoneInfo of `name`, or None when it is empty or unknown (stored data read leniently)."""
    if not name:
        return None
    try:
        return zone(name)
    except (UnknownTimeZone, ZoneInfoNotFoundError):
        return None


# A zone name field in a pydantic model: validated with the message above.
TimeZoneName = Annotated[str, AfterValidator(check_zone_name)]
