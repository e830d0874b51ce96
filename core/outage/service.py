"""Queries over platform outages: the list, one outage's linked incidents, and the figures the dashboard counts.

Each read is one SQL statement aggregated in the database (no query per row) and bounded by a LIMIT
where it lists. The emergency figure counts an outage once however many accounts it hits, while each
linked incident keeps its own clocks for attainment (core.sla). Nothing here writes; never imports
streamlit; never reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, distinct, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Subquery

from core.communication.flows import CLIENT_CHANNELS
from core.outage.linking import OPEN
from core.vocabulary import OPEN_STATUSES
from db.models import Account, Communication, Incident, Outage, StatusPage, User

_OPEN_INCIDENT = tuple(s.value for s in OPEN_STATUSES)
PAGE_SIZE = 25


@dataclass(frozen=True)
class OutageRow:
    """One outage as the list shows it."""

    id: int
    title: str
    severity: str
    status: str
    started_at: dt.datetime
    resolved_at: dt.datetime | None
    owner_name: str
    linked: int
    linked_open: int
    version: int


@dataclass(frozen=True)
class OutageList:
    """One page of outages (open first, newest first) and how many there are in all."""

    rows: tuple[OutageRow, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the whole list takes (at least one)."""
        return max(1, -(-self.total // self.per_page))


def _linked_counts() -> Subquery:
    return (select(Incident.outage_id.label("outage_id"), func.count().label("linked"),
                   func.sum(case((Incident.status.in_(_OPEN_INCIDENT), 1), else_=0)).label("linked_open"))
            .where(Incident.outage_id.is_not(None)).group_by(Incident.outage_id).subquery())


def list_outages(session: Session, *, page: int = 1, per_page: int = PAGE_SIZE) -> OutageList:
    """Outages, open ones first, then newest first, `per_page` at a time (page 1 is the first)."""
    page = max(1, page)
    counts = _linked_counts()
    stmt = (select(Outage.id, Outage.title, Outage.severity, Outage.status, Outage.started_at, Outage.resolved_at,
                   User.display_name, func.coalesce(counts.c.linked, 0), func.coalesce(counts.c.linked_open, 0),
                   Outage.version)
            .outerjoin(counts, counts.c.outage_id == Outage.id).outerjoin(User, User.id == Outage.owner_id)
            .order_by(case((Outage.status == OPEN, 0), else_=1), Outage.started_at.desc(), Outage.id.desc())
            .limit(per_page).offset((page - 1) * per_page))
    rows = tuple(OutageRow(i, title, sev, status, started, resolved, owner or "nobody", int(n), int(n_open), version)
                 for i, title, sev, status, started, resolved, owner, n, n_open, version in session.execute(stmt))
    total = session.scalar(select(func.count()).select_from(Outage)) or 0
    return OutageList(rows, int(total), page, per_page)


def outage_row(session: Session, outage_id: int) -> OutageRow | None:
    """One outage with its counts; None when there is no such outage."""
    counts = _linked_counts()
    found = session.execute(
        select(Outage.id, Outage.title, Outage.severity, Outage.status, Outage.started_at, Outage.resolved_at,
               User.display_name, func.coalesce(counts.c.linked, 0), func.coalesce(counts.c.linked_open, 0),
               Outage.version)
        .outerjoin(counts, counts.c.outage_id == Outage.id).outerjoin(User, User.id == Outage.owner_id)
        .where(Outage.id == outage_id)).one_or_none()
    if found is None:
        return None
    i, title, sev, status, started, resolved, owner, n, n_open, version = found
    return OutageRow(i, title, sev, status, started, resolved, owner or "nobody", int(n), int(n_open), version)


@dataclass(frozen=True)
class LinkedIncident:
    """One account's incident under an outage: its own owner, status, clocks and client messages."""

    id: int
    title: str
    account_id: int
    account_name: str
    account_owner_id: int | None
    time_zone: str
    owner_id: int | None
    owner_name: str
    status: str
    severity: str
    next_deadline_at: dt.datetime | None
    next_deadline_clock: str | None
    next_client_update_due_at: dt.datetime | None
    has_status_page: bool
    status_page_revoked: bool
    last_client_message_at: dt.datetime | None
    version: int

    @property
    def is_open(self) -> bool:
        """True while the incident is not resolved or closed."""
        return self.status in _OPEN_INCIDENT


def linked_incidents(session: Session, outage_id: int, *, limit: int = 1000) -> list[LinkedIncident]:
    """The outage's incidents, open ones first then by account, each with its own clocks and last client message."""
    last_message = (select(Communication.incident_id.label("incident_id"), func.max(Communication.sent_at).label("at"))
                    .join(Incident, Incident.id == Communication.incident_id)
                    .where(Incident.outage_id == outage_id, Communication.channel.in_(sorted(CLIENT_CHANNELS)))
                    .group_by(Communication.incident_id).subquery())
    owner = aliased(User)
    stmt = (select(Incident.id, Incident.title, Account.id, Account.name, Account.owner_id, Account.time_zone,
                   Incident.owner_id, owner.display_name, Incident.status, Incident.severity,
                   Incident.next_deadline_at, Incident.next_deadline_clock, Incident.next_client_update_due_at,
                   StatusPage.id, StatusPage.revoked_at, last_message.c.at, Incident.version)
            .join(Account, Account.id == Incident.account_id)
            .outerjoin(owner, owner.id == Incident.owner_id)
            .outerjoin(StatusPage, StatusPage.incident_id == Incident.id)
            .outerjoin(last_message, last_message.c.incident_id == Incident.id)
            .where(Incident.outage_id == outage_id)
            .order_by(case((Incident.status.in_(_OPEN_INCIDENT), 0), else_=1), Account.name, Incident.id)
            .limit(limit))
    return [LinkedIncident(i, title, account_id, account, account_owner, zone or "UTC", owner_id,
                           owner_name or "nobody", status, severity, deadline, clock, update_due, page is not None,
                           revoked is not None, last_at, version)
            for (i, title, account_id, account, account_owner, zone, owner_id, owner_name, status, severity, deadline,
                 clock, update_due, page, revoked, last_at, version) in session.execute(stmt)]


@dataclass(frozen=True)
class EmergencyCount:
    """Open emergencies with each outage counted once, and the outages behind them.

    `emergencies`: open incidents outside any outage plus one per open outage with open incidents;
    `incidents`: every open incident (each keeps its own clocks); `outages`: open platform outages;
    `accounts_affected`: distinct accounts with an open incident linked to an open outage.
    """

    emergencies: int
    incidents: int
    outages: int
    accounts_affected: int


def emergency_count(session: Session, *, csm_ids: Sequence[int] = (), account_id: int | None = None,
                    severities: Sequence[str] = ()) -> EmergencyCount:
    """The open emergencies now (drills left out), for the accounts of `csm_ids` / `account_id` when given."""
    conditions: list[ColumnElement[bool]] = [Incident.status.in_(_OPEN_INCIDENT), Incident.is_drill.is_(False)]
    if csm_ids:
        conditions.append(Account.owner_id.in_(csm_ids))
    if account_id is not None:
        conditions.append(Incident.account_id == account_id)
    if severities:
        conditions.append(Incident.severity.in_(severities))
    in_open_outage = and_(Incident.outage_id.is_not(None), Outage.status == OPEN)
    stmt = (select(func.count(Incident.id),
                   func.sum(case((in_open_outage, 0), else_=1)),
                   func.count(distinct(case((in_open_outage, Incident.outage_id)))),
                   func.count(distinct(case((in_open_outage, Incident.account_id)))))
            .join(Account, Account.id == Incident.account_id)
            .outerjoin(Outage, Outage.id == Incident.outage_id)
            .where(*conditions))
    incidents, alone, outages_hit, accounts = session.execute(stmt).one()
    open_outages = session.scalar(select(func.count()).select_from(Outage).where(Outage.status == OPEN)) or 0
    return EmergencyCount(emergencies=int(alone or 0) + int(outages_hit or 0), incidents=int(incidents or 0),
                          outages=int(open_outages), accounts_affected=int(accounts or 0))
