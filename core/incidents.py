"""Incident flows: open an incident from a triage, record milestones, move its status.

Each flow runs inside the caller's unit of work, locks the incident row it
changes, checks the version the person was looking at (a stale edit is a
`ConflictError`, never a silent overwrite), stamps the time, appends to the
timeline and the audit log, and keeps the denormalised "next deadline"
current. Never imports streamlit; never reads the clock (callers pass `now`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, policy_store
from core.clocks import IncidentFacts, Pause, SlaClock, compute_clocks, most_urgent
from core.lifecycle import MILESTONE_FIELDS, MILESTONE_LABELS, IncidentStatus, Milestone, check_move
from core.policy import Policy
from core.triage import Answers, TriageResult, triage
from core.users import Actor
from db.models import Account, Incident, SlaPause, TimelineEvent
from db.rows import get_for_update

# The status a milestone moves an incident to, when the lifecycle allows it.
MILESTONE_STATUS: dict[Milestone, IncidentStatus] = {
    Milestone.ACKNOWLEDGED: IncidentStatus.ACKNOWLEDGED,
    Milestone.MOBILIZED: IncidentStatus.MOBILIZED,
    Milestone.MITIGATED: IncidentStatus.MITIGATED,
    Milestone.RESOLVED: IncidentStatus.RESOLVED,
    Milestone.CLOSED: IncidentStatus.CLOSED,
}
_STATUS_RANK = [IncidentStatus.NEW, IncidentStatus.REOPENED, IncidentStatus.ACKNOWLEDGED,
                IncidentStatus.MOBILIZED, IncidentStatus.MITIGATED, IncidentStatus.RESOLVED,
                IncidentStatus.CLOSED]


class IncidentError(ValueError):
    """A change to an incident that cannot be made; the message says what to fix."""


class ConflictError(IncidentError):
    """Someone else saved the incident since it was loaded; `changes` says what they changed."""

    def __init__(self, message: str, changes: list[str]):
        super().__init__(message)
        self.changes = changes


@dataclass(frozen=True)
class OpenedIncident:
    """The id of a new incident and the triage that classified it."""

    id: int
    result: TriageResult


def policy_of(incident: Incident) -> Policy:
    """The policy snapshot the incident was opened under."""
    return _policy_from_json(json.dumps(incident.policy_snapshot, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _policy_from_json(snapshot: str) -> Policy:
    # Validating a policy costs milliseconds; lists and boards read many
    # incidents that share a handful of snapshots.
    return Policy.model_validate_json(snapshot)


def facts_of(incident: Incident, pauses: list[SlaPause] | None = None) -> IncidentFacts:
    """The clock facts of an incident row."""
    return IncidentFacts(
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
    )


def pauses_of(session: Session, incident_id: int) -> list[SlaPause]:
    """The incident's pauses, oldest first."""
    stmt = select(SlaPause).where(SlaPause.incident_id == incident_id).order_by(SlaPause.started_at)
    return list(session.scalars(stmt))


def clocks_of(session: Session, incident: Incident, now: dt.datetime) -> list[SlaClock]:
    """Every SLA clock of the incident at `now`."""
    return compute_clocks(facts_of(incident, pauses_of(session, incident.id)), policy_of(incident), now)


def refresh_next_deadline(session: Session, incident: Incident, now: dt.datetime) -> None:
    """Store the most urgent open clock on the row, for lists and boards."""
    urgent = most_urgent(clocks_of(session, incident, now))
    incident.next_deadline_at = urgent.deadline if urgent else None
    incident.next_deadline_clock = urgent.clock if urgent else None


