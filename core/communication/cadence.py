"""Client-update cadence: when each open incident's next client update is due, and which are due soon.

The due time itself is kept on the incident by the incident flows (it moves
with every client message and clock change); this module only reads it, and
fills it once for incidents stored before the column existed. It must never
import streamlit or read the clock (callers pass `now`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.incident.flows import client_update_due as due_of
from core.incident.flows import clocks_of
from core.incident.queues import DUE_SOON, UpdateDue, client_update_due, updates_due
from core.vocabulary import OPEN_STATUSES
from db.models import Incident

# The reads of the stored due time live with the other incident queues (home, board, lists).
__all__ = ["DUE_SOON", "UpdateDue", "backfill_client_update_due", "client_update_due", "updates_due"]

OPEN = tuple(s.value for s in OPEN_STATUSES)


def backfill_client_update_due(session: Session, *, now: dt.datetime) -> int:
    """Fill the client-update due time of open incidents stored before the column existed; returns how many got one."""
    filled = 0
    stmt = select(Incident).where(Incident.status.in_(OPEN), Incident.next_client_update_due_at.is_(None))
    for incident in session.scalars(stmt).all():
        due = due_of(clocks_of(session, incident, now))
        if due is not None:
            incident.next_client_update_due_at = due
            filled += 1
    return filled
