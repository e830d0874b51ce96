"""Reads of the after-incident documents' data: the incident's record, earlier post-mortems, overdue action items.

`load_record` gathers everything a report is written from; the dashboard asks
for overdue post-mortem action items and earlier post-mortems on the same
account. Reads only: this module never writes, never reads the clock (callers
pass `now`) and never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.incident import flows as incidents
from core.incident.audience import client_values
from core.incident.lifecycle import milestone_times
from core.report.lifecycle import ReportKind
from core.report.record import (
    POSTMORTEM_SOURCE,
    REPEAT_WINDOW,
    EarlierPostMortem,
    IncidentRecord,
    RecordEvent,
    RecordItem,
)
from core.sla.facts import policy_of
from db.models import (
    Account,
    ActionItem,
    Communication,
    Escalation,
    Incident,
    IncidentAssignment,
    IncidentReport,
    SlaPause,
    TimelineEvent,
    User,
)


def user_names(session: Session) -> dict[int, str]:
    """Every user's display name by id."""
    return {uid: name for uid, name in session.execute(select(User.id, User.display_name))}


def name_of(names: Mapping[int, str], user_id: int | None, default: str) -> str:
    """The display name of `user_id` in `names`; `default` when there is no user or the id is unknown."""
    return default if user_id is None else names.get(user_id, default)


