"""Storing on-call schedules, their layers, overrides and swaps: every check and every permission.

Leads and admins shape schedules and layers and may place or cancel any override. Anyone may put
themselves on call (an override whose "who" is them) or hand a shift that is theirs to someone
else, and may ask a colleague to take a stretch of their shift (a swap); only the colleague asked
accepts or declines, and accepting creates the override. A refusal is a `ScheduleError` (or
`ScheduleForbidden`) whose message says what to fix; nothing is saved then. Edits of schedules,
layers and swaps carry the version the person loaded, so a stale edit is refused instead of
overwriting someone else's. Every write is audited in the caller's unit of work; nothing here
commits, reads the clock or imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.limits import FREE_TEXT, NAME, check_text
from core.oncall import rotation
from core.oncall.resolve import describe, layers_of, overrides_of, parse_who, to_layer, user_who
from core.people.access import LEADS_AND_ADMINS, Role
from core.people.users import Actor
from core.zones import UnknownTimeZone, check_zone_name
from db.models import OnCallLayer, OnCallOverride, OnCallSchedule, OnCallSwap, User
from db.rows import current_for_update, get_for_update

LEVELS = ("L1", "L2", "L3", "L4")
ACK_TIMEOUT_MINUTES = (1, 60)
REPEATS = (0, 5)
ACK_EXPIRES_MINUTES = (5, 720)
SHIFT_HOURS = (1, 168)
POSITIONS = (1, 9)
OVERRIDE_LONGEST = dt.timedelta(days=31)
NAME_MAX = 80
_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

ASKED, ACCEPTED, DECLINED, CANCELLED = "asked", "accepted", "declined", "cancelled"


class ScheduleError(ValueError):
    """An on-call change that was refused; the message says what to fix. Nothing was saved."""


class ScheduleForbidden(ScheduleError, PermissionError):
    """The person may not make this on-call change."""


def may_edit_schedules(actor: Actor) -> bool:
    """True for leads and admins: they shape schedules and layers and manage every override."""
    return actor.role is not None and Role(actor.role) in LEADS_AND_ADMINS


def check_may_edit_schedules(actor: Actor) -> None:
    """ScheduleForbidden unless `actor` is a lead or an admin."""
    if not may_edit_schedules(actor):
        raise ScheduleForbidden(f"Only team leads and admins may change schedules and their layers; {actor.name} "
                                "is not one. Nothing was changed. To cover a shift, add an override that puts "
                                "you on call or ask for a swap.")


# --- field checks ---------------------------------------------------------------------------------------

def _name(value: str, what: str) -> str:
    name = check_text(value or "", NAME, f"The {what} name", ScheduleError)
    if not name:
        raise ScheduleError(f"Give the {what} a name, e.g. 'L1 technical lead on call' or 'Primary'.")
    if len(name) > NAME_MAX:
        raise ScheduleError(f"The {what} name is {len(name)} characters long; keep it to {NAME_MAX}.")
    return name


def _level(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in LEVELS:
        raise ScheduleError(f"Unknown escalation level {value!r}: choose one of {', '.join(LEVELS)}, or none for a "
                            "team schedule.")
    return value


def _zone(value: str) -> str:
    try:
        return check_zone_name((value or "").strip())
    except UnknownTimeZone as error:
        message = str(error)
        raise ScheduleError(f"{message[:1].upper()}{message[1:]}.") from None


def _whole(value: Any, bounds: tuple[int, int], what: str) -> int:
    low, high = bounds
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,6}\s*", value)):
        number = int(value)
    if number is None or not low <= number <= high:
        raise ScheduleError(f"{what} must be a whole number from {low} to {high}; {value!r} is not.")
    return number


def _who(session: Session, who: str, what: str = "The person") -> str:
    """`who` when it names an existing, active user or enabled outside contact."""
    who = (who or "").strip()
    try:
        parse_who(who)
    except ValueError:
        raise ScheduleError(f"{what} {who!r} is unknown: pick a user or an outside contact from the list.") from None
    found = describe(session, who)
    if found is None:
        raise ScheduleError(f"{what} {who!r} is unknown: they may have been removed. Pick someone from the list.")
    if not found.active:
        raise ScheduleError(f"{found.name} is disabled and cannot be on call: pick someone else.")
    return who


def _manager(session: Session, who: str | None) -> str:
    return "" if not who else _who(session, who, "The manager")


def _start_local(value: str | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat((value or "").strip())
        except ValueError:
            raise ScheduleError(f"The first handoff {value!r} is not a date and time like 2026-01-05T09:00 "
                                "(wall-clock time in the layer's zone).") from None
    if moment.tzinfo is not None:
        raise ScheduleError("Give the first handoff as a wall-clock time without an offset, like 2026-01-05T09:00; "
                            "the layer's zone says where that clock is.")
    return moment.replace(second=0, microsecond=0).isoformat(timespec="minutes")


def _members(session: Session, rotation_kind: str, members: Iterable[Any]) -> list[dict[str, str]]:
    stored: list[dict[str, str]] = []
    for index, member in enumerate(members or (), start=1):
        if isinstance(member, str):
            who, zone, start = member, None, None
        elif isinstance(member, Mapping):
            who, zone, start = str(member.get("who", "")), member.get("zone"), member.get("from")
        else:
            who, zone, start = [*list(member), None, None][:3]
        entry = {"who": _who(session, str(who), f"Member {index}")}
        if rotation_kind == rotation.FOLLOW_THE_SUN:
            if not zone or not start:
                raise ScheduleError(f"Member {index} of a follow-the-sun layer needs their zone and the local time "
                                    "they take over, e.g. Australia/Sydney from 08:00.")
            entry["zone"] = _zone(str(zone))
            if not _HH_MM.match(str(start).strip()):
                raise ScheduleError(f"Member {index} takes over at {start!r}: write the time as HH:MM, e.g. 08:00.")
            entry["from"] = str(start).strip()
        stored.append(entry)
    if not stored:
        raise ScheduleError("Add at least one member to the layer: the people who take turns, in order.")
    return stored


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ScheduleError(f"The {what} needs a date, a time and a zone.")
    return value.astimezone(dt.UTC)


def _window(starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start, end = _aware(starts_at, "start"), _aware(ends_at, "end")
    if end <= start:
        raise ScheduleError("The end must come after the start: check the two dates and times.")
    if end - start > OVERRIDE_LONGEST:
        raise ScheduleError(f"Cover at most {OVERRIDE_LONGEST.days} days at once ({(end - start).days} days asked); "
                            "split a longer absence, or change the layer's members instead.")
    if end <= now:
        raise ScheduleError("That stretch of time is already over: pick a start and an end still to come.")
    return start, end


# --- schedules ------------------------------------------------------------------------------------------

def _changed_meanwhile(what: str, row: OnCallSchedule | OnCallLayer, expected_version: int | None) -> ScheduleError:
    return ScheduleError(f"Someone changed the {what} {row.name!r} while you were editing it (you had version "
                         f"{expected_version}, it is now {row.version}); nothing of yours was saved. Reload the "
                         "page to see their change, then edit again.")


def _schedule(session: Session, schedule_id: int, expected_version: int | None = None) -> OnCallSchedule:
    return current_for_update(
        session, OnCallSchedule, schedule_id, expected_version,
        missing=lambda: ScheduleError(f"There is no schedule {schedule_id}; reload the page."),
        stale=lambda row: _changed_meanwhile("schedule", row, expected_version))


def _schedule_values(row: OnCallSchedule) -> dict[str, Any]:
    return {"name": row.name, "level": row.level, "description": row.description, "time_zone": row.time_zone,
            "manager": row.manager, "ack_timeout_minutes": row.ack_timeout_minutes, "repeats": row.repeats,
            "ack_expires_minutes": row.ack_expires_minutes, "is_enabled": row.is_enabled}


def _check_unique(session: Session, row: OnCallSchedule) -> None:
    others = select(OnCallSchedule).where(OnCallSchedule.id != (row.id or 0))
    same_name = session.scalar(others.where(OnCallSchedule.name == row.name))
    if same_name is not None:
        raise ScheduleError(f"There is already a schedule named {row.name!r}: choose another name.")
    if row.level and row.is_enabled:
        same_level = session.scalar(others.where(OnCallSchedule.level == row.level,
                                                 OnCallSchedule.is_enabled.is_(True)))
        if same_level is not None:
            raise ScheduleError(f"{row.level} is already answered by the schedule {same_level.name!r}: disable that "
                                "one first, or give this one another level (or none).")


def _record(session: Session, actor: Actor, entity_type: str, entity_id: int, action: str,
            changes: dict[str, Any], now: dt.datetime) -> None:
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type=entity_type, entity_id=entity_id,
                 action=action, changes=changes, at=now)


def create_schedule(session: Session, *, name: str, level: str | None, time_zone: str, manager: str = "",
                    ack_timeout_minutes: int = 5, repeats: int = 2, ack_expires_minutes: int = 30,
                    description: str = "", actor: Actor, now: dt.datetime) -> OnCallSchedule:
    """A new enabled schedule (no layers yet); leads and admins only."""
    check_may_edit_schedules(actor)
    row = OnCallSchedule(
        name=_name(name, "schedule"), level=_level(level), time_zone=_zone(time_zone),
        manager=_manager(session, manager),
        ack_timeout_minutes=_whole(ack_timeout_minutes, ACK_TIMEOUT_MINUTES, "The time to acknowledge (minutes)"),
        repeats=_whole(repeats, REPEATS, "The number of repeats"),
        ack_expires_minutes=_whole(ack_expires_minutes, ACK_EXPIRES_MINUTES,
                                   "How long an acknowledgement holds (minutes)"),
        description=check_text(description or "", FREE_TEXT, "The description", ScheduleError),
        is_enabled=True, created_at=now, updated_at=now)
    _check_unique(session, row)
    session.add(row)
    session.flush()
    _record(session, actor, "oncall_schedule", row.id, "create", audit.field_changes({}, _schedule_values(row)), now)
    return row


_KEEP: Any = object()


def update_schedule(session: Session, schedule_id: int, *, expected_version: int, actor: Actor, now: dt.datetime,
                    name: str | None = None, level: Any = _KEEP, time_zone: str | None = None,
                    manager: str | None = None, ack_timeout_minutes: int | None = None, repeats: int | None = None,
                    ack_expires_minutes: int | None = None, description: str | None = None,
                    is_enabled: bool | None = None) -> OnCallSchedule:
    """Change the given fields (None keeps one; `level=None` makes it a team schedule); refused when stale."""
    check_may_edit_schedules(actor)
    row = _schedule(session, schedule_id, expected_version)
    before = _schedule_values(row)
    with session.no_autoflush:  # checks query the table: nothing half-changed may reach it first
        _change_schedule(session, row, name=name, level=level, time_zone=time_zone, manager=manager,
                         ack_timeout_minutes=ack_timeout_minutes, repeats=repeats,
                         ack_expires_minutes=ack_expires_minutes, description=description, is_enabled=is_enabled)
    changes = audit.field_changes(before, _schedule_values(row))
    if changes:
        row.updated_at = now
        session.flush()
        _record(session, actor, "oncall_schedule", row.id, "change", changes, now)
    return row


def _change_schedule(session: Session, row: OnCallSchedule, *, name: str | None, level: Any, time_zone: str | None,
                     manager: str | None, ack_timeout_minutes: int | None, repeats: int | None,
                     ack_expires_minutes: int | None, description: str | None, is_enabled: bool | None) -> None:
    if name is not None:
        row.name = _name(name, "schedule")
    if level is not _KEEP:
        row.level = _level(level)
    if time_zone is not None:
        row.time_zone = _zone(time_zone)
    if manager is not None:
        row.manager = _manager(session, manager)
    if ack_timeout_minutes is not None:
        row.ack_timeout_minutes = _whole(ack_timeout_minutes, ACK_TIMEOUT_MINUTES, "The time to acknowledge (minutes)")
    if repeats is not None:
        row.repeats = _whole(repeats, REPEATS, "The number of repeats")
    if ack_expires_minutes is not None:
        row.ack_expires_minutes = _whole(ack_expires_minutes, ACK_EXPIRES_MINUTES,
                                         "How long an acknowledgement holds (minutes)")
    if description is not None:
        row.description = check_text(description, FREE_TEXT, "The description", ScheduleError)
    if is_enabled is not None:
        row.is_enabled = is_enabled
    _check_unique(session, row)


def delete_schedule(session: Session, schedule_id: int, *, expected_version: int, actor: Actor,
                    now: dt.datetime) -> None:
    """Delete a schedule with its layers, overrides and swaps (pages keep their record without it)."""
    check_may_edit_schedules(actor)
    row = _schedule(session, schedule_id, expected_version)
    values = _schedule_values(row)
    for model in (OnCallSwap, OnCallOverride, OnCallLayer):
        for child in session.scalars(select(model).where(model.schedule_id == row.id)):
            session.delete(child)
    session.flush()
    session.delete(row)
    session.flush()
    _record(session, actor, "oncall_schedule", schedule_id, "delete", audit.field_changes(values, {}), now)


# --- layers ---------------------------------------------------------------------------------------------

def _layer_values(row: OnCallLayer) -> dict[str, Any]:
    return {"position": row.position, "name": row.name, "rotation": row.rotation, "shift_hours": row.shift_hours,
            "start_local": row.start_local, "time_zone": row.time_zone, "members": row.members}


def _layer(session: Session, layer_id: int, expected_version: int | None) -> OnCallLayer:
    return current_for_update(
        session, OnCallLayer, layer_id, expected_version,
        missing=lambda: ScheduleError(f"There is no layer {layer_id}; reload the page."),
        stale=lambda row: _changed_meanwhile("layer", row, expected_version))


def _check_layer(session: Session, row: OnCallLayer) -> None:
    if row.rotation not in rotation.ROTATIONS:
        raise ScheduleError(f"Unknown rotation {row.rotation!r}: choose one of {', '.join(rotation.ROTATIONS)}.")
    row.position = _whole(row.position, POSITIONS, "The layer's position (1 primary, 2 secondary...)")
    row.shift_hours = _whole(row.shift_hours, SHIFT_HOURS, "The shift length (hours)")
    taken = session.scalar(select(OnCallLayer).where(OnCallLayer.schedule_id == row.schedule_id,
                                                     OnCallLayer.position == row.position,
                                                     OnCallLayer.id != (row.id or 0)))
    if taken is not None:
        raise ScheduleError(f"Position {row.position} is already the layer {taken.name!r}: choose another position.")
    row.members = _members(session, row.rotation, row.members)
    to_layer(row)  # the resolver reads it back


def add_layer(session: Session, schedule_id: int, *, name: str, rotation_kind: str, start_local: str | dt.datetime,
              time_zone: str, members: Iterable[Any], shift_hours: int = 24, position: int | None = None,
              actor: Actor, now: dt.datetime) -> OnCallLayer:
    """A new layer at `position` (default: after the last one); leads and admins only."""
    check_may_edit_schedules(actor)
    schedule = _schedule(session, schedule_id)
    if position is None:
        taken = [layer.position for layer in layers_of(session, schedule.id)]
        position = max(taken, default=0) + 1
    row = OnCallLayer(schedule_id=schedule.id, position=position, name=_name(name, "layer"), rotation=rotation_kind,
                      shift_hours=shift_hours, start_local=_start_local(start_local), time_zone=_zone(time_zone),
                      members=list(members or ()), created_at=now, updated_at=now)
    _check_layer(session, row)
    session.add(row)
    session.flush()
    _record(session, actor, "oncall_layer", row.id, "create",
            {"schedule": [None, schedule.name], **audit.field_changes({}, _layer_values(row))}, now)
    return row


def update_layer(session: Session, layer_id: int, *, expected_version: int, actor: Actor, now: dt.datetime,
                 name: str | None = None, rotation_kind: str | None = None,
                 start_local: str | dt.datetime | None = None,
                 time_zone: str | None = None, members: Iterable[Any] | None = None, shift_hours: int | None = None,
                 position: int | None = None) -> OnCallLayer:
    """Change the given fields of a layer (None keeps one); refused when stale."""
    check_may_edit_schedules(actor)
    row = _layer(session, layer_id, expected_version)
    before = _layer_values(row)
    with session.no_autoflush:  # checks query the table: nothing half-changed may reach it first
        if name is not None:
            row.name = _name(name, "layer")
        if rotation_kind is not None:
            row.rotation = rotation_kind
        if start_local is not None:
            row.start_local = _start_local(start_local)
        if time_zone is not None:
            row.time_zone = _zone(time_zone)
        if shift_hours is not None:
            row.shift_hours = shift_hours
        if position is not None:
            row.position = position
        row.members = list(members) if members is not None else [dict(m) for m in row.members]
        _check_layer(session, row)
    changes = audit.field_changes(before, _layer_values(row))
    if changes:
        row.updated_at = now
        session.flush()
        _record(session, actor, "oncall_layer", row.id, "change", changes, now)
    return row


def remove_layer(session: Session, layer_id: int, *, expected_version: int, actor: Actor, now: dt.datetime) -> None:
    """Remove a layer (its overrides stay in the record but no longer apply)."""
    check_may_edit_schedules(actor)
    row = _layer(session, layer_id, expected_version)
    values = _layer_values(row)
    session.delete(row)
    session.flush()
    _record(session, actor, "oncall_layer", layer_id, "delete", audit.field_changes(values, {}), now)


# --- overrides ------------------------------------------------------------------------------------------

def _layer_at(session: Session, schedule: OnCallSchedule, position: int) -> OnCallLayer:
    row = session.scalar(select(OnCallLayer).where(OnCallLayer.schedule_id == schedule.id,
                                                   OnCallLayer.position == position))
    if row is None:
        raise ScheduleError(f"The schedule {schedule.name!r} has no layer {position}: pick one of its layers.")
    return row


def shifts_between(session: Session, schedule_id: int, position: int, start: dt.datetime,
                   end: dt.datetime) -> list[rotation.Shift]:
    """Who is on call for the layer from `start` to `end`, overrides included (the first may start earlier)."""
    layers = layers_of(session, schedule_id)
    overrides = overrides_of(session, schedule_id, start - rotation.HORIZON, end + rotation.HORIZON)
    found: list[rotation.Shift] = []
    at = start
    while at < end:
        batch = rotation.timeline(layers, overrides, position, at, 50)
        if not batch:
            break
        found.extend(shift for shift in batch if shift.starts_at < end)
        if batch[-1].ends_at <= at or batch[-1].starts_at >= end:
            break
        at = batch[-1].ends_at
    return found


def _covers_only_own_shift(session: Session, schedule_id: int, position: int, start: dt.datetime,
                           end: dt.datetime, mine: str) -> bool:
    shifts = shifts_between(session, schedule_id, position, start, end)
    if not shifts or shifts[0].starts_at > start or shifts[-1].ends_at < end:
        return False  # part of the stretch has nobody on call: it is not theirs to hand over
    return all(shift.who == mine for shift in shifts)


def add_override(session: Session, schedule_id: int, *, position: int, who: str, starts_at: dt.datetime,
                 ends_at: dt.datetime, reason: str = "", actor: Actor, now: dt.datetime) -> OnCallOverride:
    """`who` covers layer `position` from `starts_at` to `ends_at`; the newest override wins (a repeat returns it).

    Leads and admins may place any override; anyone else only one that puts themselves on call, or
    one over a stretch that is wholly their own shift (handing it to a colleague).
    """
    schedule = _schedule(session, schedule_id)
    _layer_at(session, schedule, position)
    who = _who(session, who)
    start, end = _window(starts_at, ends_at, now)
    reason = check_text(reason or "", FREE_TEXT, "The reason", ScheduleError)
    if not may_edit_schedules(actor):
        mine = user_who(actor.id) if actor.id is not None else ""
        if who != mine and not _covers_only_own_shift(session, schedule.id, position, start, end, mine):
            raise ScheduleForbidden(f"{actor.name} may only put themselves on call, or hand over a stretch that is "
                                    "wholly their own shift; nothing was changed. Ask the person on call for a swap, "
                                    "or ask a lead.")
    # The same cover asked again (a second click, a retried request) is the one already there.
    same = session.scalar(select(OnCallOverride).where(
        OnCallOverride.schedule_id == schedule.id, OnCallOverride.position == position, OnCallOverride.who == who,
        OnCallOverride.starts_at == start, OnCallOverride.ends_at == end, OnCallOverride.cancelled_at.is_(None)))
    if same is not None:
        return same
    current = rotation.on_call(layers_of(session, schedule.id), overrides_of(session, schedule.id, start, end),
                               position, start)
    row = OnCallOverride(schedule_id=schedule.id, position=position, who=who, starts_at=start, ends_at=end,
                         replaces=current.who if current is not None else "", reason=reason,
                         created_by_id=actor.id, created_at=now)
    session.add(row)
    session.flush()
    _record(session, actor, "oncall_override", row.id, "create",
            {"schedule": [None, schedule.name], "position": [None, position], "who": [None, who],
             "replaces": [None, row.replaces], "starts_at": [None, start], "ends_at": [None, end],
             "reason": [None, reason]}, now)
    return row


def may_cancel_override(actor: Actor, *, created_by_id: int | None, who: str) -> bool:
    """Leads and admins cancel any override; anyone else the ones they made or that put them on call."""
    if may_edit_schedules(actor):
        return True
    return actor.id is not None and (created_by_id == actor.id or who == user_who(actor.id))


def cancel_override(session: Session, override_id: int, *, actor: Actor, now: dt.datetime) -> OnCallOverride:
    """Cancel an override (the rotation, or an older override, applies again); by a lead, an admin, its author
    or the person it put on call."""
    row = get_for_update(session, OnCallOverride, override_id)
    if row is None:
        raise ScheduleError(f"There is no override {override_id}; reload the page.")
    if row.cancelled_at is not None:
        raise ScheduleError("That override was already cancelled; reload the page.")
    if not may_cancel_override(actor, created_by_id=row.created_by_id, who=row.who):
        raise ScheduleForbidden(f"{actor.name} may cancel only the overrides they made or that put them on call; "
                                "nothing was changed.")
    row.cancelled_at = now
    session.flush()
    _record(session, actor, "oncall_override", row.id, "cancel", {"cancelled_at": [None, now]}, now)
    return row


# --- swaps ----------------------------------------------------------------------------------------------

def _swap(session: Session, swap_id: int, expected_version: int | None) -> OnCallSwap:
    row = current_for_update(
        session, OnCallSwap, swap_id, expected_version,
        missing=lambda: ScheduleError(f"There is no swap request {swap_id}; reload the page."),
        stale=lambda _: ScheduleError("The swap request changed while you were looking at it; nothing of yours was "
                                      "saved. Reload the page to see where it stands."))
    if row.state != ASKED:
        raise ScheduleError(f"That swap request was already {row.state}; reload the page.")
    return row


def ask_swap(session: Session, schedule_id: int, *, position: int, asked_id: int, starts_at: dt.datetime,
             ends_at: dt.datetime, message: str = "", actor: Actor, now: dt.datetime) -> OnCallSwap:
    """Ask colleague `asked_id` to cover layer `position` from `starts_at` to `ends_at` (state asked)."""
    if actor.id is None:
        raise ScheduleForbidden("A swap is asked by a person who signs in; use an override instead.")
    schedule = _schedule(session, schedule_id)
    _layer_at(session, schedule, position)
    start, end = _window(starts_at, ends_at, now)
    asked = session.get(User, asked_id)
    if asked is None or not asked.is_active:
        raise ScheduleError("Pick an active colleague to ask.")
    if asked.id == actor.id:
        raise ScheduleError("You cannot ask yourself to cover your own shift: pick a colleague.")
    mine = user_who(actor.id)
    if not any(shift.who == mine for shift in shifts_between(session, schedule.id, position, start, end)):
        raise ScheduleError(f"You are not on call on that layer of {schedule.name!r} between those times, so there "
                            "is nothing to swap: check the layer and the dates.")
    same = session.scalar(select(OnCallSwap).where(
        OnCallSwap.schedule_id == schedule.id, OnCallSwap.position == position, OnCallSwap.requester_id == actor.id,
        OnCallSwap.asked_id == asked.id, OnCallSwap.starts_at == start, OnCallSwap.ends_at == end,
        OnCallSwap.state == ASKED))
    if same is not None:
        return same  # asked again (a second click): the request already waiting
    row = OnCallSwap(schedule_id=schedule.id, position=position, requester_id=actor.id, asked_id=asked.id,
                     starts_at=start, ends_at=end, message=check_text(message or "", FREE_TEXT, "The message",
                                                                      ScheduleError),
                     state=ASKED, created_at=now)
    session.add(row)
    session.flush()
    _record(session, actor, "oncall_swap", row.id, "ask",
            {"schedule": [None, schedule.name], "position": [None, position], "asked": [None, asked.display_name],
             "starts_at": [None, start], "ends_at": [None, end]}, now)
    return row


def accept_swap(session: Session, swap_id: int, *, actor: Actor, now: dt.datetime,
                expected_version: int | None = None) -> OnCallOverride:
    """The colleague asked takes the stretch: an override puts them on call instead of the requester."""
    row = _swap(session, swap_id, expected_version)
    if actor.id != row.asked_id:
        raise ScheduleForbidden(f"Only the colleague asked may accept this swap; {actor.name} was not asked. "
                                "Nothing was changed.")
    if row.ends_at <= now:
        raise ScheduleError("That stretch of time is already over; the swap can no longer be accepted.")
    override = OnCallOverride(schedule_id=row.schedule_id, position=row.position, who=user_who(row.asked_id),
                              starts_at=row.starts_at, ends_at=row.ends_at, replaces=user_who(row.requester_id),
                              reason=f"Swap {row.id}" + (f": {row.message}" if row.message else ""),
                              created_by_id=actor.id, created_at=now)
    session.add(override)
    session.flush()
    row.state, row.decided_at, row.override_id = ACCEPTED, now, override.id
    session.flush()
    _record(session, actor, "oncall_swap", row.id, "accept",
            {"state": [ASKED, ACCEPTED], "override_id": [None, override.id]}, now)
    return override


def decline_swap(session: Session, swap_id: int, *, actor: Actor, now: dt.datetime,
                 expected_version: int | None = None) -> OnCallSwap:
    """The colleague asked says no; the requester stays on call."""
    row = _swap(session, swap_id, expected_version)
    if actor.id != row.asked_id:
        raise ScheduleForbidden(f"Only the colleague asked may decline this swap; {actor.name} was not asked. "
                                "Nothing was changed.")
    row.state, row.decided_at = DECLINED, now
    session.flush()
    _record(session, actor, "oncall_swap", row.id, "decline", {"state": [ASKED, DECLINED]}, now)
    return row


def cancel_swap(session: Session, swap_id: int, *, actor: Actor, now: dt.datetime,
                expected_version: int | None = None) -> OnCallSwap:
    """The requester withdraws a swap request nobody has answered yet."""
    row = _swap(session, swap_id, expected_version)
    if actor.id != row.requester_id:
        raise ScheduleForbidden(f"Only the person who asked may withdraw this swap request; {actor.name} did not ask. "
                                "Nothing was changed.")
    row.state, row.decided_at = CANCELLED, now
    session.flush()
    _record(session, actor, "oncall_swap", row.id, "cancel", {"state": [ASKED, CANCELLED]}, now)
    return row
