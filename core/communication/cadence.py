"""Client-update cadence: when each open incident's next client update is due, and which are due soon.

The due time itself is kept on the incident by the incident flows (it moves
with every client message and clock change); this module only reads it, and
fills it once for incidents stored before the column existed. It must never
import streamlit or read the clock (callers pass `now`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.incident.flows import client_update_due as due_of
from core.incident.flows import clocks_of
from core.vocabulary import OPEN_STATUSES
from db.models import Account, Incident, User

OPEN = tuple(s.value for s in OPEN_STATUSES)
# Home lists the client updates falling due within this window (and every overdue one).
DUE_SOON = dt.timedelta(hours=1)


@dataclass(frozen=True)
class UpdateDue:
    """An open incident whose client update falls due soon (or already has)."""

    incident_id: int
    title: str
    account: str
    severity: str
    owner: str
    due_at: dt.datetime
    first_notice: bool

    def overdue(self, now: dt.datetime) -> bool:
        """True once the update should already have gone out."""
        return self.due_at < now


def updates_due(session: Session, *, user_id: int | None, now: dt.datetime, within: dt.timedelta,
                limit: int = 100) -> list[UpdateDue]:
    """Open incidents whose next client update is due before `now + within` (overdue ones first).

    With `user_id`, only incidents the user owns or whose account they own.
    """
    stmt = (select(Incident.id, Incident.title, Account.name, Incident.severity, User.display_name,
                   Incident.next_client_update_due_at, Incident.client_notified_at)
            .join(Account, Account.id == Incident.account_id).outerjoin(User, User.id == Incident.owner_id)
            .where(Incident.status.in_(OPEN), Incident.next_client_update_due_at <= now + within)
            .order_by(Incident.next_client_update_due_at, Incident.id).limit(limit))
    if user_id is not None:
        stmt = stmt.where(or_(Incident.owner_id == user_id, Account.owner_id == user_id))
    return [UpdateDue(i, title, account, severity, owner or "unassigned", due, notified is None)
            for i, title, account, severity, owner, due, notified in session.execute(stmt)
            if due is not None]  # the query only keeps incidents with a due time


def client_update_due(session: Session, incident_ids: Sequence[int]) -> dict[int, dt.datetime | None]:
    """The stored next-client-update time of each incident (for flagging list rows)."""
    if not incident_ids:
        return {}
    stmt = select(Incident.id, Incident.next_client_update_due_at).where(Incident.id.in_(list(incident_ids)))
    return dict(session.execute(stmt).all())


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
