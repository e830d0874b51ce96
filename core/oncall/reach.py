"""How a person is reached when paged: ordered notification rules, quiet hours, severities that always page.

`plan_reach` turns a person's rules ("in the app at once, email after 2 minutes, SMS after 5")
into the moments each channel is used for one page. Quiet hours are a wall-clock window in the
person's own zone ("22:00"-"07:00" crosses midnight): a page whose severity is not among the
policy's `always_page` waits until the window ends, and the delays count from there. A channel the
person cannot be reached on (no email address, no phone or no SMS gateway) is left out.
`check_rules` and `check_quiet_hours` say in plain words what to fix in a person's settings.
Pure: `now` is a parameter; never reads the clock, touches storage or imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.zones import zone_or_none

# The channels a person's own rules may use (team channels are the team's, not a person's).
RULE_CHANNELS = ("inbox", "email", "sms")
CHANNEL_NAMES = {"inbox": "In the app", "email": "Email", "sms": "SMS"}
MAX_RULES = 5
MAX_DELAY_MINUTES = 60
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# An international number as people write it: digits, spaces, dashes, dots, brackets, a leading +.
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{5,38}$")


@dataclass(frozen=True)
class ReachRule:
    """One step of how a person is reached: `channel`, `delay_minutes` after the page."""

    channel: str
    delay_minutes: int = 0


# Someone who set no rules is reached in the app and by email, at once.
DEFAULT_RULES = (ReachRule("inbox", 0), ReachRule("email", 0))


class ReachError(ValueError):
    """A person's notification settings cannot be saved; the message says what to fix."""


def parse_hhmm(text: str) -> dt.time | None:
    """The time of day "HH:MM" names (24-hour clock); None when it is not one."""
    match = _HHMM.match((text or "").strip())
    return dt.time(int(match[1]), int(match[2])) if match else None


def quiet_until(quiet_from: str, quiet_to: str, zone: str, now: dt.datetime) -> dt.datetime | None:
    """When the quiet hours that `now` falls in end (UTC); None when `now` is outside them or none are set."""
    start, end = parse_hhmm(quiet_from), parse_hhmm(quiet_to)
    tz = zone_or_none(zone) or dt.UTC
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        day = local.date()
    else:  # the window crosses midnight: 22:00-07:00
        inside = clock >= start or clock < end
        day = local.date() + dt.timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    # A wall-clock time a spring-forward change skipped is read with the offset before it.
    return dt.datetime.combine(day, end).replace(tzinfo=tz).astimezone(dt.UTC)


def plan_reach(rules: Sequence[ReachRule], *, severity: str, always_page: Iterable[str], quiet_from: str,
               quiet_to: str, zone: str, now: dt.datetime, has_email: bool,
               has_phone: bool) -> list[tuple[str, dt.datetime]]:
    """The channels a page reaches the person on and when, in rule order (see the module).

    No rules: in the app and by email at once. A severity outside `always_page` during quiet hours
    moves every moment to the end of the quiet hours. Never empty: someone who cannot be reached on
    any of their rules' channels still finds the page in the app.
    """
    start = now
    if severity not in set(always_page):
        start = quiet_until(quiet_from, quiet_to, zone, now) or now
    usable = {"inbox": True, "email": has_email, "sms": has_phone}
    plan = [(rule.channel, start + dt.timedelta(minutes=rule.delay_minutes))
            for rule in (rules or DEFAULT_RULES) if usable.get(rule.channel, False)]
    return plan or [("inbox", start)]


def check_rules(rules: Sequence[ReachRule], *, has_phone: bool) -> list[ReachRule]:
    """The rules as they would be saved; ReachError naming the first thing to fix."""
    if len(rules) > MAX_RULES:
        raise ReachError(f"Keep at most {MAX_RULES} rules: remove {len(rules) - MAX_RULES}.")
    for number, rule in enumerate(rules, start=1):
        if rule.channel not in RULE_CHANNELS:
            raise ReachError(f"Rule {number}: the channel is one of "
                             f"{', '.join(CHANNEL_NAMES[c] for c in RULE_CHANNELS)}.")
        if not 0 <= rule.delay_minutes <= MAX_DELAY_MINUTES:
            raise ReachError(f"Rule {number}: the delay is 0 to {MAX_DELAY_MINUTES} minutes after the page.")
        if rule.channel == "sms" and not has_phone:
            raise ReachError(f"Rule {number}: an SMS needs your phone number: enter it above, or pick another "
                             "channel.")
    return list(rules)


def check_quiet_hours(quiet_from: str, quiet_to: str) -> tuple[str, str]:
    """The quiet hours as stored ("", "" for none); ReachError when one end is missing or not HH:MM."""
    quiet_from, quiet_to = (quiet_from or "").strip(), (quiet_to or "").strip()
    if not quiet_from and not quiet_to:
        return "", ""
    for label, text in (("start", quiet_from), ("end", quiet_to)):
        if parse_hhmm(text) is None:
            raise ReachError(f"Quiet hours {label}: write the time as HH:MM on a 24-hour clock, e.g. 22:00 "
                             "(leave both empty for no quiet hours).")
    if quiet_from == quiet_to:
        raise ReachError("Quiet hours start and end at the same time: change one, or leave both empty.")
    return quiet_from, quiet_to


def check_phone(phone: str) -> str:
    """The phone number as stored ("" for none); ReachError when it is not a number."""
    phone = (phone or "").strip()
    if phone and (_PHONE.match(phone) is None or sum(c.isdigit() for c in phone) < 6):
        raise ReachError("Phone: write an international number with its country code, e.g. +44 20 7946 0000 "
                         "(digits, spaces and dashes only).")
    return phone
