"""Read models of the notifications for the pages: a person's inbox, the admin's deliveries, the dashboard's figure.

Every function here only reads, in the caller's session, through the outbox's indexes, one page
of rows at a time; counts and percentiles are computed by the database, never by loading every
row. It must never write, never read the clock (callers pass `now`) and never import streamlit.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, Float, cast, func, select
from sqlalchemy.orm import Session

from core.sla.queries import DashboardFilter
from db.engine import read_scope
from db.models import Account, Incident, Notification, NotificationEndpoint

STATES = ("pending", "sent", "dead", "cancelled")
PAGE_SIZE = 25


@dataclass(frozen=True)
class InboxItem:
    """One notification in a person's inbox."""

    id: int
    subject: str
    body: str
    incident_id: int | None
    at: dt.datetime
    read_at: dt.datetime | None
    acknowledged_at: dt.datetime | None


@dataclass(frozen=True)
class Unread:
    """How many of a person's inbox notifications are unread, and the newest one's id and subject (for a toast)."""

    count: int
    newest_id: int | None
    newest_subject: str


def _inbox_of(user_id: int, now: dt.datetime) -> list[ColumnElement[bool]]:
    # An inbox row is "delivered" once it is due: its own row is the message. Cancelled ones are withdrawn.
    return [Notification.user_id == user_id, Notification.channel == "inbox", Notification.due_at <= now,
            Notification.state != "cancelled"]


def unread(session: Session, user_id: int, *, now: dt.datetime) -> Unread:
    """The unread count and the newest unread notification (through ix_notifications_user_unread)."""
    where = [*_inbox_of(user_id, now), Notification.read_at.is_(None)]
    count, newest = session.execute(select(func.count(), func.max(Notification.id)).where(*where)).one()
    subject = session.scalar(select(Notification.subject).where(Notification.id == newest)) if newest else ""
    return Unread(int(count or 0), newest, subject or "")


def inbox(session: Session, user_id: int, *, now: dt.datetime, page: int = 0,
          page_size: int = PAGE_SIZE) -> tuple[list[InboxItem], int]:
    """One page of a person's inbox, newest first, and how many there are in all."""
    where = _inbox_of(user_id, now)
    total = int(session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0)
    rows = session.scalars(select(Notification).where(*where).order_by(Notification.due_at.desc(),
                                                                       Notification.id.desc())
                           .offset(page * page_size).limit(page_size))
    return [InboxItem(n.id, n.subject, n.body, n.incident_id, n.due_at, n.read_at, n.acknowledged_at)
            for n in rows], total


@dataclass(frozen=True)
class Delivery:
    """One outbox row as the admin's deliveries page lists it."""

    id: int
    incident_id: int | None
    rule: str
    channel: str
    recipient: str
    state: str
    due_at: dt.datetime
    attempts: int
    sent_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    last_error: str
    endpoint: str


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries to list; empty means all."""

    states: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    incident_id: int | None = None


def _delivery_where(flt: DeliveryFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.states:
        where.append(Notification.state.in_(flt.states))
    if flt.channels:
        where.append(Notification.channel.in_(flt.channels))
    if flt.incident_id is not None:
        where.append(Notification.incident_id == flt.incident_id)
    return where


def deliveries(session: Session, flt: DeliveryFilter, *, page: int = 0,
               page_size: int = PAGE_SIZE) -> tuple[list[Delivery], int]:
    """One page of deliveries matching `flt`, most recently changed first, and how many match in all."""
    where = _delivery_where(flt)
    total = int(session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0)
    stmt = (select(Notification, NotificationEndpoint.name)
            .outerjoin(NotificationEndpoint, NotificationEndpoint.id == Notification.endpoint_id)
            .where(*where).order_by(Notification.updated_at.desc(), Notification.id.desc())
            .offset(page * page_size).limit(page_size))
    return [Delivery(n.id, n.incident_id, n.rule, n.channel, n.recipient, n.state, n.due_at, n.attempts, n.sent_at,
                     n.acknowledged_at, n.last_error, name or "") for n, name in session.execute(stmt)], total


def counts_by_state(session: Session) -> dict[str, int]:
    """How many notifications are in each state (every state listed, zero included)."""
    found = {state: count for state, count in
             session.execute(select(Notification.state, func.count()).group_by(Notification.state))}
    return {state: int(found.get(state, 0)) for state in STATES}


@dataclass(frozen=True)
class AcknowledgeTimes:
    """Time from a notification's delivery to its acknowledgement over a period: how many, median and p90 seconds."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None


