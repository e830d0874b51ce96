"""Reading schedules from the database: who answers a level at a moment, and who a "who" string is.

The read side shared by the on-call page, the cockpit and the pager (`core.alerts.paging`): it
turns stored layers and overrides into `core.oncall.rotation` values and asks it. Never reads the
clock (callers pass `at`), never writes, never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.oncall.rotation import HORIZON, Layer, Member, Override, Shift, on_call
from db.models import ExternalContact, OnCallLayer, OnCallOverride, OnCallSchedule, User

_WHO = re.compile(r"^([uc]):(\d{1,12})$")


@dataclass(frozen=True)
class Who:
    """A person who can be paged: an app user (`user_id`) or an outside contact (`contact_id`)."""

    who: str
    name: str
    user_id: int | None = None
    contact_id: int | None = None
    email: str = ""
    phone: str = ""
    active: bool = True


def parse_who(who: str) -> tuple[str, int]:
    """("u", 12) for "u:12", ("c", 3) for "c:3"; ValueError otherwise."""
    match = _WHO.match(who or "")
    if match is None:
        raise ValueError(f"{who!r} is neither a user (u:<id>) nor an outside contact (c:<id>).")
    return match[1], int(match[2])


def user_who(user_id: int) -> str:
    """The "who" string of app user `user_id`."""
    return f"u:{user_id}"


def contact_who(contact_id: int) -> str:
    """The "who" string of outside contact `contact_id`."""
    return f"c:{contact_id}"


def describe(session: Session, who: str) -> Who | None:
    """The person `who` names, with how to reach them; None when they no longer exist."""
    try:
        kind, number = parse_who(who)
    except ValueError:
        return None
    if kind == "u":
        user = session.get(User, number)
        if user is None:
            return None
        return Who(who, user.display_name, user_id=user.id, email=user.email, phone=user.phone,
                   active=user.is_active)
    contact = session.get(ExternalContact, number)
    if contact is None:
        return None
    return Who(who, contact.name, contact_id=contact.id, email=contact.email, phone=contact.phone,
               active=contact.is_enabled)


def to_layer(row: OnCallLayer) -> Layer:
    """A stored layer as the rotation resolver reads it."""
    members = []
    for member in row.members or []:
        start = member.get("from")
        members.append(Member(str(member["who"]), member.get("zone"),
                              dt.time.fromisoformat(start) if start else None))
    return Layer(row.position, row.rotation, dt.datetime.fromisoformat(row.start_local), row.time_zone,
                 tuple(members), row.shift_hours)


def layers_of(session: Session, schedule_id: int) -> list[Layer]:
    """The schedule's layers in position order (1: primary)."""
    rows = session.scalars(select(OnCallLayer).where(OnCallLayer.schedule_id == schedule_id)
                           .order_by(OnCallLayer.position))
    return [to_layer(row) for row in rows]


def overrides_of(session: Session, schedule_id: int, start: dt.datetime, end: dt.datetime) -> list[Override]:
    """The schedule's overrides (not cancelled) that overlap [start, end)."""
    rows = session.scalars(select(OnCallOverride)
                           .where(OnCallOverride.schedule_id == schedule_id, OnCallOverride.cancelled_at.is_(None),
                                  OnCallOverride.ends_at > start, OnCallOverride.starts_at < end)
                           .order_by(OnCallOverride.id))
    return [Override(row.id, row.position, row.who, row.starts_at, row.ends_at, row.created_at) for row in rows]


def schedule_for_level(session: Session, level: str) -> OnCallSchedule | None:
    """The enabled schedule that answers escalation level `level` (the oldest when there are several)."""
    return session.scalar(select(OnCallSchedule)
                          .where(OnCallSchedule.level == level, OnCallSchedule.is_enabled.is_(True))
                          .order_by(OnCallSchedule.id).limit(1))


def on_call_at(session: Session, schedule_id: int, position: int, at: dt.datetime) -> Shift | None:
    """Who answers layer `position` of the schedule at `at` (overrides included), and until when; None: nobody."""
    # Overrides around `at` too, not only those covering it: one starting later cuts the shift short.
    overrides = overrides_of(session, schedule_id, at - HORIZON, at + HORIZON)
    return on_call(layers_of(session, schedule_id), overrides, position, at)
