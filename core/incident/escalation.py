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

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.policy.calendar import add_working_time
from core.policy.ladder import condition_steps, severity_steps
from core.policy.notation import duration_notation
from core.policy.rules import level_rank
from core.policy.schema import Contact, EscalationLevel, Policy
from core.sla.clocks import IncidentFacts, SlaClock, compute_clocks
from core.triage.rules import Answers, retarget
from core.vocabulary import ClockState


@dataclass(frozen=True)
class LadderStep:
    """One level the incident needs: required from `start`, due by `due`, reached when, and its state.

    `state` is pending (not reached, not yet late), met (reached by `due`, or the
    incident was resolved before it fell due) or breached (`due` passed first).
    """

    level: str
    name: str
    start: dt.datetime
    due: dt.datetime | None
    reached_at: dt.datetime | None
    state: ClockState
    reasons: tuple[str, ...]
    contacts: tuple[Contact, ...]
    kind: str  # condition, time, tier or breach: what made the level necessary

    def to_json(self) -> dict[str, object]:
        """The step in the JSON shape of ``python -m core replay``."""
        return {"level": self.level, "from": _iso(self.start), "due": _iso(self.due),
                "reached_at": _iso(self.reached_at), "state": self.state.value}


@dataclass(frozen=True)
class EscalationStatus:
    """Where an incident stands on the escalation ladder at one moment."""

    required_level: str | None
    current_level: str | None
    overdue: bool
    # When the next level still to reach falls due; None once every required
    # level is reached, when the policy sets no deadline, or after resolution.
    due_at: dt.datetime | None
    next_level: str | None
    next_due_at: dt.datetime | None
    reasons: list[str] = field(default_factory=list)
    contacts: tuple[Contact, ...] = ()
    ladder: tuple[LadderStep, ...] = ()
    # The next moment something on the ladder is late if nothing changes: the earliest due time
    # of a step not reached yet (one in force or one still to come), or the breach of a clock the
    # policy escalates on. None after resolution. Lists and the board flag "escalation overdue" by it.
    deadline: dt.datetime | None = None


@dataclass(frozen=True)
class _Source:
    """One thing that requires a level: from `since` on, due by `due_at` (None: no deadline)."""

    level: str
    since: dt.datetime
    due_at: dt.datetime | None
    text: str
    section: str
    kind: str = "condition"


