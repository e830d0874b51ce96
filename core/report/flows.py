"""After the incident: the critical incident report and the blameless post-mortem.

Both documents are generated from the incident's record (milestones, clocks,
triage answers, timeline, escalations, client messages, action items), then
edited by people. Reading never writes: until someone who may edit saves it,
a document is a first draft built in memory for its editors and "not written
yet" for everyone else; the first save stores it. Each moves through one
review lifecycle (draft, in review, reviewed, closed) with who moved it and
when; saving uses the row's version, so a stale save (a first one too) is
refused and never overwrites someone else's text. The
report's sections follow the red-status playbook's incident documentation, the
post-mortem's follow the crisis-management playbook. This module also answers
the dashboard's questions: overdue post-mortem action items and earlier
post-mortems on the same account. It never imports streamlit and never reads
the clock (callers pass `now`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.account.access import may_work_on, works_on_all_accounts
from core.incident import assignments
from core.incident import flows as incidents
from core.limits import FREE_TEXT, TITLE, check_text
from core.people.access import Role
from core.people.users import Actor
from core.sla.clocks import CLOCK_LABELS, SlaClock, compact_duration
from core.triage.rules import FIELD_LABELS, FLAG_FIELDS
from core.vocabulary import STATUS_LABELS, ClockState, IncidentStatus
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

# The red-status playbook measures prevention by repeats "within 6 months";
# the red-status preset reads that as 180 days, and so do we.
REPEAT_WINDOW = dt.timedelta(days=180)
POSTMORTEM_SOURCE = "postmortem"


class ReportKind(StrEnum):
    """Which document: the critical incident report or the blameless post-mortem."""

    REPORT = "report"
    POSTMORTEM = "postmortem"


KIND_TITLES: dict[ReportKind, str] = {
    ReportKind.REPORT: "Critical incident report",
    ReportKind.POSTMORTEM: "Blameless post-mortem",
}


class ReportStatus(StrEnum):
    """Where a report stands in its review."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    REVIEWED = "reviewed"
    CLOSED = "closed"


REPORT_STATUS_LABELS: dict[ReportStatus, str] = {
    ReportStatus.DRAFT: "Draft",
    ReportStatus.IN_REVIEW: "In review",
    ReportStatus.REVIEWED: "Reviewed",
    ReportStatus.CLOSED: "Closed",
}

# Who may make each move: "editor" is anyone who may edit the report (the
# account's CSM, leads, admins); "lead" is leads and admins only. A reviewed
# report can go back to review; a closed one is final.
_R = ReportStatus
REPORT_MOVES: dict[tuple[ReportStatus, ReportStatus], str] = {
    (_R.DRAFT, _R.IN_REVIEW): "editor",
    (_R.IN_REVIEW, _R.DRAFT): "editor",
    (_R.IN_REVIEW, _R.REVIEWED): "lead",
    (_R.REVIEWED, _R.IN_REVIEW): "lead",
    (_R.REVIEWED, _R.CLOSED): "lead",
}
# Text can change while the report is being written or reviewed, not after.
EDITABLE_STATUSES = frozenset({ReportStatus.DRAFT, ReportStatus.IN_REVIEW})


@dataclass(frozen=True)
class Section:
    """One section of a document: its key, its heading and what it should say."""

    key: str
    title: str
    guidance: str


REPORT_SECTIONS: tuple[Section, ...] = (
    Section("timeline", "Incident timeline",
            "First detection, client notification, team mobilisation, resolution and the total duration."),
    Section("impact", "Impact assessment",
            "Effect on the client's operations, estimated revenue impact, users affected, availability."),
    Section("root_cause", "Root cause analysis",
            "Primary cause (technical, process or external), contributing factors, where prevention failed, "
            "lessons learned."),
    Section("resolution", "Resolution summary",
            "The fix, workarounds used, permanent changes, how the fix was validated."),
    Section("client_mitigation", "Client impact mitigation",
            "Service credits, extra services offered, relationship recovery, follow-up plan."),
    Section("prevention", "Prevention measures",
            "Technical improvements, process changes, monitoring upgrades, training."),
)
POSTMORTEM_SECTIONS: tuple[Section, ...] = (
    Section("summary", "Incident summary",
            "Timeline and duration, root cause and contributing factors, impact, how well the response worked."),
    Section("went_well", "What went well",
            "Response actions, coordination and communication, tools and processes that worked."),
    Section("improve", "What could be improved",
            "Delays, communication gaps, tool or process limits, missing knowledge. Describe systems, not people."),
)
SECTIONS: dict[ReportKind, tuple[Section, ...]] = {
    ReportKind.REPORT: REPORT_SECTIONS,
    ReportKind.POSTMORTEM: POSTMORTEM_SECTIONS,
}


