"""Which time zone a person's times are shown in: their own zone, or UTC, as they chose.

One rule for every internal page and export. "My time zone" is the zone the
person set on their profile; until they set one it is their browser's zone,
and without a usable browser zone the stored one (UTC unless an administrator
gave another). Choosing UTC shows every time in UTC. Client-facing text never
asks this rule: it always uses the client's zone. Pure: no I/O, never reads
the browser or the clock itself (the browser's zone is passed in), never
imports streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.zones import UTC_NAME, UnknownTimeZone, check_zone_name


class ShowTimesIn(StrEnum):
    """What a person asked times to be shown in."""

    MINE = "mine"
    UTC = "utc"


class ZoneSource(StrEnum):
    """Where the zone of "my time zone" comes from."""

    CHOSEN = "chosen"      # set on the profile (or by an administrator)
    BROWSER = "browser"    # not set yet: the browser's zone
    DEFAULT = "default"    # not set, and the browser gave no usable zone: the stored one


SOURCE_WORDS: dict[ZoneSource, str] = {
    ZoneSource.CHOSEN: "your profile",
    ZoneSource.BROWSER: "your browser",
    ZoneSource.DEFAULT: "not set yet",
}


@dataclass(frozen=True)
class DisplayZone:
    """The zone times are shown in (`name`), the person's own zone and where that came from."""

    name: str
    own: str
    source: ZoneSource
    shows: ShowTimesIn

    @property
    def label(self) -> str:
        """What the sidebar says: 'UTC (your choice)', 'Europe/Paris (your browser)'."""
        if self.shows is ShowTimesIn.UTC:
            return f"{UTC_NAME} (your choice)"
        return f"{self.name} ({SOURCE_WORDS[self.source]})"


def parse_show_times_in(value: str | None) -> ShowTimesIn:
    """The stored choice; anything unknown reads as "my time zone" (the default)."""
    try:
        return ShowTimesIn(value or ShowTimesIn.MINE)
    except ValueError:
        return ShowTimesIn.MINE


def valid_zone(name: str | None) -> str | None:
    """`name` when it is an IANA zone name, else None (a browser may send anything or nothing)."""
    if not name:
        return None
    try:
        return check_zone_name(name)
    except UnknownTimeZone:
        return None


def own_zone(*, time_zone: str, chosen: bool, browser: str | None) -> tuple[str, ZoneSource]:
    """The person's own zone: the one they set; else their browser's; else the stored one."""
    if chosen:
        return valid_zone(time_zone) or UTC_NAME, ZoneSource.CHOSEN
    from_browser = valid_zone(browser)
    if from_browser is not None:
        return from_browser, ZoneSource.BROWSER
    return valid_zone(time_zone) or UTC_NAME, ZoneSource.DEFAULT


def display_zone(*, shows: ShowTimesIn | str | None, time_zone: str, chosen: bool,
                 browser: str | None) -> DisplayZone:
    """The zone to show this person's times in: UTC when they chose UTC, else their own zone."""
    choice = shows if isinstance(shows, ShowTimesIn) else parse_show_times_in(shows)
    own, source = own_zone(time_zone=time_zone, chosen=chosen, browser=browser)
    return DisplayZone(name=UTC_NAME if choice is ShowTimesIn.UTC else own, own=own, source=source, shows=choice)
