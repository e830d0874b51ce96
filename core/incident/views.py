"""The read models of the incident pages: everything each one shows, as plain values, in one unit of work.

`load` is the incident page's view inside a caller's session; the functions
below it (`incidents_page`, `policies_page`, `triage_page`, ...) each open their
own read-only unit of work for one page. Pages render these and never touch
ORM objects or sessions. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.account.access import AccountChoice, accounts_for, may_change_incident
from core.incident import service
from core.incident.escalation import EscalationStatus
from core.incident.flows import escalation_from
from core.incident.lifecycle import Milestone, allowed_moves, is_open, milestone_times
from core.incident.phases import PhaseProgress, current_phase, phase_plan
from core.incident.service import IncidentFilter, IncidentRow
from core.people.access import Role
from core.policy import store as policy_store
from core.policy.ladder import floors
from core.policy.rules import level_rank
from core.policy.schema import Contact, Policy
from core.sla.clocks import SlaClock, compute_clocks
from core.sla.facts import facts_of, pauses_of, policy_of
from core.sla.schedule import ClientPlan, client_schedule
from core.triage.rules import Answers
from core.vocabulary import OPEN_STATUSES, ClockState
from db.engine import read_scope
from db.models import (
    ActionItem,
    Communication,
    Escalation,
    Incident,
    IncidentAssignment,
    Notification,
    TimelineEvent,
    User,
)


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline."""

    occurred_at: dt.datetime
    recorded_at: dt.datetime
    actor: str
    kind: str
    summary: str


ALERT_ROWS = 200  # the newest alerts an incident's timeline shows


def _alert_outcome(row: Notification) -> str:
    if row.acknowledged_at is not None:
        return f"acknowledged {row.acknowledged_at:%Y-%m-%d %H:%M} UTC"
    if row.state == "sent":
        return "delivered"
    if row.state == "dead":
        return f"failed for good after {row.attempts} attempt(s): {row.last_error}"
    if row.state == "cancelled":
        return f"withdrawn ({row.last_error})" if row.last_error else "withdrawn"
    if row.attempts:
        return f"failed {row.attempts} time(s), retrying: {row.last_error}"
    return "queued"


def alert_entries(session: Session, incident_id: int, now: dt.datetime) -> list[TimelineEntry]:
    """The incident's alerts that were due by `now` as timeline lines: to whom, over which channel, what came of it."""
    rows = session.scalars(select(Notification).where(Notification.incident_id == incident_id,
                                                      Notification.due_at <= now)
                           .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(ALERT_ROWS))
    return [TimelineEntry(row.sent_at or row.due_at, row.created_at, "alerts", f"alert ({row.channel})",
                          f"{row.subject} → {row.recipient}: {_alert_outcome(row)}") for row in rows]


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
    escalation: EscalationStatus
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
    # The incident roles to show, key -> title: the policy's, then any held role the policy lacks.
    roles: dict[str, str] = field(default_factory=dict)
    # Every message the client is owed (planned ones and the cadence), with its state at `now`.
    client_plan: ClientPlan | None = None
    # Levels the incident was escalated to whose response is not recorded yet (they can respond now).
    awaiting_response: tuple[str, ...] = ()
    # The call or chat room of the responders, when someone gave one.
    war_room_url: str | None = None
    # Who to call at each escalation level, lowest first: (level id, level name, its contacts).
    level_contacts: tuple[tuple[str, str, tuple[Contact, ...]], ...] = ()
    # The policy's phases that apply to this incident, with each step's state at `now`, and the one to work on.
    phases: tuple[PhaseProgress, ...] = ()
    current_phase: PhaseProgress | None = None
    # The least severe severity the triage answers allow (a level they need sets it); None when free.
    severity_floor: str | None = None
    # An exercise: its notifications say DRILL and the SLA figures leave it out.
    is_drill: bool = False
    # The platform outage it is part of (core.outage): internal, never shown to the client.
    outage_id: int | None = None


@dataclass(frozen=True)
class DueItem:
    """One thing the incident owes, for the cockpit: a clock, the ladder's next step or a client message."""

    kind: str  # clock, escalation or client_update
    label: str
    deadline: dt.datetime
    state: ClockState
    clock: str | None = None


