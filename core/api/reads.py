"""The API's reads: one incident as its page shows it, and the incident list with the list page's filters.

Both come from the pages' own read models (`core.incident.views.load` and `incidents_page`), so the
API and the app can never disagree; this module only reshapes them into the response models. Who
may read follows the pages' access table. Reads never write. Never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

from sqlalchemy.orm import Session

from core.api.schemas import (
    ClientUpdateOut,
    ClockOut,
    EscalationOut,
    IncidentListOut,
    IncidentOut,
    IncidentQuery,
    IncidentRowOut,
    LadderStepOut,
    MessageOut,
    TimelineOut,
)
from core.incident import views
from core.incident.service import IncidentFilter, IncidentRow
from core.people.access import can_open
from core.people.users import Actor


class ReadForbidden(PermissionError):
    """The token's user may not read this."""


def check_may_read(actor: Actor, page: str) -> None:
    """ReadForbidden unless the actor's role may open the page the data comes from."""
    if actor.role is None or not can_open(actor.role, page):
        raise ReadForbidden(f"{actor.name} may not read the {page} page's data: the user's role does not open it.")


def incident(session: Session, incident_id: int, *, actor: Actor, now: dt.datetime) -> IncidentOut | None:
    """The incident at `now` as its page shows it, or None when there is none."""
    check_may_read(actor, "incident")
    view = views.load(session, incident_id, now=now)
    if view is None:
        return None
    status = view.escalation
    plan = view.client_plan
    return IncidentOut(
        id=view.id, version=view.version, title=view.title, summary=view.summary, status=view.status,
        is_open=view.is_open, severity=view.severity, red_status=view.red_status,
        account_id=view.account_id, account_name=view.account_name, owner_id=view.owner_id,
        owner_name=view.owner_name, policy_name=view.policy_name, policy_version=view.policy_version,
        milestones=view.milestones,
        clocks=[ClockOut(clock=c.clock, label=c.label, target_seconds=c.target.total_seconds(),
                         started_at=c.started_at, deadline=c.deadline, stopped_at=c.stopped_at, state=c.state.value)
                for c in view.clocks],
        escalation=EscalationOut(
            required_level=status.required_level, current_level=status.current_level, overdue=status.overdue,
            due_at=status.due_at, next_level=status.next_level,
            ladder=[LadderStepOut(level=s.level, name=s.name, start=s.start, due=s.due, reached_at=s.reached_at,
                                  state=s.state.value) for s in status.ladder]),
        timeline=[TimelineOut(occurred_at=e.occurred_at, by=e.actor, kind=e.kind, summary=e.summary)
                  for e in view.timeline],
        messages=[MessageOut(at=m["at"], channel=m["channel"], subject=m["subject"], to=m["to"], by=m["by"])
                  for m in view.communications],
        client_updates=[ClientUpdateOut(due=u.due, sent_at=u.sent_at, state=u.state.value, title=u.title)
                        for u in (plan.updates if plan else ())],
        next_client_update_due=plan.next_due if plan else None,
        answers=view.answers, is_drill=view.is_drill, outage_id=view.outage_id,
    )


def incident_list(query: IncidentQuery, *, actor: Actor, now: dt.datetime) -> IncidentListOut:
    """One page of the incident list under the list page's filters and order."""
    check_may_read(actor, "incidents")
    flt = IncidentFilter(statuses=tuple(query.status), severities=tuple(query.severity), account_id=query.account_id,
                         owner_id=query.owner_id, policy=query.policy, urgency=query.urgency,
                         detected_from=query.detected_from, detected_to=query.detected_to, text=query.q,
                         sort=query.sort)
    page = views.incidents_page(flt, now=now, page=query.page, page_size=query.page_size)
    return IncidentListOut(
        # Every field of the list's row, by name: a field added to IncidentRow reaches the API (or, missing from
        # IncidentRowOut, fails loudly) instead of being dropped by a hand-copied list.
        incidents=[IncidentRowOut(**{f.name: getattr(r, f.name) for f in fields(IncidentRow)},
                                  next_client_update_due_at=page.update_due.get(r.id))
                   for r in page.rows],
        total=page.total, total_is_lower_bound=page.total_is_lower_bound, page=page.page, pages=page.pages,
        page_size=query.page_size)