def load_record(session: Session, incident_id: int, *, now: dt.datetime) -> IncidentRecord | None:
    """The incident's record at `now`, or None when there is no such incident."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    policy = policy_of(incident)
    account = session.get(Account, incident.account_id)
    assert account is not None
    names = user_names(session)
    events = session.scalars(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                             .order_by(TimelineEvent.occurred_at, TimelineEvent.id)).all()
    escalations = session.scalars(select(Escalation).where(Escalation.incident_id == incident_id)
                                  .order_by(Escalation.escalated_at)).all()
    comms = session.scalars(select(Communication).where(Communication.incident_id == incident_id)
                            .order_by(Communication.sent_at)).all()
    pauses = session.scalars(select(SlaPause).where(SlaPause.incident_id == incident_id)
                             .order_by(SlaPause.started_at)).all()
    items = session.scalars(select(ActionItem).where(ActionItem.incident_id == incident_id)
                            .order_by(ActionItem.due_at.is_(None), ActionItem.due_at, ActionItem.id)).all()
    roles = session.scalars(select(IncidentAssignment).where(IncidentAssignment.incident_id == incident_id)).all()
    return IncidentRecord(
        id=incident.id, title=incident.title, summary=incident.summary, account_id=account.id,
        account_name=account.name, account_tier=account.tier, account_time_zone=account.time_zone,
        account_owner_id=account.owner_id, annual_contract_value=Decimal(account.annual_contract_value or 0),
        contract_terms=dict(account.contract_terms or {}),
        owner_name=name_of(names, incident.owner_id, "unassigned"),
        severity=incident.severity, severity_label=policy.severity_label(incident.severity),
        red_status=incident.red_status, policy_name=incident.policy_name, policy_title=policy.title,
        status=incident.status,
        milestones=milestone_times(incident),
        answers=dict(incident.answers), reasons=[r.get("text", "") for r in incident.triage_result.get("reasons", [])],
        clocks=incidents.clocks_of(session, incident, now),
        events=[RecordEvent(e.occurred_at, e.kind, e.summary, name_of(names, e.actor_id, "system")) for e in events],
        escalations=[{"at": e.escalated_at, "from": e.from_level, "to": e.to_level, "reason": e.reason,
                      "by": name_of(names, e.actor_id, "system")} for e in escalations],
        communications=[{"at": c.sent_at, "channel": c.channel, "subject": c.subject} for c in comms],
        pauses=[{"start": p.started_at, "end": p.ended_at, "reason": p.reason} for p in pauses],
        action_items=[RecordItem(i.id, i.title, name_of(names, i.owner_id, "unassigned"), i.owner_id, i.due_at,
                                 i.done_at, i.source, i.version) for i in items],
        assignments={a.role: names.get(a.user_id, "?") for a in roles},
        reviews=[(r.key, r.title, r.after_resolution) for r in policy.reviews],
        client=client_values(incident, account),
        earlier=repeat_of(session, incident_id),
    )


@dataclass(frozen=True)
class OverdueActionItem:
    """A post-mortem action item past its due date and not done."""

    id: int
    incident_id: int
    incident_title: str
    account_name: str
    title: str
    owner_id: int | None
    owner: str
    due_at: dt.datetime
    version: int


# The columns of OverdueActionItem, in its order.
_OverdueQuery = Select[int, int, str, str, str, int | None, str, dt.datetime | None, int]


def _overdue_query(
    *, owner_id: int | None, account_ids: list[int] | None, now: dt.datetime, source: str | None,
) -> _OverdueQuery:
    stmt = (select(ActionItem.id, Incident.id, Incident.title, Account.name, ActionItem.title, ActionItem.owner_id,
                   func.coalesce(User.display_name, "unassigned"), ActionItem.due_at, ActionItem.version)
            .join(Incident, Incident.id == ActionItem.incident_id)
            .join(Account, Account.id == Incident.account_id)
            .outerjoin(User, User.id == ActionItem.owner_id)
            .where(ActionItem.done_at.is_(None), ActionItem.due_at.is_not(None), ActionItem.due_at < now))
    if source is not None:
        stmt = stmt.where(ActionItem.source == source)
    if owner_id is not None:
        stmt = stmt.where(ActionItem.owner_id == owner_id)
    if account_ids is not None:
        stmt = stmt.where(Incident.account_id.in_(account_ids))
    return stmt


def overdue_action_items(
    session: Session, *, owner_id: int | None = None, account_ids: list[int] | None = None, now: dt.datetime,
    source: str | None = POSTMORTEM_SOURCE, limit: int = 200,
) -> list[OverdueActionItem]:
    """Post-mortem action items past due and not done, oldest due first (filter by owner and accounts)."""
    stmt = _overdue_query(owner_id=owner_id, account_ids=account_ids, now=now, source=source)
    items = []
    for item_id, incident_id, incident_title, account, title, item_owner_id, owner, due_at, version in (
            session.execute(stmt.order_by(ActionItem.due_at, ActionItem.id).limit(limit))):
        assert due_at is not None  # the query keeps only items with a due date
        items.append(OverdueActionItem(item_id, incident_id, incident_title, account, title, item_owner_id, owner,
                                       due_at, version))
    return items


def count_overdue_action_items(
    session: Session, *, owner_id: int | None = None, account_ids: list[int] | None = None, now: dt.datetime,
    source: str | None = POSTMORTEM_SOURCE,
) -> int:
    """How many post-mortem action items are past due and not done."""
    stmt = _overdue_query(owner_id=owner_id, account_ids=account_ids, now=now, source=source).subquery()
    return session.scalar(select(func.count()).select_from(stmt)) or 0


def repeat_of(session: Session, incident_id: int) -> list[EarlierPostMortem]:
    """Post-mortems of earlier incidents on the same account detected within the repeat window before this one."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return []
    stmt = (select(Incident.id, Incident.title, Incident.detected_at, Incident.resolved_at, IncidentReport.status)
            .join(IncidentReport, IncidentReport.incident_id == Incident.id)
            .where(IncidentReport.kind == ReportKind.POSTMORTEM.value,
                   Incident.account_id == incident.account_id, Incident.id != incident_id,
                   Incident.detected_at < incident.detected_at,
                   Incident.detected_at >= incident.detected_at - REPEAT_WINDOW)
            .order_by(Incident.detected_at.desc()))
    return [EarlierPostMortem(*row) for row in session.execute(stmt)]