def due_items(view: IncidentView) -> list[DueItem]:
    """Everything still owed, most urgent first: open clocks, the ladder's next due step, the next client message.

    A breached item comes before a running one; then the earliest deadline. Paused clocks come last
    (they have no fixed deadline while paused); met and stopped ones are not owed.
    """
    items = [DueItem("clock", c.label, c.deadline, c.state, c.clock) for c in view.clocks
             if c.stopped_at is None and c.state in (ClockState.RUNNING, ClockState.BREACHED, ClockState.PAUSED)]
    step = next((st for st in view.escalation.ladder if st.reached_at is None and st.due is not None
                 and st.due == view.escalation.deadline), None)
    if step is not None and step.due is not None and not any(i.clock == "escalation" and i.deadline == step.due
                                                              for i in items):
        state = ClockState.BREACHED if step.state is ClockState.BREACHED else ClockState.RUNNING
        items.append(DueItem("escalation", f"Reach {step.level} ({step.name})", step.due, state))
    plan = view.client_plan
    if plan is not None and plan.next_due is not None and not any(
            i.clock in ("client_update", "client_notification") and i.deadline == plan.next_due for i in items):
        update = next(u for u in plan.updates if u.sent_at is None and u.due == plan.next_due)
        items.append(DueItem("client_update", f"Client: {update.title}", update.due,
                             ClockState.BREACHED if update.state is ClockState.BREACHED else ClockState.RUNNING))
    order = {ClockState.BREACHED: 0, ClockState.RUNNING: 1, ClockState.PAUSED: 2}
    return sorted(items, key=lambda i: (order[i.state], i.deadline))


# The clock each milestone stops: when that clock is the most urgent, its milestone is the action to take.
_MILESTONE_STOPPING = {"acknowledge": "acknowledged", "client_notification": "client_notified",
                       "mobilization": "mobilized", "resolution": "resolved", "resolution_max": "resolved"}


def settled_by(item: DueItem) -> str | None:
    """What settles a due item: a milestone's value, "escalate", "write" (a client message), or None."""
    if item.kind == "escalation" or item.clock == "escalation":
        return "escalate"
    if item.kind == "client_update" or item.clock == "client_update":
        return "write"
    return _MILESTONE_STOPPING.get(item.clock or "")


def next_escalation(view: IncidentView, now: dt.datetime) -> tuple[str, str] | None:
    """The level the ladder requires by `now` that the incident has not reached, with why; None when none is."""
    current = level_rank(view.current_level)
    step = next((s for s in view.escalation.ladder
                 if s.reached_at is None and s.start <= now and level_rank(s.level) > current), None)
    if step is None:
        return None
    return step.level, " ".join(step.reasons) or f"{step.level} is required from now on."


def clocks_by_urgency(clocks: Sequence[SlaClock]) -> list[SlaClock]:
    """The clocks in the order a responder needs them: breached and running by deadline, then paused, then done."""
    order = {ClockState.BREACHED: 0, ClockState.RUNNING: 1, ClockState.PAUSED: 2}
    return sorted(clocks, key=lambda c: (c.stopped_at is not None, order.get(c.state, 3), c.deadline))


@dataclass(frozen=True)
class StampChange:
    """One change of the incident by someone: when (UTC; the page shows it in the reader's zone), who, what."""

    at: dt.datetime
    actor: str
    action: str


@dataclass(frozen=True)
class IncidentStamp:
    """How far the stored incident has moved on: its version and the latest changes, newest first."""

    version: int
    changes: tuple[StampChange, ...]


def incident_stamp(incident_id: int, *, since: int) -> IncidentStamp | None:
    """The incident's current version and, when it is newer than `since`, who changed what (one small read)."""
    with read_scope() as session:
        version = session.scalar(select(Incident.version).where(Incident.id == incident_id))
        if version is None:
            return None
        if version <= since:
            return IncidentStamp(version, ())
        entries = audit.entries_for(session, "incident", incident_id, limit=min(version - since, 10))
        return IncidentStamp(version, tuple(StampChange(e.at, e.actor_name, e.action) for e in entries))


def incident_exists(incident_id: int) -> bool:
    """True when there is an incident with this number (the sidebar's "go to incident" box asks)."""
    with read_scope() as session:
        return session.scalar(select(Incident.id).where(Incident.id == incident_id)) is not None


