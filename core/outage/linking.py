"""Attach an account's incident to an open platform outage, or detach it; the open outages to offer, and when.

Triage offers an outage only when its answers say other customers are affected (`offer_for`);
`open_in_outage` opens and attaches in one unit of work (the Triage page; an API trigger, which may
also join an open incident, attaches in its own unit of work in core.api.alerts).

Attaching is a change to the incident, so it takes the incident's rule (its account's CSM, its
owner, leads, admins) and its optimistic lock; it is written on the incident's timeline and in the
audit log. Only an open outage takes new incidents. A client never learns which outage, or which
other clients, share its emergency (`incidents.outage_id` is internal, see core.incident.audience).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.incident import flows
from core.incident.flows import IncidentError, OpenedIncident, lock_for
from core.incident.timeline import add_event
from core.people.users import Actor
from core.triage.rules import Answers
from db.models import Incident, Outage

OPEN = "open"
RESOLVED = "resolved"
STATUSES = (OPEN, RESOLVED)


class OutageError(IncidentError):
    """The outage request cannot be done; the message says what to fix."""


@dataclass(frozen=True)
class OutageChoice:
    """An open outage as a picker offers it."""

    id: int
    title: str
    severity: str
    started_at: dt.datetime
    linked: int

    @property
    def label(self) -> str:
        """'Outage #3 · P0 · Payments API down (12 accounts)'."""
        return f"Outage #{self.id} · {self.severity} · {self.title} ({self.linked} account{'s' * (self.linked != 1)})"


def open_outages(session: Session, *, limit: int = 20) -> list[OutageChoice]:
    """Open outages, newest first, with how many incidents each links."""
    linked = (select(Incident.outage_id, func.count().label("n")).where(Incident.outage_id.is_not(None))
              .group_by(Incident.outage_id).subquery())
    stmt = (select(Outage.id, Outage.title, Outage.severity, Outage.started_at, func.coalesce(linked.c.n, 0))
            .outerjoin(linked, linked.c.outage_id == Outage.id)
            .where(Outage.status == OPEN).order_by(Outage.started_at.desc(), Outage.id.desc()).limit(limit))
    return [OutageChoice(i, title, severity, started, int(n))
            for i, title, severity, started, n in session.execute(stmt)]


def offer_for(answers: Answers | Mapping[str, Any]) -> bool:
    """True when the triage answers say other customers are affected: then opening offers an open outage."""
    said = answers.other_customers_affected if isinstance(answers, Answers) else answers.get("other_customers_affected")
    return said == "yes"


def open_in_outage(session: Session, *, outage_id: int, **opening: Any) -> OpenedIncident:
    """Open the incident (`core.incident.flows.open_incident`, same arguments) and attach it to open outage
    `outage_id` in the same unit of work: the incident exists attached or not at all.

    A repeat of the same request (its idempotency key) finds the incident and does not attach it twice.
    """
    opened = flows.open_incident(session, **opening)
    incident = session.get(Incident, opened.id)
    if not opened.created and incident is not None and incident.outage_id == outage_id:
        return opened
    attach(session, incident_id=opened.id, outage_id=outage_id, actor=opening["actor"], now=opening["now"])
    return opened


@dataclass(frozen=True)
class IncidentOutage:
    """What the incident page's outage banner needs: the version on screen, the outage it is part of (None when
    it stands alone) and, only when it stands alone and its triage said other customers are affected, the open
    outages to offer."""

    incident_version: int
    outage: OutageChoice | None
    offer: list[OutageChoice]


def incident_outage(session: Session, incident_id: int) -> IncidentOutage | None:
    """The outage banner's read of incident `incident_id` (None when there is no such incident); writes nothing."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    if incident.outage_id is not None:
        return IncidentOutage(incident.version, outage_choice(session, incident.outage_id), [])
    offer = open_outages(session) if offer_for(incident.answers or {}) else []
    return IncidentOutage(incident.version, None, offer)


def outage_choice(session: Session, outage_id: int) -> OutageChoice | None:
    """One outage (open or resolved) with how many incidents it links, or None when there is none."""
    outage = session.get(Outage, outage_id)
    if outage is None:
        return None
    linked = session.scalar(select(func.count()).select_from(Incident).where(Incident.outage_id == outage_id)) or 0
    return OutageChoice(outage.id, outage.title, outage.severity, outage.started_at, int(linked))


def attach(session: Session, *, incident_id: int, outage_id: int, actor: Actor, now: dt.datetime,
           expected_version: int | None = None) -> Incident:
    """Link the incident to open outage `outage_id` (moving it from another outage if it had one)."""
    incident = lock_for(session, incident_id, expected_version, actor)
    outage = session.get(Outage, outage_id)
    if outage is None:
        raise OutageError(f"There is no platform outage #{outage_id}.")
    if outage.status != OPEN:
        raise OutageError(f"Outage #{outage_id} is resolved: link the incident to an open outage, or open a new one.")
    before = incident.outage_id
    if before == outage_id:
        return incident
    incident.outage_id = outage_id
    incident.updated_at = now
    add_event(session, incident_id, kind="outage", actor=actor, occurred_at=now, now=now,
              summary=f"Linked to platform outage #{outage_id}: {outage.title}", details={"outage_id": outage_id})
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident", entity_id=incident_id,
                 action="outage:attach", changes={"outage_id": [before, outage_id]}, at=now)
    session.flush()
    return incident


def detach(session: Session, *, incident_id: int, actor: Actor, now: dt.datetime,
           expected_version: int | None = None) -> Incident:
    """Unlink the incident from its outage; it stands alone again with its own clocks (it always had them)."""
    incident = lock_for(session, incident_id, expected_version, actor)
    before = incident.outage_id
    if before is None:
        raise OutageError(f"Incident #{incident_id} is not part of a platform outage.")
    incident.outage_id = None
    incident.updated_at = now
    add_event(session, incident_id, kind="outage", actor=actor, occurred_at=now, now=now,
              summary=f"Unlinked from platform outage #{before}", details={"outage_id": before})
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident", entity_id=incident_id,
                 action="outage:detach", changes={"outage_id": [before, None]}, at=now)
    session.flush()
    return incident
