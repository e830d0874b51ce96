"""Incident followers: who follows an incident, and the notices its level, severity and status changes send them.

Anyone may follow or stop following an incident for themselves (an account executive, a lead
watching a big customer); leads and admins may also add or remove someone else. Following is
one row per person and incident, so a double click never makes two. `notify_followers` is called
by the incident flows (`core.incident.flows`) in the same unit of work as the change: it queues
one in-app and one email notification per follower through the outbox (`core.outbox.queue`),
never to the person who made the change, and a drill's notices say DRILL there. This module
never sends anything itself, never reads the clock (callers pass `now`) and never imports
streamlit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.outbox.queue import Draft, enqueue
from core.people.access import Role
from core.people.time_display import display_zone
from core.people.users import Actor
from core.zones import UTC_NAME, zone_or_none
from db.engine import read_scope
from db.models import Incident, IncidentFollower, User

# The audit log files follows under their own entity, so the incident's version stamp (which
# reads the incident's audit entries) only ever lists changes of the incident itself.
AUDIT_ENTITY = "incident_followers"
# What a follower hears about, as the flows name each change.
CHANGES = ("level", "severity", "status")
# The page a notice links to (relative: the app's address is the delivery's business).
LINK = "/incident?id={id}"


class FollowError(ValueError):
    """Following cannot be changed this way; the message says what to do instead."""


@dataclass(frozen=True)
class Follower:
    """Someone who follows an incident, and since when (UTC)."""

    user_id: int
    name: str
    since: dt.datetime


def _may_act_for(actor: Actor, user_id: int) -> bool:
    # Oneself always; someone else only with a lead's or an admin's standing (e.g. adding the account executive).
    return actor.id == user_id or actor.role in (Role.LEAD, Role.ADMIN)


def _check(session: Session, incident_id: int, user_id: int, actor: Actor, verb: str) -> User:
    if session.get(Incident, incident_id) is None:
        raise FollowError(f"Incident {incident_id} does not exist.")
    user = session.get(User, user_id)
    if user is None:
        raise FollowError(f"There is no team member #{user_id}: choose someone from the list.")
    if not _may_act_for(actor, user_id):
        raise FollowError(f"{actor.name} may {verb} this incident only for themselves; a lead or an admin can "
                          f"do it for {user.display_name}.")
    return user


def follow(session: Session, incident_id: int, user_id: int, actor: Actor, now: dt.datetime) -> bool:
    """Make `user_id` follow the incident; True when they were not following it yet (a repeat changes nothing)."""
    user = _check(session, incident_id, user_id, actor, "follow")
    if not user.is_active:
        raise FollowError(f"{user.display_name}'s account is deactivated: they could not read the notices.")
    if is_following(session, incident_id, user_id):
        return False
    session.flush()
    try:
        # A savepoint: when a twin click inserted the same row first, only this insert is undone.
        with session.begin_nested():
            session.add(IncidentFollower(incident_id=incident_id, user_id=user_id, created_at=now))
            session.flush()
    except IntegrityError:
        return False
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type=AUDIT_ENTITY, entity_id=incident_id,
                 action="follow", changes={"follower": [None, user.display_name]}, at=now)
    return True


def unfollow(session: Session, incident_id: int, user_id: int, actor: Actor, now: dt.datetime) -> bool:
    """Stop `user_id` following the incident; True when they were following it (a repeat changes nothing)."""
    user = _check(session, incident_id, user_id, actor, "unfollow")
    removed = session.execute(delete(IncidentFollower).where(IncidentFollower.incident_id == incident_id,
                                                             IncidentFollower.user_id == user_id))
    if not getattr(removed, "rowcount", 0):
        return False
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type=AUDIT_ENTITY, entity_id=incident_id,
                 action="unfollow", changes={"follower": [user.display_name, None]}, at=now)
    return True


def is_following(session: Session, incident_id: int, user_id: int) -> bool:
    """True when `user_id` follows the incident."""
    return session.scalar(select(IncidentFollower.user_id).where(
        IncidentFollower.incident_id == incident_id, IncidentFollower.user_id == user_id)) is not None


def followers_of(session: Session, incident_id: int) -> list[Follower]:
    """The incident's followers, by name."""
    stmt = (select(User.id, User.display_name, IncidentFollower.created_at)
            .join(IncidentFollower, IncidentFollower.user_id == User.id)
            .where(IncidentFollower.incident_id == incident_id).order_by(User.display_name, User.id))
    return [Follower(uid, name, since) for uid, name, since in session.execute(stmt)]