def _seconds(session: Session) -> ColumnElement[float]:
    start = func.coalesce(Notification.sent_at, Notification.due_at)
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", Notification.acknowledged_at - start), Float)
    return (func.julianday(Notification.acknowledged_at) - func.julianday(start)) * 86400.0


def acknowledge_times(session: Session, flt: DashboardFilter) -> AcknowledgeTimes:
    """Median and p90 time to acknowledge the notifications sent in the filter's weeks, within its scope.

    Scope: the filter's severities, account and CSMs (a CSM sees their own accounts). Percentiles by
    nearest rank, each read by the database as one ordered row at an offset.
    """
    start = func.coalesce(Notification.sent_at, Notification.due_at)
    where: list[ColumnElement[bool]] = [Notification.acknowledged_at.is_not(None)]
    if flt.week_from is not None:
        where.append(start >= dt.datetime.combine(flt.week_from, dt.time(0), dt.UTC))
    if flt.week_to is not None:
        where.append(start < dt.datetime.combine(flt.week_to + dt.timedelta(days=7), dt.time(0), dt.UTC))
    # A drill's acknowledgements were practice: the dashboard measures real ones only.
    scope: list[ColumnElement[bool]] = [Incident.id == Notification.incident_id, Incident.is_drill.is_(False)]
    if flt.severities:
        scope.append(Incident.severity.in_(flt.severities))
    if flt.account_id is not None:
        scope.append(Incident.account_id == flt.account_id)
    if flt.csm_ids:
        scope.append(Account.owner_id.in_(flt.csm_ids))
    # The incident (one per notification) as an EXISTS, not a join: joined, SQLite's planner walked every
    # account's incidents (0.35 s at 100k, with no notification at all) instead of the notifications.
    owned = select(Incident.id).join(Account, Account.id == Incident.account_id).where(*scope)
    base = select(_seconds(session).label("seconds")).where(*where, owned.exists())
    count = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    if count == 0:
        return AcknowledgeTimes(0, None, None)

    def rank(share: float) -> float | None:
        offset = max(0, math.ceil(share * count) - 1)
        value = session.scalar(base.order_by("seconds").offset(offset).limit(1))
        return None if value is None else max(0.0, float(round(value)))  # whole seconds (julianday is a float)

    return AcknowledgeTimes(count, rank(0.5), rank(0.9))


# Page read models: each opens its own read-only unit of work (pages never open one).


def unread_of(user_id: int, *, now: dt.datetime, engine: Engine | None = None) -> Unread:
    """`unread` in its own read-only unit of work (the sidebar's badge)."""
    with read_scope(engine) as session:
        return unread(session, user_id, now=now)


def inbox_page(user_id: int, *, now: dt.datetime, page: int = 0,
               engine: Engine | None = None) -> tuple[list[InboxItem], int]:
    """`inbox` in its own read-only unit of work (the Inbox page)."""
    with read_scope(engine) as session:
        return inbox(session, user_id, now=now, page=page)


@dataclass(frozen=True)
class DeliveriesPage:
    """The admin's Notifications page: one page of deliveries, how many match, counts per state."""

    rows: list[Delivery]
    total: int
    counts: dict[str, int]


def deliveries_page(flt: DeliveryFilter, *, page: int = 0, engine: Engine | None = None) -> DeliveriesPage:
    """One page of deliveries with the counts per state, in one read-only unit of work."""
    with read_scope(engine) as session:
        rows, total = deliveries(session, flt, page=page)
        return DeliveriesPage(rows, total, counts_by_state(session))


def acknowledge_times_of(flt: DashboardFilter, *, engine: Engine | None = None) -> AcknowledgeTimes:
    """`acknowledge_times` in its own read-only unit of work (the dashboard)."""
    with read_scope(engine) as session:
        return acknowledge_times(session, flt)