def load(session: Session, incident_id: int, *, now: dt.datetime) -> IncidentView | None:
    """The incident's read model at `now`, or None when there is no such incident."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    policy = policy_of(incident)
    facts = facts_of(incident, pauses_of(session, incident_id))
    clocks = compute_clocks(facts, policy, now)
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
    milestones = milestone_times(incident)
    phases = tuple(phase_plan(policy, severity=incident.severity, answers=incident.answers,
                              detected_at=incident.detected_at, milestones=milestones,
                              steps_done=incident.steps_done or {}, now=now))
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
        milestones=milestones,
        clocks=clocks, escalation=escalation_from(incident, facts, policy, now, clocks),
        allowed_moves=[s.value for s in allowed_moves(incident.status)], assignments=assignments,
        roles={**{r.key: r.title for r in policy.roles}, **{k: policy.role_title(k) for k in assignments}},
        paused=any(p.ended_at is None for p in pauses_of(session, incident_id)),
        pausable_clocks=tuple(policy.pausable_clocks), reasons=incident.triage_result.get("reasons", []),
        answers=dict(incident.answers),
        action_items=[ActionItemRow(i.id, i.title, names.get(i.owner_id, "unassigned"), i.due_at, i.done_at,
                                    i.version) for i in items],
        timeline=sorted([*(TimelineEntry(e.occurred_at, e.recorded_at, names.get(e.actor_id, "system"), e.kind,
                                          e.summary) for e in events),
                         *alert_entries(session, incident_id, now)],
                        key=lambda entry: entry.occurred_at, reverse=True),
        audit=[{"at": a.at, "by": a.actor_name, "action": a.action, "changes": a.changes}
               for a in audit.entries_for(session, "incident", incident_id, limit=100)],
        escalations=[{"at": e.escalated_at, "from": e.from_level, "to": e.to_level, "by": names.get(e.actor_id, "?"),
                      "reason": e.reason, "handoff": e.handoff} for e in escalations],
        communications=[{"at": c.sent_at, "channel": c.channel, "subject": c.subject,
                         "to": ", ".join(c.recipients), "by": names.get(c.sent_by_id, "?")} for c in comms],
        client_plan=client_schedule(facts, policy, now),
        awaiting_response=tuple(level for level in dict.fromkeys(moved_to for moved_to, _ in facts.escalations)
                                if level not in facts.level_responses),
        war_room_url=incident.war_room_url,
        level_contacts=tuple((lvl.id, lvl.name, lvl.contacts) for lvl in policy.escalation_levels),
        phases=phases, current_phase=_phase_in_view(phases, is_open(incident.status), now),
        severity_floor=next((f.severity for f in floors(policy, Answers.model_validate(incident.answers))), None),
        is_drill=incident.is_drill, outage_id=incident.outage_id,
    )


def _phase_in_view(phases: Sequence[PhaseProgress], open_: bool, now: dt.datetime) -> PhaseProgress | None:
    # Once resolved, only the client's confirmation of the fix is still asked for.
    if open_:
        return current_phase(phases, now)
    return next((p for p in phases if any(s.milestone == Milestone.CLIENT_CONFIRMED and s.done_at is None
                                          for s in p.steps)), None)



# --------------------------------------------------------------------------
# Page read models: each opens its own read-only unit of work and returns plain values.
# Who may see or change what is decided here, not in the page.


class Viewer(Protocol):
    """Who is looking at a page (`ui.auth.CurrentUser` fits): enough to decide what they may see and change."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> Role: ...


def may_change(viewer: Viewer, view: IncidentView) -> bool:
    """True when the viewer may change this incident: the account's CSM, its owner, leads and admins."""
    return may_change_incident(viewer.role, viewer.id, view.account_owner_id, view.owner_id)


# The clock filters `IncidentFilter.urgency` understands, with the words the list shows for them.
URGENCY_LABELS: dict[str, str] = {
    "any": "any",
    "breached": "overdue now",
    "escalation_overdue": "escalation overdue",
    "client_update_overdue": "client update overdue",
    "due_within_hour": "due within the hour",
}


@dataclass(frozen=True)
class IncidentFilters:
    """What the incident list's filters offer: every account, every active person, every policy."""

    accounts: list[AccountChoice]
    people: list[tuple[int, str]]
    policies: list[str]


def incident_filters() -> IncidentFilters:
    """The choices of the incident list's filters (everyone reads the whole list)."""
    with read_scope() as session:
        return IncidentFilters(accounts=accounts_for(session, user_id=0, role=Role.LEAD),
                               people=service.owners(session), policies=policy_store.policy_names(session))


def _client_update_due(session: Session, incident_ids: Sequence[int]) -> dict[int, dt.datetime | None]:
    if not incident_ids:
        return {}
    stmt = select(Incident.id, Incident.next_client_update_due_at).where(Incident.id.in_(list(incident_ids)))
    return {incident_id: due for incident_id, due in session.execute(stmt)}


