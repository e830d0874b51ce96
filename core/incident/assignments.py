"""Who does what on an incident: the people in its roles and the action items they owe.

Each flow runs inside the caller's unit of work like every incident write
(`core.incident.flows`): it locks what it changes, stamps the time, appends to
the timeline and, for roles, the audit log. Never imports streamlit; never
reads the clock (callers pass `now`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.incident.flows import (
    ConflictError,
    IncidentError,
    IncidentForbidden,
    check_may_change,
    lock_for,
    may_change,
    record_change,
    touch,
)
from core.incident.timeline import add_event
from core.limits import TITLE, check_text
from core.people.users import Actor
from core.policy.roles import CSM
from core.sla.facts import policy_of
from db.models import ActionItem, Incident, IncidentAssignment, User
from db.rows import get_for_update


def assign_role(
    session: Session, *, incident_id: int, role: str, user_id: int | None, actor: Actor, now: dt.datetime,
    expected_version: int | None = None,
) -> Incident:
    """Put a person in one of the incident's policy roles (or clear it); the CSM role also sets the owner.

    A role the incident's policy lacks is refused, except to clear an assignment
    made before (when the app offered roles of its own).
    """
    incident = lock_for(session, incident_id, expected_version, actor)
    policy = policy_of(incident)
    current = session.scalar(select(IncidentAssignment).where(IncidentAssignment.incident_id == incident_id,
                                                              IncidentAssignment.role == role))
    if role not in policy.role_keys() and (user_id or current is None):
        raise IncidentError(f"Policy {policy.name} has no incident role {role!r}: use one of "
                            f"{', '.join(policy.role_keys())}.")
    person = session.get(User, user_id) if user_id else None
    if user_id and (person is None or not person.is_active):
        raise IncidentError("Choose an active team member.")
    before = current.user_id if current else None
    if current is not None:
        session.delete(current)
        session.flush()
    if person is not None:
        session.add(IncidentAssignment(incident_id=incident_id, role=role, user_id=person.id, assigned_at=now))
    if role == CSM:
        incident.owner_id = person.id if person else None
    who = person.display_name if person else "nobody"
    add_event(session, incident.id, kind="role", actor=actor, occurred_at=now, now=now,
              summary=f"{policy.role_title(role)}: {who}")
    record_change(session, incident, actor, f"role:{role}", {"user_id": [before, user_id]}, now)
    touch(session, incident, now)
    return incident


def add_action_item(
    session: Session, *, incident_id: int, title: str, owner_id: int | None, due_at: dt.datetime | None,
    actor: Actor, now: dt.datetime, source: str = "incident",
) -> int:
    """Create an action item with an owner and a due date; returns its id."""
    title = check_text(title, TITLE, "The action item", IncidentError)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentError(f"Incident {incident_id} does not exist.")
    check_may_change(incident, actor)
    if not title.strip():
        raise IncidentError("Describe the action item.")
    if due_at is not None and due_at < now - dt.timedelta(days=1):
        raise IncidentError("The due date is in the past: choose today or later.")
    item = ActionItem(incident_id=incident_id, source=source, title=title.strip(), owner_id=owner_id,
                      due_at=due_at, created_at=now, created_by_id=actor.id)
    session.add(item)
    session.flush()
    add_event(session, incident_id, kind="action_item", actor=actor, occurred_at=now, now=now,
              summary=f"Action item: {title.strip()}")
    return item.id


def set_action_done(
    session: Session, *, item_id: int, done: bool, actor: Actor, now: dt.datetime,
    expected_version: int | None = None,
) -> None:
    """Mark an action item done (or not done again); its owner may, as may whoever may change the incident."""
    item = get_for_update(session, ActionItem, item_id)
    if item is None:
        raise IncidentError(f"Action item {item_id} does not exist.")
    incident = session.get(Incident, item.incident_id)
    owns_item = item.owner_id is not None and item.owner_id == actor.id
    if incident is None or not (owns_item or may_change(incident, actor)):
        raise IncidentForbidden(f"{actor.name} may not tick off this action item: it is for its owner, the account's "
                                "CSM, the incident's owner, leads and admins.")
    if expected_version is not None and item.version != expected_version:
        raise ConflictError("Someone changed this action item meanwhile; reload and check it.", [])
    item.done_at = now if done else None
    add_event(session, item.incident_id, kind="action_item", actor=actor, occurred_at=now, now=now,
              summary=f"Action item {'done' if done else 'reopened'}: {item.title}")
