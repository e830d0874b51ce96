"""Demo data for client communications: logged messages, some client updates on time and some overdue.

Called by `core.demo.dataset.load` once the incidents exist. Every open incident
whose client was notified gets its first notice in the log (rendered from
the shipped templates, as the composer would); every other one also gets a
recent status update, so the list, the board and home show both client
updates on time and overdue ones. The most recently resolved incidents get
their first notice and their resolution message. Deterministic for a given
`now`; it writes only through `core.communication.flows.record_communication`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.communication import flows as comms
from core.incident.flows import clocks_of
from core.people.access import Role
from core.people.users import Actor
from core.vocabulary import OPEN_STATUSES
from db.models import Incident, User

RECENT_RESOLVED = 12
FIRST_NOTICE_FILL = {"technical_lead_name": "our on-call engineer"}
RESOLUTION_FILL = {
    "root_cause": "A configuration change reduced the capacity of the service that handles your requests.",
    "fix_applied": "We rolled the change back and added capacity.",
    "prevention_measures": ["Configuration changes now go through a staged rollout with automatic rollback."],
}


def _log(session: Session, incident: Incident, key: str, sent_at: dt.datetime, fill: dict[str, Any],
         now: dt.datetime) -> None:
    owner = session.get(User, incident.owner_id) if incident.owner_id else None
    source = comms.compose_source(session, incident.id, signer_id=owner.id if owner else None, now=sent_at)
    if source is None or not source.default_recipients:
        return
    prepared = comms.prepare_message(session, key=key, context=comms.apply_edits(source.context, fill))
    comms.record_communication(
        session, incident_id=incident.id, expected_version=None, template_key=key,
        template_version=prepared.template_version, channel="email", recipients=source.default_recipients,
        subject=prepared.subject, body_text=prepared.text, body_html=prepared.html,
        delivery="sent" if incident.id % 2 else "marked_sent",
        # The incident's owner writes with their own role; without one, the demo writes as a lead.
        actor=Actor(owner.id, owner.username, Role(owner.role)) if owner else Actor(None, "demo", Role.LEAD),
        now=now, sent_at=sent_at)


def load(session: Session, *, now: dt.datetime) -> int:
    """Log demo messages; returns how many were logged."""
    session.flush()
    count = 0
    open_notified = session.scalars(
        select(Incident).where(Incident.status.in_([s.value for s in OPEN_STATUSES]),
                               Incident.client_notified_at.is_not(None)).order_by(Incident.id)).all()
    for index, incident in enumerate(open_notified):
        notified = incident.client_notified_at
        if notified is None:  # the query keeps only notified incidents
            continue
        first = "emergency_acknowledgement" if incident.severity == "P0" else "p1_response"
        _log(session, incident, first, notified, FIRST_NOTICE_FILL, now)
        count += 1
        cadence = next((c.target for c in clocks_of(session, incident, now) if c.clock == "client_update"), None)
        if index % 2 == 0 and cadence is not None:
            # On time: an update went out half a cadence ago; the others are left overdue.
            sent = max(now - cadence / 2, notified + dt.timedelta(minutes=1))
            _log(session, incident, "status_update", min(sent, now), {}, now)
            count += 1
    resolved = session.scalars(
        select(Incident).where(Incident.resolved_at.is_not(None), Incident.client_notified_at.is_not(None))
        .order_by(Incident.resolved_at.desc()).limit(RECENT_RESOLVED)).all()
    for incident in resolved:
        if incident.client_notified_at is None or incident.resolved_at is None:  # the query keeps only those with both
            continue
        _log(session, incident, "p1_response", incident.client_notified_at, FIRST_NOTICE_FILL, now)
        _log(session, incident, "resolution_root_cause", incident.resolved_at, RESOLUTION_FILL, now)
        count += 2
    session.flush()
    return count