class ReportError(ValueError):
    """A report change that cannot be made; the message says what to fix."""


class ReportForbidden(ReportError, PermissionError):
    """This person may not make the change (it is for the account's CSM, leads and admins)."""


class ReportConflict(ReportError):
    """Someone saved the report since it was loaded; carries their text so nothing is lost."""

    def __init__(self, message: str, their_sections: dict[str, str], their_version: int):
        super().__init__(message)
        self.their_sections = their_sections
        self.their_version = their_version


# --------------------------------------------------------------------------
# The review lifecycle (pure).


def parse_kind(value: str) -> ReportKind:
    """The ReportKind for `value`, or ReportError naming the kinds."""
    try:
        return ReportKind(value)
    except ValueError:
        raise ReportError(f"Unknown document {value!r}: use report or postmortem.") from None


def may_edit(role: Role, user_id: int, account_owner_id: int | None) -> bool:
    """True when the user may edit reports of an incident on an account with this owner."""
    return may_work_on(role, user_id, account_owner_id)


def allowed_report_moves(current: str, role: Role, editor: bool) -> list[ReportStatus]:
    """The statuses this person may move a report to from `current`, in lifecycle order."""
    frm = ReportStatus(current)
    allowed = []
    for (start, target), who in REPORT_MOVES.items():
        if start is frm and (works_on_all_accounts(role) or (who == "editor" and editor)):
            allowed.append(target)
    return [s for s in ReportStatus if s in allowed]


def check_report_move(current: str, target: str, role: Role, editor: bool) -> ReportStatus:
    """The target status when this person may make the move; ReportError saying why not otherwise."""
    try:
        to = ReportStatus(target)
    except ValueError:
        names = ", ".join(s.value for s in ReportStatus)
        raise ReportError(f"Unknown report status {target!r}: statuses are {names}.") from None
    frm = ReportStatus(current)
    who = REPORT_MOVES.get((frm, to))
    if who is None:
        nxt = ", ".join(REPORT_STATUS_LABELS[t] for (f, t) in REPORT_MOVES if f is frm) or "none (it is final)"
        raise ReportError(f"A report that is {REPORT_STATUS_LABELS[frm]} cannot become "
                          f"{REPORT_STATUS_LABELS[to]}. Possible next: {nxt}.")
    if who == "lead" and not works_on_all_accounts(role):
        raise ReportForbidden(f"Only a lead or an admin may move a report to {REPORT_STATUS_LABELS[to]}.")
    if not editor and not works_on_all_accounts(role):
        raise ReportForbidden("Only the account's CSM, leads and admins may change this report.")
    return to


# --------------------------------------------------------------------------
# The record a report is generated from.


@dataclass(frozen=True)
class RecordEvent:
    """One timeline entry of the record."""

    at: dt.datetime
    kind: str
    summary: str
    actor: str


@dataclass(frozen=True)
class RecordItem:
    """An action item of the record."""

    id: int
    title: str
    owner: str
    owner_id: int | None
    due_at: dt.datetime | None
    done_at: dt.datetime | None
    source: str
    version: int


@dataclass(frozen=True)
class IncidentRecord:
    """Everything a report needs to know about one incident, as plain values."""

    id: int
    title: str
    summary: str
    account_id: int
    account_name: str
    account_tier: str
    account_time_zone: str
    account_owner_id: int | None
    annual_contract_value: Decimal
    contract_terms: dict[str, Any]
    owner_name: str
    severity: str
    severity_label: str
    red_status: bool
    policy_name: str
    policy_title: str
    status: str
    milestones: dict[str, dt.datetime | None]
    answers: dict[str, Any]
    reasons: list[str]
    clocks: list[SlaClock]
    events: list[RecordEvent]
    escalations: list[dict[str, Any]]
    communications: list[dict[str, Any]]
    pauses: list[dict[str, Any]]
    action_items: list[RecordItem]
    assignments: dict[str, str]
    reviews: list[tuple[str, str, dt.timedelta]]
    earlier: list[EarlierPostMortem] = field(default_factory=list)

    @property
    def resolved_at(self) -> dt.datetime | None:
        """When the incident was resolved (None while open)."""
        return self.milestones.get("resolved")

    @property
    def duration(self) -> dt.timedelta | None:
        """Detection to resolution."""
        resolved = self.resolved_at
        return resolved - self.milestones["detected"] if resolved else None  # type: ignore[operator]


@dataclass(frozen=True)
class EarlierPostMortem:
    """A post-mortem of an earlier incident on the same account, within the repeat window."""

    incident_id: int
    title: str
    detected_at: dt.datetime
    resolved_at: dt.datetime | None
    status: str


