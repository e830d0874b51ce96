"""The API's changes to an incident (milestones, notes, escalations) and its triage without opening.

Each is one call of the flow the incident page uses (`core.incident.flows`), with the token's user
as the actor: the same permission (`check_may_change`), the same validation, the same version check
(`expected_version`: a stale change is a ConflictError, 409). This module only checks that the
incident exists (404 rather than a 422) and reshapes the result. Runs in the caller's unit of work;
never reads the clock; never imports streamlit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core.api.schemas import (
    ChangeOut,
    EscalationRequest,
    MilestoneRequest,
    NoteRequest,
    OutageOfferOut,
    TriageOut,
    TriageRequest,
)
from core.incident import flows
from core.incident.lifecycle import Milestone
from core.outage import linking
from core.people.users import Actor
from core.policy import store as policy_store
from core.triage.rules import triage
from db.models import Incident


class IncidentMissing(LookupError):
    """No incident with this number."""


def _existing(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentMissing(f"There is no incident {incident_id}.")
    return incident


def _out(incident: Incident, handoff: str | None = None) -> ChangeOut:
    return ChangeOut(incident_id=incident.id, version=incident.version, status=incident.status,
                     severity=incident.severity, current_level=incident.current_level,
                     handoff=handoff)


def record_milestone(session: Session, incident_id: int, body: MilestoneRequest, *, actor: Actor,
                     now: dt.datetime) -> ChangeOut:
    """Record a milestone (flows.record_milestone)."""
    _existing(session, incident_id)
    incident = flows.record_milestone(session, incident_id=incident_id, milestone=Milestone(body.milestone),
                                      actor=actor, now=now, at=body.at, reason=body.reason,
                                      expected_version=body.expected_version)
    session.flush()
    return _out(incident)


def add_note(session: Session, incident_id: int, body: NoteRequest, *, actor: Actor, now: dt.datetime) -> ChangeOut:
    """Add a note (flows.add_note)."""
    incident = _existing(session, incident_id)
    flows.add_note(session, incident_id=incident_id, text=body.text, actor=actor, now=now)
    return _out(incident)


def escalate(session: Session, incident_id: int, body: EscalationRequest, *, actor: Actor,
             now: dt.datetime) -> ChangeOut:
    """Escalate (flows.escalate); the answer carries the handoff summary."""
    _existing(session, incident_id)
    handoff = flows.escalate(session, incident_id=incident_id, to_level=body.to_level, reason=body.reason,
                             actor=actor, now=now, at=body.at, expected_version=body.expected_version)
    session.flush()
    return _out(_existing(session, incident_id), handoff)


def classify(session: Session, body: TriageRequest, *, now: dt.datetime) -> TriageOut:
    """Triage the answers under the named (or the team's default) policy; PolicyError when it cannot be used.

    When the answers say other customers are affected, the open platform outages come along: the caller
    can then open the incident into one (`POST /alerts` with `outage_id`).
    """
    policy, _version = policy_store.load(session, body.policy or policy_store.default_name(session))
    result = triage(body.answers, policy, body.detected_at or now)
    offer = ([OutageOfferOut.model_validate(o, from_attributes=True) for o in linking.open_outages(session)]
             if linking.offer_for(body.answers) else None)
    return TriageOut.model_validate({**result.to_json(), "open_outages": offer})
