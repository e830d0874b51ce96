"""What the On-call page shows: who is on call now and next per level and layer, the coming shifts, swaps.

Plain values built from `core.oncall.resolve` and `core.oncall.rotation`, with names resolved, so a
page renders without touching the database itself. Reads only: never writes, never reads the
clock (callers pass `at`), never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.oncall import rotation
from core.oncall.resolve import contact_who, describe, layers_of, overrides_of, user_who
from core.oncall.schedules import ASKED
from db.models import ExternalContact, OnCallLayer, OnCallOverride, OnCallSchedule, OnCallSwap, User

UPCOMING = dt.timedelta(days=14)


@dataclass(frozen=True)
class ShiftView:
    """One stretch of one layer: who, from when until when, and whether an override put them there."""

    who: str
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    override_id: int | None

    @property
    def is_override(self) -> bool:
        """True when an override (or an accepted swap) put this person on call."""
        return self.override_id is not None


@dataclass(frozen=True)
class LayerNow:
    """Who answers one layer of one schedule now, and who takes over next."""

    schedule_id: int
    schedule_name: str
    level: str | None
    position: int
    layer_name: str
    current: ShiftView | None
    next: ShiftView | None


@dataclass(frozen=True)
class LayerView:
    """A layer as the page lists it: its rotation in words and its members' names."""

    id: int
    position: int
    name: str
    rotation: str
    start_local: str
    time_zone: str
    shift_hours: int
    members: list[tuple[str, str, str]]  # (who, name, "zone from HH:MM" for follow-the-sun, else "")
    version: int


@dataclass(frozen=True)
class ScheduleView:
    """A schedule with its layers and how its pages climb."""

    id: int
    name: str
    level: str | None
    description: str
    time_zone: str
    manager: str
    manager_name: str
    ack_timeout_minutes: int
    repeats: int
    ack_expires_minutes: int
    is_enabled: bool
    version: int
    layers: list[LayerView]


@dataclass(frozen=True)
class SwapView:
    """A swap request as the two people involved see it."""

    id: int
    schedule_name: str
    position: int
    requester_id: int
    requester_name: str
    asked_id: int
    asked_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    message: str
    state: str
    version: int


@dataclass(frozen=True)
class OverrideView:
    """An override still to come or running, for the page's list (with a Cancel button)."""

    id: int
    schedule_id: int
    schedule_name: str
    position: int
    who: str
    name: str
    replaces_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    created_by_id: int | None


def name_of(session: Session, who: str) -> str:
    """The person's name, or a note that they are gone."""
    if not who:
        return "nobody"
    found = describe(session, who)
    return found.name if found is not None else f"someone removed ({who})"


def _view(session: Session, shift: rotation.Shift | None) -> ShiftView | None:
    if shift is None:
        return None
    return ShiftView(shift.who, name_of(session, shift.who), shift.starts_at, shift.ends_at, shift.override_id)


def _layer_timeline(session: Session, schedule_id: int, position: int, at: dt.datetime,
                    count: int) -> list[rotation.Shift]:
    layers = layers_of(session, schedule_id)
    overrides = overrides_of(session, schedule_id, at - rotation.HORIZON, at + rotation.HORIZON)
    return rotation.timeline(layers, overrides, position, at, count)


def schedules(session: Session, *, include_disabled: bool = True) -> list[ScheduleView]:
    """Every schedule (by level, then name) with its layers."""
    stmt = select(OnCallSchedule).order_by(OnCallSchedule.level.is_(None), OnCallSchedule.level, OnCallSchedule.name)
    if not include_disabled:
        stmt = stmt.where(OnCallSchedule.is_enabled.is_(True))
    found = []
    for row in session.scalars(stmt):
        layers = []
        for layer in session.scalars(select(OnCallLayer).where(OnCallLayer.schedule_id == row.id)
                                     .order_by(OnCallLayer.position)):
            members = [(str(m["who"]), name_of(session, str(m["who"])),
                        f"{m['zone']} from {m['from']}" if m.get("zone") else "") for m in layer.members or []]
            layers.append(LayerView(layer.id, layer.position, layer.name, layer.rotation, layer.start_local,
                                    layer.time_zone, layer.shift_hours, members, layer.version))
        found.append(ScheduleView(row.id, row.name, row.level, row.description, row.time_zone, row.manager,
                                  name_of(session, row.manager) if row.manager else "", row.ack_timeout_minutes,
                                  row.repeats, row.ack_expires_minutes, row.is_enabled, row.version, layers))
    return found


