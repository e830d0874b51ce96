"""Read models over incidents for lists and home pages: one query, plain rows, paged.

Queries only select the columns a list shows and are bounded by a LIMIT, so
they stay fast on a large table. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from core.access import Role
from core.lifecycle import OPEN_STATUSES
from db.models import Account, Incident, User


@dataclass(frozen=True)
class IncidentRow:
    """One line of an incident list."""

    id: int
    title: str
    account: str
    tier: str
    severity: str
    red_status: bool
    status: str
    owner: str
    detected_at: dt.datetime
    next_deadline_at: dt.datetime | None
    next_deadline_clock: str | None


def _row_query():  # noqa: ANN202
    owner = aliased(User)
    return (
        select(
            Incident.id,
            Incident.title,
            Account.name,
            Account.tier,
            Incident.severity,
            Incident.red_status,
            Incident.status,
            func.coalesce(owner.display_name, ""),
            Incident.detected_at,
            Incident.next_deadline_at,
            Incident.next_deadline_clock,
        )
        .join(Account, Account.id == Incident.account_id)
        .outerjoin(owner, owner.id == Incident.owner_id)
    )


def my_open_incidents(session: Session, *, user_id: int, limit: int = 50) -> list[IncidentRow]:
    """Open incidents the user owns or that belong to an account the user owns, most urgent first."""
    stmt = (
        _row_query()
        .where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
        .where(or_(Incident.owner_id == user_id, Account.owner_id == user_id))
        .order_by(Incident.next_deadline_at.is_(None), Incident.next_deadline_at, Incident.id)
        .limit(limit)
    )
    return [IncidentRow(*row) for row in session.execute(stmt)]


def count_open(session: Session) -> int:
    """How many incidents are open across the team."""
    stmt = select(func.count()).where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
    return session.scalar(stmt) or 0


def sees_all_accounts(role: Role) -> bool:
    """Leads and admins work on every account; a CSM on the accounts they own."""
    return role in (Role.LEAD, Role.ADMIN)
