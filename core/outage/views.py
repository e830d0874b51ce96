"""The read models of the "Platform outages" page: each opens its own read-only unit of work.

`outages_page` gives the list and the counts, `outage_detail` one outage with its linked incidents
and what the reader may do with them, `linkable_incidents` the open incidents a person may link
when opening an outage. Pages render these plain values and never touch sessions or ORM rows.
Nothing here writes; never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select

from core.account.access import may_change_incident, works_on_all_accounts
from core.communication.catalog import catalog
from core.outage import flows, service
from core.outage.linking import OPEN
from core.outage.service import EmergencyCount, LinkedIncident, OutageList, OutageRow
from core.people.users import Actor
from core.vocabulary import OPEN_STATUSES
from db.engine import read_scope
from db.models import Account, Incident, Outage

_OPEN_INCIDENT = tuple(s.value for s in OPEN_STATUSES)


@dataclass(frozen=True)
class OutagesPage:
    """One page of the outage list and the figures above it."""

    outages: OutageList
    counts: EmergencyCount


def outages_page(*, page: int, per_page: int = service.PAGE_SIZE) -> OutagesPage:
    """The outage list (open first) and the open emergency figures for the whole team."""
    with read_scope() as session:
        return OutagesPage(service.list_outages(session, page=page, per_page=per_page),
                           service.emergency_count(session))


@dataclass(frozen=True)
class OutageDetail:
    """One outage, its linked incidents, and what the reader may do."""

    outage: OutageRow
    client_impact: str
    summary: str
    started_at: dt.datetime
    linked: tuple[LinkedIncident, ...]
    may_run: bool
    # The open linked incidents the reader may write to (a bulk update reaches these).
    writable: tuple[int, ...]

    @property
    def open_linked(self) -> tuple[LinkedIncident, ...]:
        """The linked incidents still open."""
        return tuple(i for i in self.linked if i.is_open)

    @property
    def is_open(self) -> bool:
        """True until the outage is resolved."""
        return self.outage.status == OPEN


def outage_detail(outage_id: int, actor: Actor) -> OutageDetail | None:
    """The outage and its linked incidents as `actor` sees them; None when there is no such outage."""
    with read_scope() as session:
        row = service.outage_row(session, outage_id)
        outage = session.get(Outage, outage_id)
        if row is None or outage is None:
            return None
        linked = tuple(service.linked_incidents(session, outage_id))
        writable = tuple(i.id for i in linked if i.is_open and may_change_incident(
            actor.role, actor.id, i.account_owner_id, i.owner_id))
        return OutageDetail(row, outage.client_impact, outage.summary, outage.started_at, linked,
                            flows.may_run(actor, outage), writable)


@dataclass(frozen=True)
class LinkableIncident:
    """An open incident outside any outage that the person may link."""

    id: int
    title: str
    account_name: str
    severity: str

    @property
    def label(self) -> str:
        """'#12 · Acme Corp · P1 · Checkout down'."""
        return f"#{self.id} · {self.account_name} · {self.severity} · {self.title}"


def linkable_incidents(actor: Actor, *, limit: int = 200) -> list[LinkableIncident]:
    """Open incidents not yet in an outage that `actor` may change, newest first (drills left out)."""
    stmt = (select(Incident.id, Incident.title, Account.name, Incident.severity)
            .join(Account, Account.id == Incident.account_id)
            .where(Incident.outage_id.is_(None), Incident.status.in_(_OPEN_INCIDENT), Incident.is_drill.is_(False))
            .order_by(Incident.id.desc()).limit(limit))
    if not works_on_all_accounts(actor.role):
        stmt = stmt.where(or_(Account.owner_id == actor.id, Incident.owner_id == actor.id))
    with read_scope() as session:
        return [LinkableIncident(*row) for row in session.execute(stmt)]


def client_templates() -> dict[str, str]:
    """The client templates a bulk update may use, key -> title, the outage template first."""
    specs = [s for s in catalog() if s.audience == "client" and s.channel == "email"]
    specs.sort(key=lambda s: s.key != flows.BULK_TEMPLATE)
    return {s.key: s.title for s in specs}