def add_event(
    session: Session, incident_id: int, *, kind: str, summary: str, actor: Actor,
    occurred_at: dt.datetime, now: dt.datetime, details: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append one timeline entry."""
    event = TimelineEvent(incident_id=incident_id, occurred_at=occurred_at, recorded_at=now,
                          actor_id=actor.id, kind=kind, summary=summary, details=details or {})
    session.add(event)
    return event


def open_incident(
    session: Session, *, account_id: int, title: str, summary: str, answers: Answers,
    policy_name: str, actor: Actor, now: dt.datetime, detected_at: dt.datetime | None = None,
    owner_id: int | None = None,
) -> OpenedIncident:
    """Triage the answers under the saved policy and store the incident with a policy snapshot."""
    if not title.strip():
        raise IncidentError("Give the incident a short title, e.g. 'Checkout API returns 500s'.")
    account = session.get(Account, account_id)
    if account is None or account.archived_at is not None:
        raise IncidentError("Choose an active customer account for the incident.")
    detected_at = detected_at or now
    if detected_at > now:
        raise IncidentError("The detection time is in the future: enter when the problem was first seen.")
    policy, version = policy_store.load(session, policy_name)
    if not answers.customer_tier:
        answers = answers.model_copy(update={"customer_tier": account.tier})
    result = triage(answers, policy, detected_at)
    incident = Incident(
        title=title.strip(), summary=summary.strip(), account_id=account.id,
        policy_name=policy.name, policy_version=version,
        policy_snapshot=policy.model_dump(mode="json"),
        answers=answers.model_dump(mode="json", exclude_none=True),
        triage_result={**result.to_json(),
                       "targets": {k: v.total_seconds() for k, v in result.targets.items()}},
        severity=result.severity, red_status=result.red_status,
        escalation_category=result.escalation_category, required_level=result.escalation_level,
        current_level=None, status=IncidentStatus.NEW.value, detected_at=detected_at,
        owner_id=owner_id or account.owner_id, created_by_id=actor.id, created_at=now, updated_at=now,
    )
    session.add(incident)
    session.flush()
    reasons = "; ".join(r.text for r in result.reasons) or "no rule fired: policy default"
    add_event(session, incident.id, kind="opened", actor=actor, occurred_at=detected_at, now=now,
              summary=f"Opened as {result.severity}{' (red status)' if result.red_status else ''} "
                      f"under {policy.name} v{version}: {reasons}",
              details={"triage": result.to_json()})
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident",
                 entity_id=incident.id, action="open",
                 changes={"severity": [None, result.severity], "status": [None, "new"]}, at=now)
    refresh_next_deadline(session, incident, now)
    return OpenedIncident(incident.id, result)


def lock(session: Session, incident_id: int, expected_version: int | None) -> Incident:
    """The incident row, locked; ConflictError when it changed since `expected_version`."""
    incident = get_for_update(session, Incident, incident_id)
    if incident is None:
        raise IncidentError(f"Incident {incident_id} does not exist.")
    if expected_version is not None and incident.version != expected_version:
        changes = _changes_since(session, incident_id, expected_version)
        raise ConflictError(
            f"Incident {incident_id} was changed by someone else while you were looking at it "
            f"(you had version {expected_version}, it is now {incident.version}). Nothing of yours "
            "was saved; review their change below, then make yours again.",
            changes,
        )
    return incident


def _changes_since(session: Session, incident_id: int, version: int) -> list[str]:
    from db.models import AuditEntry

    stmt = (select(AuditEntry).where(AuditEntry.entity_type == "incident",
                                     AuditEntry.entity_id == str(incident_id))
            .order_by(AuditEntry.id.desc()).limit(10))
    return [f"{e.at:%H:%M} UTC {e.actor_name}: {e.action} {e.changes}" for e in session.scalars(stmt)]


def record_milestone(
    session: Session, *, incident_id: int, milestone: Milestone, actor: Actor, now: dt.datetime,
    at: dt.datetime | None = None, reason: str = "", expected_version: int | None = None,
) -> Incident:
    """Stamp a milestone (now, or at a past time with a reason) and move the status it implies."""
    incident = lock(session, incident_id, expected_version)
    at = at or now
    if at > now:
        raise IncidentError("A milestone cannot be in the future.")
    if at < now - dt.timedelta(minutes=1) and not reason.strip():
        raise IncidentError("Say why you record this milestone at an earlier time (e.g. 'called the client at 09:12').")
    if at < incident.detected_at:
        raise IncidentError(
            f"{MILESTONE_LABELS[milestone]} cannot be before detection ({incident.detected_at:%Y-%m-%d %H:%M} UTC)."
        )
    field = MILESTONE_FIELDS[milestone]
    if getattr(incident, field) is not None and milestone is not Milestone.CLIENT_NOTIFIED:
        raise IncidentError(f"{MILESTONE_LABELS[milestone]} is already recorded.")
    target = MILESTONE_STATUS.get(milestone)
    before_status = incident.status
    if target is not None and _STATUS_RANK.index(target) > _STATUS_RANK.index(IncidentStatus(incident.status)):
        incident.status = check_move(incident.status, target).value
    elif target in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
        incident.status = check_move(incident.status, target).value
    if getattr(incident, field) is None:
        setattr(incident, field, at)
    if milestone is Milestone.CLIENT_NOTIFIED:
        incident.last_client_update_at = at
    incident.updated_at = now
    add_event(session, incident.id, kind="milestone", actor=actor, occurred_at=at, now=now,
              summary=MILESTONE_LABELS[milestone] + (f" ({reason.strip()})" if reason.strip() else ""),
              details={"milestone": milestone.value})
    changes = {field: [None, at]}
    if before_status != incident.status:
        changes["status"] = [before_status, incident.status]
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident",
                 entity_id=incident.id, action=f"milestone:{milestone.value}", changes=changes, at=now)
    refresh_next_deadline(session, incident, now)
    return incident