def escalation_status(
    *,
    facts: IncidentFacts,
    policy: Policy,
    answers: Answers,
    triage_level: str | None,
    now: dt.datetime,
    clocks: Sequence[SlaClock] | None = None,
) -> EscalationStatus:
    """Return the incident's escalation ladder at `now`: the levels it needs, each by when, and what comes next.

    Semantics:

    - Condition steps apply from detection (or from their trigger's `start`):
      the severity's own steps (its ladder, or its level by the escalation
      target), the level of any rule or level trigger the answers match (due by
      the trigger's `due`, else by the escalation target), and `triage_level`
      (the level recorded at triage). Due times run on the escalation calendar.
    - Time steps: a level whose `time_trigger.unresolved_for` (for the
      incident's severity and tier) has elapsed since detection is required from
      that moment, due `due_within` later, if the incident was not resolved by
      then. Pauses do not delay them: the playbooks count hours unresolved.
    - Tier steps: once the incident has reached a level with `resolve_within`,
      the next level is required (and due) that long after, unless a condition
      or time step already sets a time for that next level (the severity's
      "Level N within X" wins).
    - `escalate_on_breach`: when a listed clock is breached (before any
      resolution), the case must be one level above the highest level the other
      steps required at the breach moment, capped at the top level, due then.
    - One step per level, the strictest (earliest due); a step is met when the
      incident reached that level (or a higher one) by its due time, or was
      resolved before it fell due; breached when its due time passed first;
      pending otherwise. Steps that only start after the resolution are dropped.
    - `required_level` is the highest level of the steps in force at `now`;
      `due_at` the earliest due time of a step in force not reached yet;
      `overdue` that `now` is past it. After resolution nothing more is due.
    - `clocks`, when given, are `compute_clocks(facts, policy, now)` already computed by the caller.
    - `next_level` / `next_due_at`: the earliest step not yet in force (a later
      time step, a trigger window that opens later, the next tier, or the breach
      of a running clock the policy escalates on) above both the required and the
      current level (the highest level when two fall at once). A paused clock has
      no fixed breach moment and is left out.
    """
    resolved_at = facts.resolved_at if facts.resolved_at is not None and facts.resolved_at <= now else None
    reached = facts.reached()

    conditions = _condition_sources(facts, policy, answers, triage_level)
    timed = _time_sources(facts, policy)
    tiers = _tier_sources(facts, policy, reached, {s.level for s in conditions + timed})
    planned = conditions + timed + tiers
    if resolved_at is not None:
        planned = [s for s in planned if s.since < resolved_at or s.since == facts.detected_at]

    # The caller may pass the clocks it already computed for the same facts and moment.
    breaches = [c for c in (clocks if clocks is not None else compute_clocks(facts, policy, now))
                if c.clock in policy.escalate_on_breach]
    upcoming_breaches: list[_Source] = []
    for clock in breaches:
        bumped = _one_above(policy, _highest(planned, clock.deadline))
        if bumped is None:
            continue
        source = _breach_source(policy, clock.label, bumped, clock.deadline)
        # A breach counts only if it happened while the incident was still open.
        if clock.state is ClockState.BREACHED and (resolved_at is None or clock.deadline < resolved_at):
            planned.append(source)
        elif resolved_at is None and clock.state is ClockState.RUNNING and clock.deadline > now:
            upcoming_breaches.append(source)

    in_force = [s for s in planned if s.since <= now]
    required = max((s.level for s in in_force), key=level_rank, default=None)
    ladder = tuple(_steps(policy, planned, reached, resolved_at, now))
    due_at = None
    if resolved_at is None:
        due_at = min((st.due for st in ladder if st.start <= now and st.reached_at is None and st.due is not None),
                     default=None)
    overdue = due_at is not None and now > due_at

    next_level = next_due_at = None
    if resolved_at is None:
        floor = max(level_rank(required), level_rank(facts.current_level))
        upcoming = [(s.since, s.level) for s in planned if s.since > now] + [
            (s.since, s.level) for s in upcoming_breaches]
        upcoming = [(moment, level) for moment, level in upcoming if level_rank(level) > floor]
        if upcoming:
            next_due_at = min(moment for moment, _ in upcoming)
            next_level = max((lvl for moment, lvl in upcoming if moment == next_due_at), key=level_rank)

    deadline = None
    if resolved_at is None:
        floor = max(level_rank(required), level_rank(facts.current_level))
        moments = [st.due for st in ladder if st.reached_at is None and st.due is not None]
        moments += [s.since for s in upcoming_breaches if level_rank(s.level) > floor]
        deadline = min(moments, default=None)

    ordered = sorted(in_force, key=lambda s: (-level_rank(s.level), s.since))
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
        ladder=ladder,
        deadline=deadline,
    )


def _steps(policy: Policy, sources: list[_Source], reached: dict[str, dt.datetime],
           resolved_at: dt.datetime | None, now: dt.datetime) -> list[LadderStep]:
    # One step per level: the strictest source (earliest due, then earliest start).
    def strictness(source: _Source) -> tuple[dt.datetime, dt.datetime]:
        return (source.due_at or dt.datetime.max.replace(tzinfo=dt.UTC), source.since)

    by_level: dict[str, list[_Source]] = {}
    for source in sources:
        by_level.setdefault(source.level, []).append(source)
    steps = []
    for level_id, group in by_level.items():
        # Required from the first moment any source asks for the level, due by the strictest.
        best = min(group, key=strictness)
        start = min(s.since for s in group)
        reached_at = reached.get(level_id)
        due = best.due_at
        if reached_at is not None and (due is None or reached_at <= due):
            state = ClockState.MET
        elif due is not None and reached_at is not None:
            state = ClockState.BREACHED
        elif resolved_at is not None:
            state = ClockState.MET if due is None or resolved_at <= due else ClockState.BREACHED
        else:
            state = ClockState.BREACHED if due is not None and now > due else ClockState.PENDING
        level = policy.level(level_id)
        reasons = tuple(dict.fromkeys(s.text for s in sorted(group, key=strictness)))
        steps.append(LadderStep(level_id, level.name, start, due, reached_at, state, reasons,
                                level.contacts, best.kind))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    # A step a higher one covers (it starts no later and is due no later) adds
    # nothing: reaching the higher level reaches this one too.
    kept = [st for st in steps if not any(
        level_rank(other.level) > level_rank(st.level) and other.start <= st.start
        and (other.due or far) <= (st.due or far) for other in steps)]
    return sorted(kept, key=lambda st: (st.due or far, st.start, level_rank(st.level)))


