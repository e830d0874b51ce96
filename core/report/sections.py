"""The sections of the report and the post-mortem, and how their first draft is written from the record.

The report's sections follow the red-status playbook's incident documentation,
the post-mortem's follow the crisis-management playbook. `generate_sections`
writes every section from an `IncidentRecord` (milestones, clocks, triage
answers, timeline, escalations, client messages, action items); people edit
the text afterwards. The draft is internal: its times are written in the zone
of the person it is drafted for (their own or UTC, core.people.time_display),
each with the zone's abbreviation, and the first section says which zone; text
for the client (core.report.exports.recovery_summary) uses the client's zone.
Also the service credit the contract terms give. Pure: no database work, never
reads the clock, never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from core.report.lifecycle import ReportKind
from core.report.record import POSTMORTEM_SOURCE, REPEAT_WINDOW, IncidentRecord
from core.sla.clocks import SlaClock, compact_duration
from core.triage.rules import FIELD_LABELS, FLAG_FIELDS
from core.vocabulary import ClockState
from core.zones import UTC_NAME, zone_or_none


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


def when(value: dt.datetime | None, time_zone: str = UTC_NAME) -> str:
    """A moment as a report writes it, in `time_zone`: 2026-01-02 11:30 CET, or "not recorded"."""
    if value is None:
        return "not recorded"
    local = value.astimezone(zone_or_none(time_zone) or dt.UTC)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def zone_sentence(time_zone: str) -> str:
    """The sentence that says which zone a text's times are in."""
    return f"Times are in {time_zone if zone_or_none(time_zone) else UTC_NAME}."


# How a generator writes a moment: `when` bound to the zone the draft is written in.
When = Callable[[dt.datetime | None], str]


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
        lines.append(f"{clock.label}: took {span(took)}, target {span(clock.target)} "
                     f"({verdict})")
    return lines


def _timeline(record: IncidentRecord, when: When) -> str:
    m = record.milestones
    lines = [f"First detection: {when(m['detected'])}",
             f"Client notification: {when(m['client_notified'])}",
             f"Team mobilisation: {when(m['mobilized'])}"]
    if m.get("mitigated"):
        lines.append(f"Workaround in place: {when(m['mitigated'])}")
    lines += [f"Resolution achieved: {when(m['resolved'])}", f"Total duration: {span(record.duration)}"]
    key = [e for e in record.events if e.kind in ("milestone", "status", "escalation", "severity", "pause")]
    text = _bullets(lines)
    if key:
        text += "\n\nKey events:\n" + _bullets([f"{when(e.at)}: {e.summary}" for e in key[:20]])
    return text


def _root_cause(record: IncidentRecord, when: When) -> str:
    lines = []
    if record.summary:
        lines.append(f"What the client saw: {record.summary}")
    if record.reasons:
        lines.append(f"Why it was classified {record.severity}: {_sentences(record.reasons)}")
    notes = [e for e in record.events if e.kind == "note"]
    text = _bullets(lines)
    if notes:
        text += "\n\nFindings noted during the incident:\n" + _bullets([f"{when(e.at)} ({e.actor}): {e.summary}"
                                                                       for e in notes])
    text += ("\n\nStill to write: the primary cause (technical, process or external), contributing factors, "
             "where prevention failed and the lessons learned.")
    return text.strip()


def _resolution(record: IncidentRecord, when: When) -> str:
    m = record.milestones
    lines = [f"Resolved {when(m['resolved'])}, {span(record.duration)} after detection"]
    mitigated = m.get("mitigated")
    if mitigated:
        lines.append(f"Workaround in place {when(mitigated)}, {span(mitigated - record.detected_at)} after detection")
    if m.get("reopened"):
        lines.append(f"Reopened {when(m['reopened'])}: the first fix did not hold")
    for esc in record.escalations:
        lines.append(f"Escalated {esc['from'] or 'none'} → {esc['to']} {when(esc['at'])}: {esc['reason']}")
    for pause in record.pauses:
        lines.append(f"Clocks paused {when(pause['start'])} to {when(pause['end'])}: {pause['reason']}")
    done = [i for i in record.action_items if i.source != POSTMORTEM_SOURCE and i.done_at]
    for item in done:
        lines.append(f"Done during the incident: {item.title} ({item.owner}, {when(item.done_at)})")
    return _bullets(lines)


def _client_mitigation(record: IncidentRecord, when: When) -> str:
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
        lines.append(f"{when(comm['at'])} by {comm['channel']}: {comm['subject']}")
    if record.resolved_at and record.reviews:
        plan = "; ".join(f"{title} on {when(record.resolved_at + after)}" for _key, title, after in record.reviews)
        lines.append(f"Follow-up plan: {plan}")
    return _bullets(lines)


def _prevention(record: IncidentRecord, when: When) -> str:
    lines = []
    for item in record.action_items:
        if item.source == POSTMORTEM_SOURCE or not item.done_at:
            state = f"done {when(item.done_at)}" if item.done_at else f"due {when(item.due_at)}"
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


def _pm_summary(record: IncidentRecord, when: When) -> str:
    met = [c for c in record.clocks if c.state is ClockState.MET]
    breached = [c for c in record.clocks if c.state is ClockState.BREACHED]
    lines = [f"{record.title} at {record.account_name} ({record.account_tier})",
             f"Detected {when(record.milestones['detected'])}, resolved {when(record.resolved_at)}: "
             f"{span(record.duration)}",
             f"Severity {record.severity} ({record.severity_label})" + (", red status" if record.red_status else "")]
    lines += [line for line in _impact_lines(record)[1:4]]
    if record.reasons:
        lines.append(f"Classified because: {_sentences(record.reasons)}")
    lines.append(f"Response: {len(met)} SLA clock(s) met, {len(breached)} breached")
    return _bullets(lines) + "\n\nRoot cause and contributing factors: see the critical incident report."


def _went_well(record: IncidentRecord, _when: When) -> str:
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


def _improve(record: IncidentRecord, _when: When) -> str:
    lines = _clock_lines(record, (ClockState.BREACHED,))
    if record.milestones.get("reopened"):
        lines.append("The incident was reopened: the first fix did not hold")
    if not record.milestones.get("client_notified"):
        lines.append("No client notification was recorded")
    if record.pauses:
        paused = sum(((p["end"] or p["start"]) - p["start"] for p in record.pauses), dt.timedelta(0))
        lines.append(f"Clocks were paused for {span(paused)} in total: check whether the waits could be shorter")
    return _bullets(lines) or "- Every SLA clock was met: look for what still cost time or caused confusion."


_GENERATORS: dict[str, Callable[[IncidentRecord, When], str]] = {
    "timeline": _timeline, "impact": lambda r, _when: _bullets(_impact_lines(r)), "root_cause": _root_cause,
    "resolution": _resolution, "client_mitigation": _client_mitigation, "prevention": _prevention,
    "summary": _pm_summary, "went_well": _went_well, "improve": _improve,
}


def generate_sections(record: IncidentRecord, kind: ReportKind, *, time_zone: str = UTC_NAME) -> dict[str, str]:
    """Every section of the document, written from the record with its times in `time_zone`."""
    def at(value: dt.datetime | None) -> str:
        return when(value, time_zone)

    sections = {section.key: _GENERATORS[section.key](record, at) for section in SECTIONS[kind]}
    first = SECTIONS[kind][0].key
    sections[first] = f"{zone_sentence(time_zone)}\n\n{sections[first]}"
    return sections
