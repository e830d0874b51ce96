"""The incident page's read model: everything it shows, as plain values, in one unit of work.

Pages render this and never touch ORM objects. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.incident.flows import clocks_of, escalation_of
from core.incident.lifecycle import allowed_moves, is_open
from core.sla.clocks import SlaClock
from core.sla.facts import pauses_of, policy_of
from db.models import ActionItem, Communication, Escalation, Incident, IncidentAssignment, TimelineEvent, User


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline."""

    occurred_at: dt.datetime
    recorded_at: dt.datetime
    actor: str
    kind: str
    summary: str


@dataclass(frozen=True)
class ActionItemRow:
    """An action item as listed."""

    id: int
    title: str
    owner: str
    due_at: dt.datetime | None
    done_at: dt.datetime | None
    version: int


@dataclass(frozen=True)
class IncidentView:
    """Everything the incident page shows."""

    id: int
    version: int
    title: str
    summary: str
    status: str
    is_open: bool
    severity: str
    severity_label: str
    severity_definition: str
    red_status: bool
    escalation_category: str
    current_level: str | None
    account_id: int
    account_name: str
    account_tier: str
    account_owner_id: int | None
    owner_id: int | None
    owner_name: str
    policy_name: str
    policy_version: int
    policy_title: str
    level_names: dict[str, str]
    milestones: dict[str, dt.datetime | None]
    clocks: list[SlaClock]
    escalation: Any
    allowed_moves: list[str]
    assignments: dict[str, tuple[int, str]]
    paused: bool
    pausable_clocks: tuple[str, ...]
    reasons: list[dict[str, str]]
    answers: dict[str, Any]
    action_items: list[ActionItemRow] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    communications: list[dict[str, Any]] = field(default_factory=list)


def load(session: Session, incident_id: int, *, now: dt.datetime) -> IncidentView | None:
    """The incident's read model at `now`, or None when there is no such incident."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    policy = policy_of(incident)
    # Keyed by id; a row with no person (owner, actor or sender None) falls back to the default below.
    names: dict[int | None, str] = {uid: name for uid, name in session.execute(select(User.id, User.display_name))}
    assignments = {
        a.role: (a.user_id, names.get(a.user_id, "?"))
        for a in session.scalars(select(IncidentAssignment).where(IncidentAssignment.incident_id == incident_id))
    }
    events = session.scalars(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                             .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())).all()
    items = session.scalars(select(ActionItem).where(ActionItem.incident_id == incident_id)
                            .order_by(ActionItem.done_at.is_not(None), ActionItem.due_at)).all()
    escalations = session.scalars(select(Escalation).where(Escalation.incident_id == incident_id)
                                  .order_by(Escalation.escalated_at.desc())).all()
    comms = session.scalars(select(Communication).where(Communication.incident_id == incident_id)
                            .order_by(Communication.sent_at.desc())).all()
    return IncidentView(
        id=incident.id, version=incident.version, title=incident.title, summary=incident.summary,
        status=incident.status, is_open=is_open(incident.status), severity=incident.severity,
        severity_label=policy.severity_label(incident.severity),
        severity_definition=policy.severity(incident.severity).definition, red_status=incident.red_status,
        escalation_category=incident.escalation_category, current_level=incident.current_level,
        account_id=incident.account_id, account_name=incident.account.name, account_tier=incident.account.tier,
        account_owner_id=incident.account.owner_id, owner_id=incident.owner_id,
        owner_name=names.get(incident.owner_id, "unassigned") if incident.owner_id else "unassigned",
        policy_name=incident.policy_name, policy_version=incident.policy_version, policy_title=policy.title,
        level_names={lvl.id: lvl.name for lvl in policy.escalation_levels},
        milestones={m: getattr(incident, f"{m}_at") for m in
                    ("detected", "acknowledged", "client_notified", "mobilized", "mitigated", "resolved", "closed",
                     "reopened")},
        clocks=clocks_of(session, incident, now), escalation=escalation_of(session, incident, now),
        allowed_moves=[s.value for s in allowed_moves(incident.status)], assignments=assignments,
        paused=any(p.ended_at is None for p in pauses_of(session, incident_id)),
        pausable_clocks=tuple(policy.pausable_clocks), reasons=incident.triage_result.get("reasons", []),
        answers=dict(incident.answers),
        action_items=[ActionItemRow(i.id, i.title, names.get(i.owner_id, "unassigned"), i.due_at, i.done_at,
                                    i.version) for i in items],
        timeline=[TimelineEntry(e.occurred_at, e.recorded_at, names.get(e.actor_id, "system"), e.kind, e.summary)
                  for e in events],
        audit=[{"at": a.at, "by": a.actor_name, "action": a.action, "changes": a.changes}
               for a in audit.entries_for(session, "incident", incident_id, limit=100)],
        escalations=[{"at": e.escalated_at, "from": e.from_level, "to": e.to_level, "by": names.get(e.actor_id, "?"),
                      "reason": e.reason, "handoff": e.handoff} for e in escalations],
        communications=[{"at": c.sent_at, "channel": c.channel, "subject": c.subject,
                         "to": ", ".join(c.recipients), "by": names.get(c.sent_by_id, "?")} for c in comms],
    )