def load_record(session: Session, incident_id: int, *, now: dt.datetime) -> IncidentRecord | None:
    """The incident's record at `now`, or None when there is no such incident."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    policy = incidents.policy_of(incident)
    account = session.get(Account, incident.account_id)
    assert account is not None
    names = dict(session.execute(select(User.id, User.display_name)).all())
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
        owner_name=names.get(incident.owner_id, "unassigned") if incident.owner_id else "unassigned",
        severity=incident.severity, severity_label=policy.severity_label(incident.severity),
        red_status=incident.red_status, policy_name=incident.policy_name, policy_title=policy.title,
        status=incident.status,
        milestones={m: getattr(incident, f"{m}_at") for m in
                    ("detected", "acknowledged", "client_notified", "mobilized", "mitigated", "resolved", "closed",
                     "reopened")},
        answers=dict(incident.answers), reasons=[r.get("text", "") for r in incident.triage_result.get("reasons", [])],
        clocks=incidents.clocks_of(session, incident, now),
        events=[RecordEvent(e.occurred_at, e.kind, e.summary, names.get(e.actor_id, "system")) for e in events],
        escalations=[{"at": e.escalated_at, "from": e.from_level, "to": e.to_level, "reason": e.reason,
                      "by": names.get(e.actor_id, "system")} for e in escalations],
        communications=[{"at": c.sent_at, "channel": c.channel, "subject": c.subject} for c in comms],
        pauses=[{"start": p.started_at, "end": p.ended_at, "reason": p.reason} for p in pauses],
        action_items=[RecordItem(i.id, i.title, names.get(i.owner_id, "unassigned") if i.owner_id else "unassigned",
                                 i.owner_id, i.due_at, i.done_at, i.source, i.version) for i in items],
        assignments={a.role: names.get(a.user_id, "?") for a in roles},
        reviews=[(r.key, r.title, r.after_resolution) for r in policy.reviews],
        earlier=repeat_of(session, incident_id),
    )


# --------------------------------------------------------------------------
# Generating the sections from the record (pure).


def _when(value: dt.datetime | None) -> str:
    return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if value else "not recorded"


def span(value: dt.timedelta | None) -> str:
    """A duration as people read it in a report: 45m, 3h 20m, 2d 4h."""
    return "not recorded" if value is None else compact_duration(value)


def _money(value: float | Decimal) -> str:
    return f"${value:,.0f}"


@dataclass(frozen=True)
class ServiceCredit:
    """What the contract says about service credits, and the credit it gives for this incident."""

    terms: str
    amount: Decimal | None
    explanation: str


_PER_HOUR = re.compile(r"(\d+(?:\.\d+)?)\s*% of the monthly fee per hour of outage beyond SLA", re.I)
_PER_INCIDENT = re.compile(r"(\d+(?:\.\d+)?)\s*% of the monthly fee per breached incident", re.I)


def service_credit(terms: str, annual_contract_value: Decimal, clocks: list[SlaClock]) -> ServiceCredit:
    """The service credit the contract terms give for these clocks (None when terms need a person)."""
    terms = (terms or "").strip()
    monthly = Decimal(annual_contract_value or 0) / 12
    breached = [c for c in clocks if c.state is ClockState.BREACHED]
    resolution = next((c for c in clocks if c.clock == "resolution"), None)
    if not terms or terms.lower() == "none":
        return ServiceCredit(terms or "none", Decimal(0), "The contract gives no service credits.")
    if match := _PER_HOUR.search(terms):
        pct = Decimal(match.group(1))
        if resolution is None or resolution.state is not ClockState.BREACHED or resolution.stopped_at is None:
            return ServiceCredit(terms, Decimal(0), "Resolved within the SLA: no credit is due.")
        late = resolution.stopped_at - resolution.deadline
        hours = math.ceil(late.total_seconds() / 3600)
        amount = (monthly * pct / 100 * hours).quantize(Decimal("0.01"))
        return ServiceCredit(terms, amount, f"{hours} started hour(s) beyond the resolution target × {pct}% of "
                                            f"the monthly fee ({_money(monthly)}).")
    if match := _PER_INCIDENT.search(terms):
        pct = Decimal(match.group(1))
        if not breached:
            return ServiceCredit(terms, Decimal(0), "No SLA clock was breached: no credit is due.")
        amount = (monthly * pct / 100).quantize(Decimal("0.01"))
        return ServiceCredit(terms, amount, f"{len(breached)} SLA clock(s) breached: one credit of {pct}% of the "
                                            f"monthly fee ({_money(monthly)}).")
    return ServiceCredit(terms, None, "These terms need a person to work out the credit.")


def _sentences(texts: list[str]) -> str:
    return " ".join(t.strip() if t.strip().endswith(".") else t.strip() + "." for t in texts if t.strip())


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines if line)


def _impact_lines(record: IncidentRecord) -> list[str]:
    answers = record.answers
    lines = [f"Severity: {record.severity} ({record.severity_label})"
             + (", red status" if record.red_status else "")]
    if answers.get("business_impact"):
        meaning = {"stopped": "stopped", "major": "degraded", "minor": "minimal", "none": "no effect"}
        lines.append(f"Business operations: {meaning.get(answers['business_impact'], answers['business_impact'])}")
    rate = answers.get("revenue_impact_per_hour")
    if rate is not None:
        hours = (record.duration or dt.timedelta(0)).total_seconds() / 3600
        lines.append(f"Revenue impact (estimate): {_money(rate)} per hour × {hours:.1f} h = "
                     f"{_money(float(rate) * hours)}")
    if answers.get("users_affected_pct") is not None:
        lines.append(f"Users affected: {answers['users_affected_pct']:g}% of the client's users")
    if answers.get("outage_minutes") is not None:
        lines.append(f"Outage reported at triage: {answers['outage_minutes']:g} minutes")
    if answers.get("system_affected"):
        lines.append(f"System affected: {answers['system_affected']}")
    if answers.get("workaround"):
        lines.append(f"Workaround available: {answers['workaround']}")
    if answers.get("other_customers_affected"):
        lines.append(f"Other customers affected: {answers['other_customers_affected']}")
    flags = [FIELD_LABELS.get(f, f) for f in FLAG_FIELDS if answers.get(f) is True]
    if flags:
        lines.append("Flags raised at triage: " + ", ".join(flags))
    return lines


def _clock_lines(record: IncidentRecord, states: tuple[ClockState, ...]) -> list[str]:
    lines = []
    for clock in record.clocks:
        if clock.state not in states or clock.stopped_at is None:
            continue
        took = clock.stopped_at - clock.started_at
        margin = clock.deadline - clock.stopped_at
        verdict = f"{span(margin)} inside the target" if margin >= dt.timedelta(0) else f"{span(-margin)} late"
        lines.append(f"{CLOCK_LABELS.get(clock.clock, clock.clock)}: took {span(took)}, target {span(clock.target)} "
                     f"({verdict})")
    return lines


def _timeline(record: IncidentRecord) -> str:
    m = record.milestones
    lines = [f"First detection: {_when(m['detected'])}",
             f"Client notification: {_when(m['client_notified'])}",
             f"Team mobilisation: {_when(m['mobilized'])}"]
    if m.get("mitigated"):
        lines.append(f"Workaround in place: {_when(m['mitigated'])}")
    lines += [f"Resolution achieved: {_when(m['resolved'])}", f"Total duration: {span(record.duration)}"]
    key = [e for e in record.events if e.kind in ("milestone", "status", "escalation", "severity", "pause")]
    text = _bullets(lines)
    if key:
        text += "\n\nKey events:\n" + _bullets([f"{_when(e.at)}: {e.summary}" for e in key[:20]])
    return text


def _root_cause(record: IncidentRecord) -> str:
    lines = []
    if record.summary:
        lines.append(f"What the client saw: {record.summary}")
    if record.reasons:
        lines.append(f"Why it was classified {record.severity}: {_sentences(record.reasons)}")
    notes = [e for e in record.events if e.kind == "note"]
    text = _bullets(lines)
    if notes:
        text += "\n\nFindings noted during the incident:\n" + _bullets([f"{_when(e.at)} ({e.actor}): {e.summary}"
                                                                       for e in notes])
    text += ("\n\nStill to write: the primary cause (technical, process or external), contributing factors, "
             "where prevention failed and the lessons learned.")
    return text.strip()


def _resolution(record: IncidentRecord) -> str:
    m = record.milestones
    lines = [f"Resolved {_when(m['resolved'])}, {span(record.duration)} after detection"]
    if m.get("mitigated"):
        lines.append(f"Workaround in place {_when(m['mitigated'])}, "
                     f"{span(m['mitigated'] - m['detected'])} after detection")  # type: ignore[operator]
    if m.get("reopened"):
        lines.append(f"Reopened {_when(m['reopened'])}: the first fix did not hold")
    for esc in record.escalations:
        lines.append(f"Escalated {esc['from'] or 'none'} → {esc['to']} {_when(esc['at'])}: {esc['reason']}")
    for pause in record.pauses:
        lines.append(f"Clocks paused {_when(pause['start'])} to {_when(pause['end'])}: {pause['reason']}")
    done = [i for i in record.action_items if i.source != POSTMORTEM_SOURCE and i.done_at]
    for item in done:
        lines.append(f"Done during the incident: {item.title} ({item.owner}, {_when(item.done_at)})")
    return _bullets(lines)


def _client_mitigation(record: IncidentRecord) -> str:
    credit = service_credit(str(record.contract_terms.get("service_credits", "")), record.annual_contract_value,
                            record.clocks)
    lines = []
    if credit.amount is not None:
        lines.append(f"Service credits: {_money(credit.amount)} ({credit.explanation} Contract: {credit.terms})")
    else:
        lines.append(f"Service credits: to be worked out by hand ({credit.terms})")
    late = _clock_lines(record, (ClockState.BREACHED,))
    if late:
        lines.append("Commitments missed: " + "; ".join(late))
    lines.append(f"Client messages sent during the incident: {len(record.communications)}")
    for comm in record.communications[-5:]:
        lines.append(f"{_when(comm['at'])} by {comm['channel']}: {comm['subject']}")
    if record.resolved_at and record.reviews:
        plan = "; ".join(f"{title} on {_when(record.resolved_at + after)}" for _key, title, after in record.reviews)
        lines.append(f"Follow-up plan: {plan}")
    return _bullets(lines)


def _prevention(record: IncidentRecord) -> str:
    lines = []
    for item in record.action_items:
        if item.source == POSTMORTEM_SOURCE or not item.done_at:
            state = f"done {_when(item.done_at)}" if item.done_at else f"due {_when(item.due_at)}"
            lines.append(f"{item.title} (owner {item.owner}, {state})")
    if record.earlier:
        lines.append(f"This account had {len(record.earlier)} earlier incident(s) with a post-mortem in the "
                     f"previous {REPEAT_WINDOW.days} days: "
                     + ", ".join(f"#{e.incident_id} {e.title}" for e in record.earlier)
                     + ". Check why their prevention measures did not stop this one.")
    if not lines:
        lines.append("No prevention measure recorded yet: add them as post-mortem action items with an owner "
                     "and a due date.")
    return _bullets(lines)


def _pm_summary(record: IncidentRecord) -> str:
    met = [c for c in record.clocks if c.state is ClockState.MET]
    breached = [c for c in record.clocks if c.state is ClockState.BREACHED]
    lines = [f"{record.title} at {record.account_name} ({record.account_tier})",
             f"Detected {_when(record.milestones['detected'])}, resolved {_when(record.resolved_at)}: "
             f"{span(record.duration)}",
             f"Severity {record.severity} ({record.severity_label})" + (", red status" if record.red_status else "")]
    lines += [line for line in _impact_lines(record)[1:4]]
    if record.reasons:
        lines.append(f"Classified because: {_sentences(record.reasons)}")
    lines.append(f"Response: {len(met)} SLA clock(s) met, {len(breached)} breached")
    return _bullets(lines) + "\n\nRoot cause and contributing factors: see the critical incident report."


def _went_well(record: IncidentRecord) -> str:
    lines = _clock_lines(record, (ClockState.MET,))
    if record.escalations:
        lines.append(f"Escalated {len(record.escalations)} time(s); highest level reached "
                     f"{record.escalations[-1]['to']}")
    if record.communications:
        lines.append(f"The client received {len(record.communications)} message(s) during the incident")
    if record.assignments:
        lines.append("Roles filled: " + ", ".join(f"{role.replace('_', ' ')} {name}"
                                                  for role, name in record.assignments.items()))
    return _bullets(lines) or "- The record shows no clock met in time: say what helped."


def _improve(record: IncidentRecord) -> str:
    lines = _clock_lines(record, (ClockState.BREACHED,))
    if record.milestones.get("reopened"):
        lines.append("The incident was reopened: the first fix did not hold")
    if not record.milestones.get("client_notified"):
        lines.append("No client notification was recorded")
    if record.pauses:
        paused = sum(((p["end"] or p["start"]) - p["start"] for p in record.pauses), dt.timedelta(0))
        lines.append(f"Clocks were paused for {span(paused)} in total: check whether the waits could be shorter")
    return _bullets(lines) or "- Every SLA clock was met: look for what still cost time or caused confusion."


_GENERATORS = {
    "timeline": _timeline, "impact": lambda r: _bullets(_impact_lines(r)), "root_cause": _root_cause,
    "resolution": _resolution, "client_mitigation": _client_mitigation, "prevention": _prevention,
    "summary": _pm_summary, "went_well": _went_well, "improve": _improve,
}


def generate_sections(record: IncidentRecord, kind: ReportKind) -> dict[str, str]:
    """Every section of the document, written from the record."""
    return {section.key: _GENERATORS[section.key](record) for section in SECTIONS[kind]}


# --------------------------------------------------------------------------
# The first draft (in memory) and writes.

# The version a person editing the not-yet-saved first draft started from; a
# stored row starts at 1.
UNSAVED_VERSION = 0


def _report_entity(report: IncidentReport) -> str:
    return f"{report.incident_id}:{report.kind}"


def _get(session: Session, incident_id: int, kind: ReportKind, *, lock: bool = False) -> IncidentReport | None:
    stmt = select(IncidentReport).where(IncidentReport.incident_id == incident_id, IncidentReport.kind == kind.value)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def _resolved_record(session: Session, incident_id: int, kind: ReportKind, *, now: dt.datetime) -> IncidentRecord:
    """The record of a resolved incident; ReportError saying why there is no document otherwise."""
    record = load_record(session, incident_id, now=now)
    if record is None:
        raise ReportError(f"There is no incident #{incident_id}. Check the number in the link.")
    if record.resolved_at is None:
        raise ReportError(f"Incident #{incident_id} is not resolved yet: the {KIND_TITLES[kind].lower()} is written "
                          "after resolution.")
    return record


def draft_report(record: IncidentRecord, kind: ReportKind, *, actor: Actor, now: dt.datetime) -> IncidentReport:
    """The first draft written from the record, in memory only: it is not added to any session."""
    return IncidentReport(incident_id=record.id, kind=kind.value, status=ReportStatus.DRAFT.value,
                          sections=generate_sections(record, kind), status_changed_at=now,
                          status_changed_by_id=actor.id, created_at=now, created_by_id=actor.id, updated_at=now,
                          updated_by_id=actor.id, version=UNSAVED_VERSION)


def _may_edit(record: IncidentRecord, role: Role, actor: Actor) -> bool:
    return actor.id is not None and may_edit(role, actor.id, record.account_owner_id)


def _saved_or_draft(session: Session, record: IncidentRecord, kind: ReportKind, role: Role, actor: Actor,
                    now: dt.datetime) -> IncidentReport | None:
    saved = _get(session, record.id, kind)
    if saved is not None:
        return saved
    return draft_report(record, kind, actor=actor, now=now) if _may_edit(record, role, actor) else None


def get_or_draft_report(session: Session, incident_id: int, kind: ReportKind | str, *, role: Role, actor: Actor,
                        now: dt.datetime) -> IncidentReport | None:
    """The saved report; else an unsaved draft for someone who may edit it, None for anyone else. Never writes."""
    kind = parse_kind(str(kind))
    return _saved_or_draft(session, _resolved_record(session, incident_id, kind, now=now), kind, role, actor, now)


def _check_editor(session: Session, incident: Incident, role: Role, user_id: int | None) -> bool:
    owner = session.get(Account, incident.account_id).owner_id  # type: ignore[union-attr]
    return user_id is not None and may_edit(role, user_id, owner)


def _stale(session: Session, report: IncidentReport, kind: ReportKind, expected_version: int) -> ReportConflict:
    who = session.get(User, report.updated_by_id).display_name if report.updated_by_id else "someone"
    started = ("the first draft, before anyone had saved it" if expected_version == UNSAVED_VERSION
               else f"version {expected_version}, it is now {report.version}")
    return ReportConflict(
        f"{who} saved this {KIND_TITLES[kind].lower()} at {_when(report.updated_at)} while you were editing "
        f"(you started from {started}). Your text was not saved and is still in the form; compare it with theirs "
        "below, merge, and save again.", dict(report.sections), report.version)


def _cleaned(kind: ReportKind, sections: dict[str, str]) -> dict[str, str]:
    known = {s.key for s in SECTIONS[kind]}
    unknown = set(sections) - known
    if unknown:
        raise ReportError(f"Unknown section(s) {', '.join(sorted(unknown))}; sections are {', '.join(sorted(known))}.")
    cleaned = {key: text.strip() for key, text in sections.items()}
    empty = [s.title for s in SECTIONS[kind] if s.key in cleaned and not cleaned[s.key]]
    if empty:
        raise ReportError(f"Write something in: {', '.join(empty)} (say 'none' if there is nothing to report).")
    return cleaned


def _first_save(session: Session, *, incident_id: int, kind: ReportKind, sections: dict[str, str], role: Role,
                actor: Actor, now: dt.datetime, expected_version: int) -> IncidentReport:
    record = _resolved_record(session, incident_id, kind, now=now)
    if not _may_edit(record, role, actor):
        raise ReportForbidden("Only the account's CSM, leads and admins may edit this report.")
    cleaned = _cleaned(kind, sections)
    report = draft_report(record, kind, actor=actor, now=now)
    edited = sorted(k for k, v in cleaned.items() if report.sections.get(k) != v)
    report.sections = {**report.sections, **cleaned}
    try:
        # Two people saving the first draft at once: the unique (incident, kind)
        # lets one row in; the other person gets the conflict with its text.
        with session.begin_nested():
            session.add(report)
            session.flush()
    except IntegrityError:
        theirs = _get(session, incident_id, kind)
        assert theirs is not None
        raise _stale(session, theirs, kind, expected_version) from None
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident_report",
                 entity_id=_report_entity(report), action="create",
                 changes={"status": [None, ReportStatus.DRAFT.value], **{k: ["…", "…"] for k in edited}}, at=now)
    return report


def save_sections(
    session: Session, *, incident_id: int, kind: ReportKind | str, sections: dict[str, str], role: Role,
    actor: Actor, now: dt.datetime, expected_version: int,
) -> IncidentReport:
    """Save edited section texts; the first save stores the draft. A stale save is a ReportConflict with their text.

    The first save (no row yet) writes the draft generated from the record now,
    with `sections` applied; empty `sections` stores the draft as generated.
    """
    kind = parse_kind(str(kind))
    report = _get(session, incident_id, kind, lock=True)
    if report is None:
        return _first_save(session, incident_id=incident_id, kind=kind, sections=sections, role=role, actor=actor,
                           now=now, expected_version=expected_version)
    incident = session.get(Incident, incident_id)
    assert incident is not None
    if not _check_editor(session, incident, role, actor.id):
        raise ReportForbidden("Only the account's CSM, leads and admins may edit this report.")
    if report.version != expected_version:
        raise _stale(session, report, kind, expected_version)
    if ReportStatus(report.status) not in EDITABLE_STATUSES:
        raise ReportError(f"The report is {REPORT_STATUS_LABELS[ReportStatus(report.status)]}: a lead must move it "
                          "back to review before its text can change.")
    cleaned = _cleaned(kind, sections)
    changed = {k: [report.sections.get(k, ""), v] for k, v in cleaned.items() if report.sections.get(k) != v}
    if not changed:
        raise ReportError("Nothing changed: edit a section before saving.")
    # Only what people write is held to the limit: a generated section that quotes many long reasons may be longer.
    titles = {s.key: s.title for s in SECTIONS[kind]}
    for key in changed:
        check_text(cleaned[key], FREE_TEXT, titles[key], ReportError)
    report.sections = {**report.sections, **cleaned}
    report.updated_at, report.updated_by_id = now, actor.id
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident_report",
                 entity_id=_report_entity(report), action="edit", changes={k: ["…", "…"] for k in changed}, at=now)
    session.flush()
    return report


def move_report(
    session: Session, *, incident_id: int, kind: ReportKind | str, target: str, role: Role, actor: Actor,
    now: dt.datetime, expected_version: int | None = None,
) -> IncidentReport:
    """Move a saved report along its review lifecycle, stamping who moved it and when."""
    kind = parse_kind(str(kind))
    report = _get(session, incident_id, kind, lock=True)
    if report is None:
        # Nobody has saved it, so nobody has read it: sending it on would put an unread draft up for review.
        record = _resolved_record(session, incident_id, kind, now=now)
        if not _may_edit(record, role, actor):
            raise ReportForbidden("Only the account's CSM, leads and admins may change this report.")
        raise ReportError(f"The {KIND_TITLES[kind].lower()} is not written yet: check the draft and save it "
                          "first, then move it on.")
    incident = session.get(Incident, incident_id)
    assert incident is not None
    if expected_version is not None and report.version != expected_version:
        raise ReportConflict(f"The report changed since you loaded it (version {expected_version}, now "
                             f"{report.version}): check the new text and status, then move it again.",
                             dict(report.sections), report.version)
    to = check_report_move(report.status, target, role, _check_editor(session, incident, role, actor.id))
    before = report.status
    report.status, report.status_changed_at, report.status_changed_by_id = to.value, now, actor.id
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident_report",
                 entity_id=_report_entity(report), action="status", changes={"status": [before, to.value]}, at=now)
    incidents.add_event(session, incident_id, kind="report", actor=actor, occurred_at=now, now=now,
                        summary=f"{KIND_TITLES[kind]}: {REPORT_STATUS_LABELS[ReportStatus(before)]} → "
                                f"{REPORT_STATUS_LABELS[to]}")
    session.flush()
    return report


def add_postmortem_action(
    session: Session, *, incident_id: int, title: str, owner_id: int | None, due_at: dt.datetime | None,
    role: Role, actor: Actor, now: dt.datetime,
) -> int:
    """Add a post-mortem action item; it needs an owner and a due date. Returns its id."""
    title = check_text(title, TITLE, "The action item", ReportError)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise ReportError(f"Incident {incident_id} does not exist.")
    if not _check_editor(session, incident, role, actor.id):
        raise ReportForbidden("Only the account's CSM, leads and admins may add post-mortem actions.")
    if owner_id is None or session.get(User, owner_id) is None:
        raise ReportError("Choose who owns the action item.")
    if due_at is None:
        raise ReportError("Give the action item a due date.")
    return assignments.add_action_item(session, incident_id=incident_id, title=title, owner_id=owner_id,
                                       due_at=due_at, actor=actor, now=now, source=POSTMORTEM_SOURCE)


def set_postmortem_action_done(
    session: Session, *, item_id: int, done: bool, role: Role, actor: Actor, now: dt.datetime,
    expected_version: int | None = None,
) -> None:
    """Mark a post-mortem action item done or not done; its owner, the account's CSM, leads and admins may."""
    item = session.get(ActionItem, item_id)
    if item is None:
        raise ReportError(f"Action item {item_id} does not exist.")
    incident = session.get(Incident, item.incident_id)
    if item.owner_id != actor.id and not _check_editor(session, incident, role, actor.id):  # type: ignore[arg-type]
        raise ReportForbidden("Only the item's owner, the account's CSM, leads and admins may tick it off.")
    assignments.set_action_done(session, item_id=item_id, done=done, actor=actor, now=now,
                                expected_version=expected_version)


