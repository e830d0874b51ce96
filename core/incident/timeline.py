"""The incident timeline: appending one entry, in the caller's unit of work.

Every flow that changes an incident (and the review schedule, and client messages) records
what happened here. Entries are only ever added; this module never updates or deletes one,
reads no clock (`now` is given) and never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from core.people.users import Actor
from db.models import TimelineEvent


def add_event(
    session: Session, incident_id: int, *, kind: str, summary: str, actor: Actor,
    occurred_at: dt.datetime, now: dt.datetime, details: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append one timeline entry."""
    event = TimelineEvent(incident_id=incident_id, occurred_at=occurred_at, recorded_at=now,
                          actor_id=actor.id, kind=kind, summary=summary, details=details or {})
    session.add(event)
    return event