def who_is_on_call_now(session: Session, at: dt.datetime) -> list[LayerNow]:
    """For every enabled schedule and layer: who is on call at `at` and who takes over next."""
    found = []
    for schedule in schedules(session, include_disabled=False):
        for layer in schedule.layers:
            shifts = _layer_timeline(session, schedule.id, layer.position, at, 2)
            # The timeline starts with the shift running at `at`, or with the first one to come.
            current = shifts[0] if shifts and shifts[0].starts_at <= at else None
            rest = shifts[1:] if current is not None else shifts
            upcoming = rest[0] if rest else None
            found.append(LayerNow(schedule.id, schedule.name, schedule.level, layer.position, layer.name,
                                  _view(session, current), _view(session, upcoming)))
    return found


def upcoming_shifts(session: Session, schedule_id: int, position: int, start: dt.datetime,
                    span: dt.timedelta = UPCOMING) -> list[ShiftView]:
    """The layer's shifts from `start` over `span` (the current one first, the last may run past the end)."""
    end = start + span
    shifts = _layer_timeline(session, schedule_id, position, start, 200)
    return [view for shift in shifts if shift.starts_at < end and (view := _view(session, shift)) is not None]


@dataclass(frozen=True)
class MyShift:
    """One of a person's shifts: on which schedule and layer, when, and whether by override."""

    schedule_id: int
    schedule_name: str
    position: int
    layer_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    override_id: int | None


def my_shifts(session: Session, user_id: int, start: dt.datetime, span: dt.timedelta = UPCOMING) -> list[MyShift]:
    """The person's shifts (on every enabled schedule's layers) from `start` over `span`, in time order."""
    mine = user_who(user_id)
    found = []
    for schedule in schedules(session, include_disabled=False):
        for layer in schedule.layers:
            for shift in upcoming_shifts(session, schedule.id, layer.position, start, span):
                if shift.who == mine:
                    found.append(MyShift(schedule.id, schedule.name, layer.position, layer.name, shift.starts_at,
                                         shift.ends_at, shift.override_id))
    return sorted(found, key=lambda s: (s.starts_at, s.schedule_name, s.position))


def _swap_view(session: Session, row: OnCallSwap) -> SwapView:
    schedule = session.get(OnCallSchedule, row.schedule_id)
    return SwapView(row.id, schedule.name if schedule else "", row.position,
                    row.requester_id, name_of(session, user_who(row.requester_id)),
                    row.asked_id, name_of(session, user_who(row.asked_id)),
                    row.starts_at, row.ends_at, row.message, row.state, row.version)


def pending_swaps(session: Session, user_id: int) -> list[SwapView]:
    """Swap requests still waiting for an answer that involve the person (asked of them, or by them)."""
    rows = session.scalars(select(OnCallSwap).where(OnCallSwap.state == ASKED,
                                                    or_(OnCallSwap.asked_id == user_id,
                                                        OnCallSwap.requester_id == user_id))
                           .order_by(OnCallSwap.starts_at, OnCallSwap.id))
    return [_swap_view(session, row) for row in rows]


def live_overrides(session: Session, at: dt.datetime) -> list[OverrideView]:
    """Overrides not cancelled that have not ended by `at`, soonest first."""
    rows = session.scalars(select(OnCallOverride).where(OnCallOverride.cancelled_at.is_(None),
                                                        OnCallOverride.ends_at > at)
                           .order_by(OnCallOverride.starts_at, OnCallOverride.id))
    found = []
    for row in rows:
        schedule = session.get(OnCallSchedule, row.schedule_id)
        found.append(OverrideView(row.id, row.schedule_id, schedule.name if schedule else "", row.position, row.who,
                                  name_of(session, row.who), name_of(session, row.replaces) if row.replaces else "",
                                  row.starts_at, row.ends_at, row.reason, row.created_by_id))
    return found


def people(session: Session) -> list[tuple[str, str]]:
    """Everyone who can be put on call, as (who, label): active users, then enabled outside contacts."""
    users = [(user_who(u.id), u.display_name) for u in session.scalars(
        select(User).where(User.is_active.is_(True)).order_by(User.display_name))]
    contacts = [(contact_who(c.id), f"{c.name} ({c.organisation or 'outside contact'})") for c in session.scalars(
        select(ExternalContact).where(ExternalContact.is_enabled.is_(True)).order_by(ExternalContact.name))]
    return users + contacts