# --------------------------------------------------------------------------
# Reads for pages and the dashboard.


@dataclass(frozen=True)
class StatusChange:
    """One move of a report's status."""

    at: dt.datetime
    by: str
    before: str | None
    after: str


@dataclass(frozen=True)
class ReportView:
    """Everything a report page shows, as plain values.

    `saved` is False until someone who may edit saves the document: its editors
    then see the first draft written from the record (`sections`), everyone
    else sees that it is not written yet (`sections` empty).
    """

    kind: ReportKind
    record: IncidentRecord
    status: str
    sections: dict[str, str]
    version: int
    updated_at: dt.datetime | None
    updated_by: str
    status_changed_at: dt.datetime | None
    status_changed_by: str
    history: list[StatusChange]
    saved: bool
    editor: bool

    @property
    def editable_text(self) -> bool:
        """True while the text may still change (draft or in review)."""
        return ReportStatus(self.status) in EDITABLE_STATUSES

    @property
    def postmortem_items(self) -> list[RecordItem]:
        """The post-mortem's action items."""
        return [i for i in self.record.action_items if i.source == POSTMORTEM_SOURCE]


def report_view(session: Session, incident_id: int, kind: ReportKind | str, *, role: Role, actor: Actor,
                now: dt.datetime) -> ReportView:
    """The report page's read model for this person; ReportError when the incident has no documents. Never writes."""
    kind = parse_kind(str(kind))
    record = _resolved_record(session, incident_id, kind, now=now)
    editor = _may_edit(record, role, actor)
    report = _saved_or_draft(session, record, kind, role, actor, now)
    if report is None or report.version == UNSAVED_VERSION:
        return ReportView(kind=kind, record=record, status=ReportStatus.DRAFT.value,
                          sections=dict(report.sections) if report is not None else {}, version=UNSAVED_VERSION,
                          updated_at=None, updated_by="", status_changed_at=None, status_changed_by="", history=[],
                          saved=False, editor=editor)
    names = dict(session.execute(select(User.id, User.display_name)).all())
    entries = audit.entries_for(session, "incident_report", _report_entity(report))
    history = [StatusChange(e.at, e.actor_name, *(e.changes.get("status") or [None, ""]))
               for e in reversed(entries) if "status" in e.changes]
    return ReportView(kind=kind, record=record, status=report.status, sections=dict(report.sections),
                      version=report.version, updated_at=report.updated_at,
                      updated_by=names.get(report.updated_by_id, "system"), status_changed_at=report.status_changed_at,
                      status_changed_by=names.get(report.status_changed_by_id, "system"), history=history,
                      saved=True, editor=editor)


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


def _overdue_query(*, owner_id: int | None, account_ids: list[int] | None, now: dt.datetime, source: str | None):
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
    rows = session.execute(stmt.order_by(ActionItem.due_at, ActionItem.id).limit(limit))
    return [OverdueActionItem(*row) for row in rows]


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


def incident_status_label(status: str) -> str:
    """The label of an incident status (for report headers)."""
    return STATUS_LABELS[IncidentStatus(status)]