@dataclass(frozen=True)
class IncidentsPage:
    """One page of the incident list: its rows, how many match in all, each row's next client update.

    Under a text search matches are counted only so far (`service.counted_up_to`): then `total` is
    that many plus one, `total_is_lower_bound` is set, and `pages` reaches one past this page.
    """

    rows: list[IncidentRow]
    total: int
    page: int
    pages: int
    update_due: dict[int, dt.datetime | None]
    total_is_lower_bound: bool = False

    @property
    def counted(self) -> str:
        """How many match, as the list says it: "1,234", or "more than 1,000" when the count stopped."""
        return f"more than {self.total - 1:,}" if self.total_is_lower_bound else f"{self.total:,}"


def incidents_page(flt: IncidentFilter, *, now: dt.datetime, page: int, page_size: int) -> IncidentsPage:
    """The incidents matching `flt`, page `page` (back to the first when the filter leaves fewer pages)."""
    with read_scope() as session:
        rows, total = service.search(session, flt, now=now, page=page, page_size=page_size)
        update_due = _client_update_due(session, [r.id for r in rows])
    lower_bound = service.caps_count(flt.text) and total > service.counted_up_to(page, page_size)
    pages = max(1, -(-total // page_size))
    return IncidentsPage(rows=rows, total=total, page=page if page <= pages else 1, pages=pages,
                         update_due=update_due, total_is_lower_bound=lower_bound)


@dataclass(frozen=True)
class PolicyRow:
    """One saved policy as the Policies page lists it (its newest version)."""

    name: str
    title: str
    version: int
    is_preset: bool
    is_default: bool
    open_incidents: int
    source: str
    yaml_text: str


@dataclass(frozen=True)
class PoliciesPage:
    """Every saved policy and the team default."""

    rows: list[PolicyRow]
    default: str

    @property
    def names(self) -> list[str]:
        """The policy names, in list order."""
        return [row.name for row in self.rows]

    def row(self, name: str) -> PolicyRow:
        """The row of policy `name`."""
        return next(row for row in self.rows if row.name == name)


def policies_page() -> PoliciesPage:
    """The Policies page's list: each policy's newest version and how many open incidents use it."""
    with read_scope() as session:
        default = policy_store.default_name(session)
        in_use = service.open_incident_counts(session)
        rows = []
        for name in policy_store.policy_names(session):
            latest = policy_store.latest_version(session, name)
            if latest is None:
                continue
            rows.append(PolicyRow(name=name, title=latest.title, version=latest.version, is_preset=latest.is_preset,
                                  is_default=name == default, open_incidents=in_use.get(name, 0),
                                  source=latest.source, yaml_text=latest.yaml_text))
    return PoliciesPage(rows=rows, default=default)


@dataclass(frozen=True)
class PolicyChange:
    """One audited change of a policy."""

    at: dt.datetime
    actor_name: str
    action: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class PolicyUse:
    """One policy's open incidents (the first hundred, and how many in all) and its audited changes."""

    open_incidents: list[IncidentRow]
    open_count: int
    history: list[PolicyChange]


def policy_use(name: str, *, now: dt.datetime) -> PolicyUse:
    """The open incidents that use policy `name` and the last fifty changes to it."""
    flt = IncidentFilter(statuses=tuple(s.value for s in OPEN_STATUSES), policy=name)
    with read_scope() as session:
        rows, count = service.search(session, flt, now=now, page_size=100)
        history = [PolicyChange(e.at, e.actor_name, e.action, dict(e.changes))
                   for e in audit.entries_for(session, "policy", name, limit=50)]
    return PolicyUse(open_incidents=rows, open_count=count, history=history)


@dataclass(frozen=True)
class TriagePage:
    """What the Triage page offers the viewer: the accounts they may open incidents on, the policies, the default."""

    accounts: list[AccountChoice]
    policies: list[str]
    default_policy: str


def triage_page(viewer: Viewer) -> TriagePage:
    """The Triage page's choices for `viewer`."""
    with read_scope() as session:
        return TriagePage(accounts=accounts_for(session, user_id=viewer.id, role=viewer.role),
                          policies=policy_store.policy_names(session),
                          default_policy=policy_store.default_name(session))


def similar_open(account_id: int | None, title: str) -> list[service.SimilarIncident]:
    """The account's open incidents whose title reads like `title` (none without an account or a title)."""
    if account_id is None or not title.strip():
        return []
    with read_scope() as session:
        return service.similar_open_incidents(session, account_id=account_id, title=title)


def triage_policy(name: str) -> tuple[Policy, int]:
    """Policy `name`, parsed, with its version number (PolicyError when it cannot be used)."""
    with read_scope() as session:
        return policy_store.load(session, name)
