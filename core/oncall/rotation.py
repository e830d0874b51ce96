"""Who is on call at one instant: rotations in wall-clock time, follow-the-sun, overrides.

A layer rotates its members in order:
- `daily` / `weekly`: the handoff is at the same local time in the layer's zone every day or week,
  whatever the clocks do (the shift that spans a DST change is an hour shorter or longer);
- `hours`: a shift of `shift_hours` real hours from the first handoff (12 h, 8 h shifts);
- `follow_the_sun`: each member takes over at their own local `start` in their own zone and hands
  over at the next member's start (Sydney, London, New York...).
Overrides sit on top of one layer: the newest override covering the instant wins, so an override
of an override works ("Ana covers Friday", then "Ben covers Friday afternoon for Ana").

Who is a string: "u:<user id>" or "c:<external contact id>". Pure: every instant is a parameter
(aware datetimes); never reads the clock, touches storage or imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAILY, WEEKLY, HOURS, FOLLOW_THE_SUN = "daily", "weekly", "hours", "follow_the_sun"
ROTATIONS = (DAILY, WEEKLY, HOURS, FOLLOW_THE_SUN)
ROTATION_LABELS = {DAILY: "Daily handoff", WEEKLY: "Weekly handoff", HOURS: "Shifts of N hours",
                   FOLLOW_THE_SUN: "Follow the sun"}
# How far ahead a "next" search looks before it gives up (a layer whose members were all removed).
HORIZON = dt.timedelta(days=60)


@dataclass(frozen=True)
class Member:
    """One person in a rotation; follow-the-sun members carry their zone and local start time."""

    who: str
    zone: str | None = None
    start: dt.time | None = None


@dataclass(frozen=True)
class Layer:
    """One rotation: its position (1 primary, 2 secondary...), kind, first handoff (wall clock) and members."""

    position: int
    rotation: str
    start_local: dt.datetime
    zone: str
    members: tuple[Member, ...]
    shift_hours: int = 24


@dataclass(frozen=True)
class Override:
    """Someone covers `position` from `starts_at` to `ends_at`; `created_at` orders overrides of overrides."""

    id: int
    position: int
    who: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_at: dt.datetime


@dataclass(frozen=True)
class Shift:
    """Who is on call for a layer from `starts_at` to `ends_at`; `override_id` when an override put them there."""

    who: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    position: int
    override_id: int | None = None


def _aware(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The instant a wall-clock time is reached in `zone`: the first instant the clock shows `local` or later.

    A time repeated by a fall-back change is its first occurrence; a time skipped by a spring-forward
    change is the moment the clocks jump (02:30 on a night that goes from 02:00 to 03:00 is 03:00).
    """
    instant = local.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    if _wall(instant, zone) == local:
        return instant
    # Skipped: fold=1 reads it with the offset after the change, an instant before the jump; the jump
    # lies between that and `instant`. Halve the interval, in whole seconds (changes fall on one).
    low = int(local.replace(tzinfo=zone, fold=1).timestamp())
    high = int(instant.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(dt.datetime.fromtimestamp(middle, dt.UTC), zone) >= local:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, dt.UTC)