@dataclass(frozen=True)
class FollowPanel:
    """What the incident page shows about following: whether the viewer follows, who does, whom they may add."""

    following: bool
    followers: tuple[Follower, ...]
    # Leads and admins may add someone else: the active people not following yet, as (id, name).
    candidates: tuple[tuple[int, str], ...] = ()

    @property
    def may_add_others(self) -> bool:
        """True when the viewer may add someone else (and someone is left to add)."""
        return bool(self.candidates)


def follow_panel(incident_id: int, *, viewer_id: int, role: Role) -> FollowPanel:
    """The incident page's follow panel for this viewer (one read-only unit of work)."""
    with read_scope() as session:
        followers = tuple(followers_of(session, incident_id))
        candidates: tuple[tuple[int, str], ...] = ()
        if role in (Role.LEAD, Role.ADMIN):
            taken = {f.user_id for f in followers}
            candidates = tuple((uid, name) for uid, name in session.execute(
                select(User.id, User.display_name).where(User.is_active.is_(True)).order_by(User.display_name))
                if uid not in taken)
    return FollowPanel(any(f.user_id == viewer_id for f in followers), followers, candidates)


def _when(moment: dt.datetime, zone_name: str) -> str:
    # The follower's own zone first, with UTC beside it so a forwarded message stays unambiguous.
    utc = moment.astimezone(dt.UTC)
    zone = zone_or_none(zone_name)
    if zone is None or zone_name == UTC_NAME:
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or zone_name} ({utc:%H:%M} UTC)"


def notice(incident: Incident, change: str, summary: str, actor: Actor, at: str) -> tuple[str, str]:
    """The subject and body a follower gets about one change (`at`: when, already written in their zone)."""
    subject = f"[{incident.severity}] #{incident.id} {summary}: {incident.title}"
    level = incident.current_level or "not escalated"
    body = (f"{actor.name} changed the {change} of incident #{incident.id} '{incident.title}' for "
            f"{incident.account.name} at {at}: {summary}.\n\n"
            f"Where it stands now: severity {incident.severity}, status {incident.status}, level {level}.\n"
            f"Open it: {LINK.format(id=incident.id)}\n\n"
            "You get this because you follow this incident; stop following it on the incident's page.")
    return subject[:300], body


def notify_followers(session: Session, incident: Incident, change: str, summary: str, actor: Actor,
                     now: dt.datetime) -> int:
    """Queue one in-app and one email notice (when they have an address) per follower of the incident, except
    `actor`; returns how many were queued. `change` is level, severity or status; `summary` says from what to what."""
    if change not in CHANGES:
        raise ValueError(f"Unknown change {change!r}: one of {', '.join(CHANGES)}.")
    # After the flush the incident carries the version this change made: one name per change, for good.
    session.flush()
    stamp = str(incident.version) if incident.version else now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    people = session.scalars(select(User).join(IncidentFollower, IncidentFollower.user_id == User.id)
                             .where(IncidentFollower.incident_id == incident.id, User.is_active.is_(True))
                             .order_by(User.id)).all()
    payload = {"incident_id": incident.id, "title": incident.title, "account": incident.account.name,
               "severity": incident.severity, "status": incident.status, "level": incident.current_level,
               "change": change, "summary": summary, "link": LINK.format(id=incident.id)}
    queued = 0
    for person in people:
        if actor.id is not None and person.id == actor.id:
            continue
        zone = display_zone(shows=person.show_times_in, time_zone=person.time_zone, chosen=person.time_zone_chosen,
                            browser=None).name
        subject, body = notice(incident, change, summary, actor, _when(now, zone))
        channels = [("inbox", person.display_name)] + ([("email", person.email)] if person.email else [])
        for channel, recipient in channels:
            draft = Draft(rule=f"follow:{change}", channel=channel, recipient=recipient,
                          dedupe_key=f"follow:{incident.id}:{change}:{stamp}:{person.id}:{channel}", due_at=now,
                          subject=subject, body=body, incident_id=incident.id, user_id=person.id,
                          level=incident.current_level, payload=payload, drill=incident.is_drill)
            queued += enqueue(session, draft, now=now) is not None
    return queued
