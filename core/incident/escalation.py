"""Which escalation level an incident must have reached, by when, and the handoff to that level.

`escalation_status` answers, for one incident at one moment, "which level must
this case be at now, is it late, and what is the next step up if nothing
changes?" from the policy's escalation ladder: levels implied by the severity,
by rules and level triggers matching the triage answers, by time triggers
("still unresolved after 1h") and by breached clocks the policy escalates on.
`handoff_summary` writes the plain-text briefing a person hands to that level.
Both are pure: `now` is a parameter, nothing here reads the clock, touches
storage, sends anything or imports streamlit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from core.policy.calendar import add_working_time
from core.policy.notation import duration_notation
from core.policy.rules import level_rank
from core.policy.schema import Contact, EscalationLevel, Policy
from core.sla.clocks import IncidentFacts, compute_clocks
from core.triage.rules import Answers
from core.vocabulary import ClockState


@dataclass(frozen=True)
class EscalationStatus:
    """Where an incident stands on the escalation ladder at one moment."""

    required_level: str | None
    current_level: str | None
    overdue: bool
    # When the required level falls due; None once it is reached, when the
    # policy sets no escalation deadline for it, or after resolution.
    due_at: dt.datetime | None
    next_level: str | None
    next_due_at: dt.datetime | None
    reasons: list[str] = field(default_factory=list)
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True)
class _Source:
    """One thing that requires a level: from `since` on, due by `due_at` (None: no deadline)."""

    level: str
    since: dt.datetime
    due_at: dt.datetime | None
    text: str
    section: str


def escalation_status(
    *,
    facts: IncidentFacts,
    policy: Policy,
    answers: Answers,
    triage_level: str | None,
    now: dt.datetime,
) -> EscalationStatus:
    """Return the level the incident must have reached at `now`, whether that is overdue, and what comes next.

    Semantics:

    - Condition-based levels apply from detection: the level the severity
      implies, the level of any rule or level trigger the answers match, and
      `triage_level` (the level recorded at triage). Each is due at the
      deadline of the policy's escalation clock (detection + the incident's
      escalation target on the escalation calendar, moved out by pauses when
      the policy lets that clock pause, exactly as `compute_clocks` shows
      it). Without an escalation target the level is required but has no
      deadline, so it is never overdue.
    - Time-based levels: a level whose `time_trigger.unresolved_for` (picked
      for the incident's severity and tier) has elapsed since detection on the
      escalation calendar is required from that moment, and due at it, if the
      incident was not resolved by then. Pauses do not delay time triggers:
      the playbooks count hours unresolved.
    - `escalate_on_breach`: when a listed clock is breached (per
      `compute_clocks` at `now`, before any resolution), the case must be one
      level above the highest level the other sources required at the breach
      moment, capped at the top level, due at that moment. It is measured from
      the required level and not from `current_level`, so that escalating in
      answer to a breach never itself demands a further escalation.
    - The highest level wins. `due_at` is the earliest due time among the
      sources of that level, and is None once `current_level` has reached it.
      `overdue` means `current_level` is below the required level and `now` is
      past `due_at`.
    - A resolved incident (resolved at or before `now`) requires nothing after
      its resolution: `required_level` is what it had to reach by then, and
      `due_at`, `overdue` and the next step are cleared.
    - `next_level` / `next_due_at`: the earliest future time trigger, or the
      breach of a running clock the policy escalates on, that would raise the
      requirement above both the required and the current level if the
      incident stays unresolved (the highest level when two fall at once).
      A paused clock has no fixed breach moment and is left out.
    """
    resolved_at = facts.resolved_at if facts.resolved_at is not None and facts.resolved_at <= now else None

    conditions = _condition_sources(facts, policy, answers, triage_level, now)
    timed = _time_sources(facts, policy)
    active = conditions + [s for s in timed if s.since <= now and (resolved_at is None or s.since < resolved_at)]

    clocks = compute_clocks(facts, policy, now)
    breaches = [c for c in clocks if c.clock in policy.escalate_on_breach]
    for clock in breaches:
        # A breach counts only if it happened while the incident was still open.
        if clock.state is ClockState.BREACHED and (resolved_at is None or clock.deadline < resolved_at):
            bumped = _one_above(policy, _highest(conditions + timed, clock.deadline))
            if bumped is not None:
                active.append(_breach_source(policy, clock.label, bumped, clock.deadline))

    required = max((s.level for s in active), key=level_rank, default=None)
    reached = level_rank(facts.current_level) >= level_rank(required)
    due_at = None
    if required is not None and not reached and resolved_at is None:
        due_at = min((s.due_at for s in active if s.level == required and s.due_at is not None), default=None)
    overdue = due_at is not None and now > due_at

    next_level = next_due_at = None
    if resolved_at is None:
        floor = max(level_rank(required), level_rank(facts.current_level))
        upcoming = [(s.since, s.level) for s in timed if s.since > now]
        for clock in breaches:
            if clock.state is ClockState.RUNNING and clock.deadline > now:
                bumped = _one_above(policy, _highest(conditions + timed, clock.deadline))
                if bumped is not None:
                    upcoming.append((clock.deadline, bumped))
        upcoming = [(moment, level) for moment, level in upcoming if level_rank(level) > floor]
        if upcoming:
            next_due_at = min(moment for moment, _ in upcoming)
            next_level = max((lvl for moment, lvl in upcoming if moment == next_due_at), key=level_rank)

    ordered = sorted(active, key=lambda s: (-level_rank(s.level), s.since))
    reasons = [_describe(policy, s) for s in ordered]
    return EscalationStatus(
        required_level=required,
        current_level=facts.current_level,
        overdue=overdue,
        due_at=due_at,
        next_level=next_level,
        next_due_at=next_due_at,
        reasons=list(dict.fromkeys(reasons)),
        contacts=policy.level(required).contacts if required else (),
    )


def _condition_sources(
    facts: IncidentFacts, policy: Policy, answers: Answers, triage_level: str | None, now: dt.datetime
) -> list[_Source]:
    due = _escalation_deadline(facts, policy, now)
    detected = facts.detected_at
    sources = []
    implied = policy.severity(facts.severity)
    if implied.escalation_level:
        sources.append(
            _Source(
                implied.escalation_level,
                detected,
                due,
                f"Every {implied.id} ({implied.label}) incident must reach this level.",
                implied.section,
            )
        )
    for rule in policy.rules:
        if rule.then.escalation_level and rule.when.matches(answers):
            sources.append(_Source(rule.then.escalation_level, detected, due, rule.reason, rule.section))
    for level in policy.escalation_levels:
        for trigger in level.triggers:
            if trigger.when.matches(answers):
                sources.append(_Source(level.id, detected, due, trigger.reason, trigger.section))
    if triage_level and triage_level not in {s.level for s in sources}:
        # Recorded at triage from answers or a severity that have changed since.
        level = policy.level(triage_level)
        sources.append(_Source(triage_level, detected, due, "Set at triage.", level.section))
    return sources


def _time_sources(facts: IncidentFacts, policy: Policy) -> list[_Source]:
    calendar = policy.calendar_for("escalation")
    sources = []
    for level in policy.escalation_levels:
        if level.time_trigger is None:
            continue
        after = level.time_trigger.unresolved_for.pick(facts.severity, facts.tier)
        if after is None:
            continue
        moment = add_working_time(facts.detected_at, after, calendar)
        text = f"Still unresolved {duration_notation(after)} after detection (from {_when(moment)})."
        if level.time_trigger.note:
            text += f" {level.time_trigger.note}"
        sources.append(_Source(level.id, moment, moment, text, level.section))
    return sources


def _escalation_deadline(facts: IncidentFacts, policy: Policy, now: dt.datetime) -> dt.datetime | None:
    # The escalation clock itself says when a level required at triage is due,
    # so that this deadline and the clock shown on the incident never differ.
    probe = dataclasses.replace(facts, required_level=facts.required_level or "L1", escalated_at=None)
    for clock in compute_clocks(probe, policy, now):
        if clock.clock == "escalation":
            return clock.deadline
    return None


def _highest(sources: list[_Source], moment: dt.datetime) -> str | None:
    return max((s.level for s in sources if s.since <= moment), key=level_rank, default=None)


def _one_above(policy: Policy, level_id: str | None) -> str | None:
    ids = [level.id for level in policy.escalation_levels]
    if not ids:
        return None
    return ids[min(level_rank(level_id), len(ids) - 1)]


def _breach_source(policy: Policy, clock_label: str, level_id: str, moment: dt.datetime) -> _Source:
    return _Source(
        level_id,
        moment,
        moment,
        f"The '{clock_label}' target was missed at {_when(moment)}; the policy moves the case up one level.",
        policy.level(level_id).section,
    )


def _describe(policy: Policy, source: _Source) -> str:
    return f"{source.level} ({policy.level(source.level).name}): {source.text} [{source.section}]"


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


# --------------------------------------------------------------------------
# The handoff.


def handoff_summary(
    *,
    level: str,
    policy: Policy,
    incident_title: str,
    account_name: str,
    tier: str | None,
    severity: str,
    severity_label: str,
    detected_at: dt.datetime,
    status: str,
    actions_taken: list[str],
    evidence: list[str],
    business_impact: str,
    revenue_per_hour: float | None,
    elapsed: dt.timedelta,
    recommendations: list[str],
) -> str:
    """Write the plain-text handoff for passing the incident to `level`, ending with whom to contact there.

    Times are written in the zone `detected_at` carries, named explicitly.
    The top level of the policy (executives) also gets the financial impact
    (revenue per hour times the hours elapsed) and the recommendations.
    """
    target = policy.level(level)
    executive = target.id == policy.escalation_levels[-1].id
    lines = [
        f"Handoff to {target.id} ({target.name}) - {policy.title}",
        "",
        "Issue summary",
        f"  {incident_title}",
        f"  Account: {account_name} ({f'{tier} plan' if tier else 'plan not recorded'})",
        f"  Severity: {severity} ({severity_label})",
        f"  Detected: {_when(detected_at)}, open for {_span(elapsed)}",
        "",
        "Actions taken",
        *_bullets(actions_taken, "Nothing recorded yet."),
        "",
        "Current status",
        f"  {status.strip() or 'Not recorded.'}",
        "",
        "Logs and evidence",
        *_bullets(evidence, "None attached."),
        "",
        "Business impact",
        f"  {business_impact.strip() or 'Not described.'}",
    ]
    if executive:
        lines += ["", "Financial impact", f"  {_financial_impact(revenue_per_hour, elapsed)}"]
        lines += ["", "Recommendations", *_bullets(recommendations, "None recorded.")]
    if target.actions:
        lines += ["", f"What {target.id} does", *_bullets(list(target.actions), "")]
    lines += ["", f"Who to contact at {target.id} ({target.name})", *_contact_lines(target)]
    if target.handoff:
        lines += ["", "The policy asks this handoff to cover", *(f"  [ ] {item}" for item in target.handoff)]
    return "\n".join(lines) + "\n"


def _bullets(items: list[str], empty: str) -> list[str]:
    cleaned = [item.strip() for item in items if item and item.strip()]
    return [f"  - {item}" for item in cleaned] or [f"  {empty}"]


def _span(elapsed: dt.timedelta) -> str:
    minutes = max(int(elapsed.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes or not parts:
        parts.append(f"{minutes}m")
    return " ".join(parts)


def _usd(amount: float) -> str:
    return f"USD {round(amount):,}"


def _financial_impact(revenue_per_hour: float | None, elapsed: dt.timedelta) -> str:
    if revenue_per_hour is None:
        return "Not estimated: no revenue-per-hour figure was given."
    hours = max(elapsed.total_seconds(), 0) / 3600
    return (
        f"About {_usd(revenue_per_hour * hours)} so far "
        f"({_usd(revenue_per_hour)} per hour for {hours:.2f} hours)."
    )


def _contact_lines(level: EscalationLevel) -> list[str]:
    if not level.contacts:
        return ["  No contacts are listed for this level in the policy."]
    lines = []
    for contact in level.contacts:
        parts = [contact.role if not contact.name else f"{contact.role}: {contact.name}"]
        parts += [
            f"{label} {value}"
            for label, value in (
                ("email", contact.email),
                ("phone", contact.phone),
                ("channel", contact.channel),
                ("next up", contact.escalation),
            )
            if value
        ]
        lines.append("  - " + " | ".join(parts))
        if contact.handles:
            lines.append(f"    {contact.handles}")
    return lines