def _wall(at: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def _periodic(layer: Layer, at: dt.datetime, period: dt.timedelta, wall_clock: bool) -> Shift | None:
    zone = ZoneInfo(layer.zone)
    elapsed = _wall(at, zone) - layer.start_local if wall_clock else at - _aware(layer.start_local, zone)
    if elapsed < dt.timedelta(0):
        return None
    n = elapsed // period
    if wall_clock:
        # The wall clock gives a first guess; around a DST change (a repeated hour, a skipped
        # handoff time) the instants decide, so a shift never ends before it starts or comes back.
        begin, end = _aware(layer.start_local + n * period, zone), _aware(layer.start_local + (n + 1) * period, zone)
        while n > 0 and at < begin:
            n -= 1
            begin, end = _aware(layer.start_local + n * period, zone), begin
        while at >= end:
            n += 1
            begin, end = end, _aware(layer.start_local + (n + 1) * period, zone)
        if at < begin:
            return None
    else:
        begin = _aware(layer.start_local, zone) + n * period
        end = begin + period
    return Shift(layer.members[n % len(layer.members)].who, begin, end, layer.position)


def _starts(member: Member, around: dt.datetime) -> list[dt.datetime]:
    # The member's local start on the days around `around`, as instants.
    assert member.zone is not None and member.start is not None
    zone = ZoneInfo(member.zone)
    day = around.astimezone(zone).date()
    return [_aware(dt.datetime.combine(day + dt.timedelta(days=d), member.start), zone) for d in (-2, -1, 0, 1, 2)]


def _follow_the_sun(layer: Layer, at: dt.datetime) -> Shift | None:
    if at < _aware(layer.start_local, ZoneInfo(layer.zone)):
        return None
    latest: tuple[dt.datetime, Member] | None = None
    following: dt.datetime | None = None
    for member in layer.members:
        for moment in _starts(member, at):
            if moment <= at and (latest is None or moment > latest[0]):
                latest = (moment, member)
    if latest is None:
        return None
    for member in layer.members:
        if member.who == latest[1].who and member.zone == latest[1].zone and member.start == latest[1].start:
            continue
        for moment in _starts(member, at):
            if moment > at and (following is None or moment < following):
                following = moment
    end = following if following is not None else latest[0] + dt.timedelta(days=1)
    return Shift(latest[1].who, latest[0], end, layer.position)


def layer_shift(layer: Layer, at: dt.datetime) -> Shift | None:
    """The layer's own shift at `at` (overrides aside); None before its first handoff or without members."""
    if not layer.members:
        return None
    if layer.rotation == DAILY:
        return _periodic(layer, at, dt.timedelta(days=1), wall_clock=True)
    if layer.rotation == WEEKLY:
        return _periodic(layer, at, dt.timedelta(days=7), wall_clock=True)
    if layer.rotation == HOURS:
        return _periodic(layer, at, dt.timedelta(hours=max(1, layer.shift_hours)), wall_clock=False)
    if layer.rotation == FOLLOW_THE_SUN:
        return _follow_the_sun(layer, at)
    raise ValueError(f"unknown rotation {layer.rotation!r}")


def _covering(overrides: Iterable[Override], position: int, at: dt.datetime) -> list[Override]:
    return [o for o in overrides if o.position == position and o.starts_at <= at < o.ends_at]


def _newest(found: Sequence[Override]) -> Override | None:
    return max(found, key=lambda o: (o.created_at, o.id), default=None)


def on_call(layers: Sequence[Layer], overrides: Sequence[Override], position: int, at: dt.datetime) -> Shift | None:
    """Who answers layer `position` at `at`: the newest override covering it, else the layer's rotation.

    The shift returned is the stretch of time around `at` in which that stays true: it is cut where
    another override starts or ends, so stepping from one shift's end to the next lists the whole
    timeline exactly.
    """
    layer = next((candidate for candidate in layers if candidate.position == position), None)
    relevant = [o for o in overrides if o.position == position]
    winner = _newest(_covering(relevant, position, at))
    if winner is not None:
        shift = Shift(winner.who, winner.starts_at, winner.ends_at, position, winner.id)
    else:
        base = layer_shift(layer, at) if layer is not None else None
        if base is None:
            return None
        shift = base
    # Cut the stretch where the answer could change: any override edge inside it.
    begin, end = shift.starts_at, shift.ends_at
    for other in relevant:
        for edge in (other.starts_at, other.ends_at):
            if at < edge < end:
                end = edge
            if begin < edge <= at:
                begin = edge
    return Shift(shift.who, begin, end, position, shift.override_id)


def timeline(layers: Sequence[Layer], overrides: Sequence[Override], position: int, start: dt.datetime,
             count: int) -> list[Shift]:
    """Up to `count` consecutive shifts of layer `position` from `start` (the current one first)."""
    found: list[Shift] = []
    at, limit = start, start + HORIZON
    while len(found) < count and at < limit:
        shift = on_call(layers, overrides, position, at)
        if shift is None:
            # Nobody yet: jump to the next moment someone could be (an override, the first handoff).
            edges = [o.starts_at for o in overrides if o.position == position and o.starts_at > at]
            edges += [_aware(layer.start_local, ZoneInfo(layer.zone)) for layer in layers
                      if layer.position == position and _aware(layer.start_local, ZoneInfo(layer.zone)) > at]
            if not edges:
                break
            at = min(edges)
            continue
        if found and found[-1].who == shift.who and found[-1].override_id == shift.override_id \
                and found[-1].ends_at == shift.starts_at:
            found[-1] = Shift(shift.who, found[-1].starts_at, shift.ends_at, position, shift.override_id)
        else:
            found.append(shift)
        at = shift.ends_at
    return found