def _condition_sources(
    facts: IncidentFacts, policy: Policy, answers: Answers, triage_level: str | None
) -> list[_Source]:
    calendar = policy.calendar_for("escalation")
    detected = facts.detected_at
    # What a step without its own due time is due by: the severity's escalation
    # target as the rules adjust it (the same as triage), not the first step's due.
    base = retarget(answers, policy, facts.severity).escalation_base

    def at(offset: dt.timedelta | None) -> dt.datetime | None:
        return None if offset is None else add_working_time(detected, offset, calendar)

    sources = []
    for step in severity_steps(policy, facts.severity, base) + condition_steps(policy, answers, base):
        sources.append(_Source(step.level, at(step.start) or detected, at(step.due), step.reason, step.section))
    if triage_level and triage_level not in {s.level for s in sources}:
        # Recorded at triage from answers or a severity that have changed since.
        level = policy.level(triage_level)
        sources.append(_Source(triage_level, detected, at(base), "Set at triage.", level.section))
    return sources


def _time_sources(facts: IncidentFacts, policy: Policy) -> list[_Source]:
    calendar = policy.calendar_for("escalation")
    sources = []
    for level in policy.escalation_levels:
        trigger = level.time_trigger
        if trigger is None or (trigger.severities and facts.severity not in trigger.severities):
            continue
        after = trigger.unresolved_for.pick(facts.severity, facts.tier)
        if after is None:
            continue
        moment = add_working_time(facts.detected_at, after, calendar)
        text = f"Still unresolved {duration_notation(after)} after detection (from {_when(moment)})."
        if trigger.note:
            text += f" {trigger.note}"
        sources.append(_Source(level.id, moment, add_working_time(moment, trigger.due_within, calendar), text,
                               level.section, "time"))
    return sources


def _tier_sources(facts: IncidentFacts, policy: Policy, reached: dict[str, dt.datetime],
                  covered: set[str]) -> list[_Source]:
    calendar = policy.calendar_for("escalation")
    levels = policy.escalation_levels
    sources = []
    for here, above in itertools.pairwise(levels):
        if here.resolve_within is None or above.id in covered or here.id not in reached:
            continue
        if above.id in reached and reached[above.id] <= reached[here.id]:
            continue  # the case went past this level at once
        moment = add_working_time(reached[here.id], here.resolve_within, calendar)
        text = (f"{here.id} ({here.name}) has had {duration_notation(here.resolve_within)} since it took the case "
                f"(from {_when(moment)}).")
        sources.append(_Source(above.id, moment, moment, text, here.section, "tier"))
    return sources


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
        "breach",
    )


def _describe(policy: Policy, source: _Source) -> str:
    return f"{source.level} ({policy.level(source.level).name}): {source.text} [{source.section}]"


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


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
    paged: Sequence[tuple[dt.datetime, str]] = (),
) -> str:
    """Write the plain-text handoff for passing the incident to `level`, ending with whom to contact there.

    `paged`: who the on-call pages reached so far, as (when, "L3: Ana by email, acknowledged"),
    listed under "Who was paged" when there is anyone.

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
        *(["", "Who was paged", *(f"  - {_when(at.astimezone(detected_at.tzinfo))} {what}" for at, what in paged)]
          if paged else []),
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
