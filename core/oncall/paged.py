"""Who an incident's pages reached: the read side shared by the pager's views and the escalation handoff.

Reads the outbox rows of every page of an incident (the page's own notifications, not the notices
that told the chain to stand down) and names each person. It sits below `core.incident` so the
handoff summary written when someone escalates can say who was paged and when. Never writes,
never reads the clock, never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ExternalContact, Notification, Page, User

# The outbox rule of a page's own notifications: "page:<level>" (core.alerts.paging).
PAGE_RULE_PREFIX = "page:"


@dataclass(frozen=True)
class PagedNotification:
    """One notification of a page: to whom, over which channel, at which step and round, when, and its outcome."""

    page_id: int
    level: str
    name: str
    channel: str
    step: int
    round: int
    due_at: dt.datetime
    state: str
    delivered: bool
    acknowledged: bool

    @property
    def outcome(self) -> str:
        """Acknowledged, delivered, waiting, cancelled or failed, in words."""
        if self.acknowledged:
            return "acknowledged"
        return {"sent": "delivered", "pending": "waiting", "sending": "being sent", "cancelled": "not sent",
                "dead": "failed"}.get(self.state, self.state)


def _name(session: Session, row: Notification) -> str:
    if row.user_id is not None:
        user = session.get(User, row.user_id)
        if user is not None:
            return user.display_name
    if row.contact_id is not None:
        contact = session.get(ExternalContact, row.contact_id)
        if contact is not None:
            return contact.name
    return row.recipient


def paged_notifications(session: Session, incident_id: int,
                        until: dt.datetime | None = None) -> list[PagedNotification]:
    """Every page notification of the incident (due by `until`, when given), oldest first."""
    stmt = (select(Notification, Page.level).join(Page, Page.id == Notification.page_id)
            .where(Page.incident_id == incident_id, Notification.rule.startswith(PAGE_RULE_PREFIX))
            .order_by(Notification.due_at, Notification.id))
    if until is not None:
        stmt = stmt.where(Notification.due_at <= until)
    return [PagedNotification(row.page_id or 0, level, _name(session, row), row.channel,
                              int(row.payload.get("step", 0)), int(row.payload.get("round", 0)), row.due_at,
                              row.state, row.state == "sent", row.acknowledged_at is not None)
            for row, level in session.execute(stmt).all()]
