"""Acknowledging a notification: from its signed link, or from the recipient's own inbox.

An acknowledgement is one unit of work: it stamps the notification (single use: a second attempt
is told when it was acknowledged and changes nothing), records what it means for the incident (a
level's notification records that level's response, when the incident was escalated to it and the
level has not responded yet; a notification to the incident's owner records the acknowledge
milestone when it is still open), marks the same person's copies of that alert on other channels,
and cancels that rule's reminders still waiting for the incident. The timeline and the audit log
name the recipient and how they acknowledged ("via link", "in the app").

A notification of a page (`page_id`, see `core.alerts.paging`) also acknowledges that page: it
stops climbing, its other pending notifications are cancelled and everyone it already reached is
told to stand down. A page's notification to an outside contact (`contact_id`) acknowledges that
page only: nothing is recorded on the incident (no milestone, no level response). Acknowledging
never raises the incident's escalation level.

The signed link is the authority for a link acknowledgement: the app sent that person that one
notification, so the incident flows are called with the app's own authority (as `SYSTEM` does for
scheduled work) under the recipient's name. It must never accept anything but a verified id
(`core.alerts.links.verify`), never read the clock (callers pass `now`) and never import streamlit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.alerts.paging import acknowledge_page
from core.incident.flows import record_level_response, record_milestone
from core.incident.lifecycle import Milestone
from core.incident.timeline import add_event
from core.people.users import SYSTEM, Actor
from core.sla.response_log import escalations_of, responses_of
from db.models import ExternalContact, Incident, Notification, User
from db.rows import get_for_update

VIA_LINK = "via link"
IN_APP = "in the app"


class AcknowledgeError(ValueError):
    """The notification cannot be acknowledged (unknown, or not the person's); the message says why."""


@dataclass(frozen=True)
class Acknowledgement:
    """What acknowledging did: when, whether it was already done before, and what it recorded on the incident."""

    notification_id: int
    incident_id: int | None
    acknowledged_at: dt.datetime
    already: bool
    recorded: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AboutNotification:
    """What a notification is about, for the acknowledge page (read-only, plain text)."""

    notification_id: int
    subject: str
    recipient: str
    channel: str
    incident_id: int | None
    incident_title: str
    acknowledged_at: dt.datetime | None


def about(session: Session, notification_id: int) -> AboutNotification | None:
    """The facts the acknowledge page shows for `notification_id`; None when there is no such notification."""
    row = session.get(Notification, notification_id)
    if row is None:
        return None
    title = ""
    if row.incident_id is not None:
        title = session.scalar(select(Incident.title).where(Incident.id == row.incident_id)) or ""
    return AboutNotification(row.id, row.subject, row.recipient, row.channel, row.incident_id, title,
                             row.acknowledged_at)


def _who(session: Session, row: Notification) -> tuple[int | None, str]:
    if row.user_id is not None:
        user = session.get(User, row.user_id)
        if user is not None:
            return user.id, user.display_name
    if row.contact_id is not None:
        contact = session.get(ExternalContact, row.contact_id)
        if contact is not None:
            return None, contact.name
    return None, row.recipient


def acknowledge(session: Session, notification_id: int, *, now: dt.datetime, via: str = VIA_LINK) -> Acknowledgement:
    """Acknowledge notification `notification_id` for its recipient, once; see the module for what it records."""
    row = get_for_update(session, Notification, notification_id)
    if row is None:
        raise AcknowledgeError("This notification no longer exists: open the incident in the app instead.")
    if row.acknowledged_at is not None:
        return Acknowledgement(row.id, row.incident_id, row.acknowledged_at, already=True)
    user_id, name = _who(session, row)
    row.acknowledged_at = now
    row.acknowledged_by_id = user_id
    row.read_at = row.read_at or now
    row.updated_at = now
    recorded: list[str] = []
    if row.incident_id is not None:
        if row.contact_id is None:  # an outside contact's link acknowledges their page and nothing else
            recorded = _record_on_incident(session, row, user_id, f"{name} ({via})", now)
        if row.page_id is not None:
            if acknowledge_page(session, row.page_id, name=name, user_id=user_id, notification_id=row.id, now=now):
                recorded.append(f"page:{row.page_id}")
            _close_page_copies(session, row, now)
        else:
            _close_siblings(session, row, now)
        add_event(session, row.incident_id, kind="notification", occurred_at=now, now=now,
                  actor=Actor(id=user_id, name=name),
                  summary=f"{name} acknowledged the {row.channel} notification '{row.subject}' ({via})",
                  details={"notification_id": row.id, "rule": row.rule, "channel": row.channel, "via": via,
                           "recorded": recorded})
    audit.record(session, actor_id=user_id, actor_name=f"{name} ({via})", entity_type="notification",
                 entity_id=row.id, action="acknowledge", at=now,
                 changes={"acknowledged_at": [None, now], "recorded": recorded})
    return Acknowledgement(row.id, row.incident_id, now, already=False, recorded=tuple(recorded))


def _record_on_incident(session: Session, row: Notification, user_id: int | None, name: str,
                        now: dt.datetime) -> list[str]:
    """The level's response and the owner's acknowledgement this notification stands for, when still open."""
    assert row.incident_id is not None
    incident = get_for_update(session, Incident, row.incident_id)
    if incident is None:
        return []
    actor = Actor(id=user_id, name=name, role=SYSTEM.role)  # the signed link is the authority (see module)
    recorded: list[str] = []
    level = row.level
    if level and level not in responses_of(incident) and any(to == level for to, _ in escalations_of(incident)):
        record_level_response(session, incident_id=incident.id, level=level, actor=actor, now=now)
        recorded.append(f"level_responded:{level}")
    if user_id is not None and user_id == incident.owner_id and incident.acknowledged_at is None \
            and incident.resolved_at is None:
        record_milestone(session, incident_id=incident.id, milestone=Milestone.ACKNOWLEDGED, actor=actor, now=now)
        recorded.append("acknowledged")
    return recorded


def _close_siblings(session: Session, row: Notification, now: dt.datetime) -> None:
    """The same rule's reminders still waiting for the incident are cancelled; the person's copies acknowledged."""
    session.execute(update(Notification)
                    .where(Notification.incident_id == row.incident_id, Notification.rule == row.rule,
                           Notification.state == "pending", Notification.id != row.id)
                    .values(state="cancelled", last_error="acknowledged", updated_at=now)
                    .execution_options(synchronize_session=False))
    if row.user_id is not None:
        session.execute(update(Notification)
                        .where(Notification.incident_id == row.incident_id, Notification.rule == row.rule,
                               Notification.user_id == row.user_id, Notification.acknowledged_at.is_(None),
                               Notification.id != row.id)
                        .values(acknowledged_at=now, acknowledged_by_id=row.user_id,
                                read_at=now, updated_at=now)
                        .execution_options(synchronize_session=False))


def _close_page_copies(session: Session, row: Notification, now: dt.datetime) -> None:
    """The person's other notifications of the same page are acknowledged with this one."""
    if row.user_id is None and row.contact_id is None:
        return
    who = (Notification.user_id == row.user_id) if row.user_id is not None else \
        (Notification.contact_id == row.contact_id)
    session.execute(update(Notification)
                    .where(Notification.page_id == row.page_id, who, Notification.acknowledged_at.is_(None),
                           Notification.id != row.id)
                    .values(acknowledged_at=now, acknowledged_by_id=row.user_id, read_at=now, updated_at=now)
                    .execution_options(synchronize_session=False))


def acknowledge_own(session: Session, notification_id: int, *, user_id: int, now: dt.datetime) -> Acknowledgement:
    """The signed-in user acknowledges a notification of their own (the in-app inbox)."""
    owner = session.scalar(select(Notification.user_id).where(Notification.id == notification_id))
    if owner is None or owner != user_id:
        raise AcknowledgeError("This notification is not yours to acknowledge.")
    return acknowledge(session, notification_id, now=now, via=IN_APP)


def mark_read(session: Session, notification_ids: list[int], *, user_id: int, now: dt.datetime) -> int:
    """Mark the signed-in user's own notifications among `notification_ids` read; returns how many changed."""
    result = session.execute(update(Notification)
                             .where(Notification.id.in_(notification_ids), Notification.user_id == user_id,
                                    Notification.read_at.is_(None))
                             .values(read_at=now, updated_at=now)
                             .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
