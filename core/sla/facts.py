"""The clock facts of a stored incident: its policy snapshot, milestones and pauses as the clock engine reads them.

Shared by the incident flows, the SLA summary and the account views, so none of them has to
import another to learn what an incident's clocks run on. Reads rows it is given (and the
pauses of one incident); it never writes and never imports streamlit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.policy.ladder import choose_schedule
from core.policy.loading import snapshot_policy
from core.policy.schema import Policy
from core.sla.clocks import IncidentFacts, Pause
from core.sla.response_log import escalations_of, messages_of, responses_of
from core.triage.answers import Answers
from db.models import Incident, SlaPause

# Parsed policies by content hash: snapshot rows never change, so a hash parsed once serves every
# incident (and every database) that shares it; the body is read only on a miss.
_PARSED: dict[str, Policy] = {}
_PARSED_MAX = 256


def policy_of(incident: Incident) -> Policy:
    """The policy snapshot the incident was opened under."""
    snapshot = incident.snapshot
    if snapshot is None:
        raise ValueError(f"Incident {incident.id} has no policy snapshot.")
    policy = _PARSED.get(snapshot.content_hash)
    if policy is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        policy = _PARSED[snapshot.content_hash] = snapshot_policy(snapshot.body)
    return policy


def _escalated_at(incident: Incident, reached: dict[str, dt.datetime]) -> dt.datetime | None:
    # The escalation clock is the first step of the planned ladder: it stops when
    # that step's level is reached. Incidents triaged before ladders existed keep
    # the moment their required level was reached.
    ladder = incident.triage_result.get("ladder")
    if not ladder:
        return incident.required_level_reached_at
    return reached.get(ladder[0]["level"])


def facts_of(incident: Incident, pauses: list[SlaPause] | None = None) -> IncidentFacts:
    """The clock facts of an incident row."""
    policy = policy_of(incident)
    answers = Answers.model_validate(incident.answers)
    schedule = choose_schedule(policy, answers, incident.severity)
    facts = IncidentFacts(
        severity=incident.severity,
        tier=incident.answers.get("customer_tier") or incident.account.tier,
        detected_at=incident.detected_at,
        acknowledged_at=incident.acknowledged_at,
        client_notified_at=incident.client_notified_at,
        mobilized_at=incident.mobilized_at,
        resolved_at=incident.resolved_at,
        last_client_update_at=incident.last_client_update_at,
        required_level=incident.required_level,
        current_level=incident.current_level,
        escalated_at=incident.required_level_reached_at,
        pauses=tuple(Pause(p.started_at, p.ended_at) for p in (pauses or [])),
        targets={k: dt.timedelta(seconds=v) for k, v in incident.triage_result.get("targets", {}).items()},
        escalations=escalations_of(incident),
        level_responses=responses_of(incident),
        client_messages=messages_of(incident),
        schedule_key=schedule.key if schedule else None,
    )
    if not facts.escalations:
        return facts
    return dataclasses.replace(facts, escalated_at=_escalated_at(incident, facts.reached()))


def pauses_of(session: Session, incident_id: int) -> list[SlaPause]:
    """The incident's pauses, oldest first."""
    stmt = select(SlaPause).where(SlaPause.incident_id == incident_id).order_by(SlaPause.started_at)
    return list(session.scalars(stmt))
