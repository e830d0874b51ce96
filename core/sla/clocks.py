"""SLA clocks: for each clock a policy defines, its target, deadline and state at a given moment.

Pure functions of (incident facts, policy snapshot, now): the incident page,
the lists and the dashboards all call `compute_clocks`, so a clock reads the
same everywhere. Deadlines run on the clock's calendar (24x7 or business
hours) and move out by the time the incident spent paused, for the clocks the
policy lets pause. Never reads the system clock, never touches the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.policy.calendar import Calendar, add_working_time, working_time_between
from core.policy.schema import EscalationLevel, Policy
from core.sla.schedule import client_schedule
from core.vocabulary import CLOCKS, LEVEL_IDS, ClockState, level_response_clock, response_level

CLOCK_LABELS: dict[str, str] = {
    "acknowledge": "Acknowledge",
    "client_notification": "Notify the client",
    "mobilization": "Mobilise the team",
    "client_update": "Next client update",
    "resolution": "Resolve",
    "resolution_max": "Resolve (hard limit)",
    "escalation": "Reach the required escalation level",
}

# The incident fact that stops each one-shot clock.
STOPPED_BY: dict[str, str] = {
    "acknowledge": "acknowledged_at",
    "client_notification": "client_notified_at",
    "mobilization": "mobilized_at",
    "resolution": "resolved_at",
    "resolution_max": "resolved_at",
    "escalation": "escalated_at",
}


@dataclass(frozen=True)
class Pause:
    """A span during which pausable clocks stop (`ended_at` None while it lasts).

    `clocks` names the clocks it pauses; empty: every clock the policy lets pause.
    """

    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    clocks: tuple[str, ...] = ()

    def pauses(self, clock: str) -> bool:
        """True when this pause stops `clock` (a clock the policy lets pause)."""
        return not self.clocks or clock in self.clocks


@dataclass(frozen=True)
class IncidentFacts:
    """What the clocks need to know about an incident (plain values, no ORM object)."""

    severity: str
    tier: str | None
    detected_at: dt.datetime
    acknowledged_at: dt.datetime | None = None
    client_notified_at: dt.datetime | None = None
    mobilized_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    last_client_update_at: dt.datetime | None = None
    required_level: str | None = None
    current_level: str | None = None
    escalated_at: dt.datetime | None = None  # when current_level first met required_level
    pauses: tuple[Pause, ...] = field(default_factory=tuple)
    # The targets triage chose for this incident (a rule may set a tighter one than
    # the severity's general target); a clock without one falls back to the policy.
    targets: dict[str, dt.timedelta] = field(default_factory=dict)
    # Every escalation as (level escalated to, when), in time order; each level's
    # recorded response; every message sent to the client (the first notice included).
    escalations: tuple[tuple[str, dt.datetime], ...] = ()
    level_responses: dict[str, dt.datetime] = field(default_factory=dict)
    client_messages: tuple[dt.datetime, ...] = ()
    # The client schedule of the policy that applies (None: planned from the targets).
    schedule_key: str | None = None

    def reached(self) -> dict[str, dt.datetime]:
        """When the incident first stood at each level or higher (escalating to L3 reaches L1 and L2 too)."""
        reached: dict[str, dt.datetime] = {}
        moves = list(self.escalations)
        if not moves and self.current_level:
            # Facts without an escalation log: the current level, since it was known to be reached.
            moves = [(self.current_level, self.escalated_at or self.detected_at)]
        for level, at in moves:
            for lower in LEVEL_IDS[: LEVEL_IDS.index(level) + 1]:
                if lower not in reached or at < reached[lower]:
                    reached[lower] = at
        return reached

    def messages(self) -> tuple[dt.datetime, ...]:
        """Every message to the client in time order (from the milestones when no log was kept)."""
        if self.client_messages:
            return tuple(sorted(self.client_messages))
        return tuple(sorted({m for m in (self.client_notified_at, self.last_client_update_at) if m is not None}))

    def target(self, clock: str, policy: Policy) -> dt.timedelta | None:
        """This incident's target for `clock`."""
        if clock in self.targets:
            return self.targets[clock]
        return policy.target(clock, self.severity, self.tier)


@dataclass(frozen=True)
class SlaClock:
    """One clock at `now`: target, deadline, and met/breached/running/paused."""

    clock: str
    label: str
    target: dt.timedelta
    started_at: dt.datetime
    deadline: dt.datetime
    stopped_at: dt.datetime | None
    state: ClockState

    def remaining(self, now: dt.datetime) -> dt.timedelta:
        """Time left before the deadline (negative when overdue), measured at stop or now."""
        return self.deadline - (self.stopped_at or now)

    @property
    def is_open(self) -> bool:
        """True while the clock still runs (or is paused): something is still due."""
        return self.state in (ClockState.RUNNING, ClockState.PAUSED)


def _deadline_with_pauses(pauses: tuple[Pause, ...], start: dt.datetime, target: dt.timedelta,
                          end: dt.datetime, calendar: Calendar) -> dt.datetime:
    # Only pause time before the (moving) deadline pushes it out: a pause that
    # starts after a breach cannot undo it, and overlapping pauses count once.
    deadline = add_working_time(start, target, calendar)
    covered = start
    for pause in sorted(pauses, key=lambda p: p.started_at):
        lo = max(pause.started_at, covered)
        if lo >= deadline:
            break
        hi = min(pause.ended_at or end, end)
        if hi > lo:
            deadline = add_working_time(deadline, working_time_between(lo, hi, calendar), calendar)
            covered = hi
    return deadline


def clock_label(clock: str) -> str:
    """The label of a clock name, level response clocks included (response_L2 -> "L2 responds")."""
    if clock in CLOCK_LABELS:
        return CLOCK_LABELS[clock]
    level = response_level(clock)
    return f"{level} responds" if level else clock.replace("_", " ").capitalize()


def _is_paused(pauses: tuple[Pause, ...], now: dt.datetime) -> bool:
    return any(p.started_at <= now and (p.ended_at is None or p.ended_at > now) for p in pauses)


def _one_shot(clock: str, facts: IncidentFacts, policy: Policy, now: dt.datetime) -> SlaClock | None:
    target = facts.target(clock, policy)
    if target is None:
        return None
    if clock == "escalation" and not facts.required_level:
        return None
    calendar = policy.calendar_for(clock)
    # Resolution ends every clock still running: nothing is due any more.
    stopped_at = getattr(facts, STOPPED_BY[clock]) or facts.resolved_at
    pauses = tuple(p for p in facts.pauses if p.pauses(clock)) if clock in policy.pausable_clocks else ()
    end = stopped_at or now
    if pauses:
        deadline = _deadline_with_pauses(pauses, facts.detected_at, target, end, calendar)
    else:
        deadline = add_working_time(facts.detected_at, target, calendar)
    if stopped_at is not None:
        state = ClockState.MET if stopped_at <= deadline else ClockState.BREACHED
    elif pauses and _is_paused(pauses, now) and now <= deadline:
        state = ClockState.PAUSED
    else:
        state = ClockState.RUNNING if now <= deadline else ClockState.BREACHED
    return SlaClock(clock, CLOCK_LABELS[clock], target, facts.detected_at, deadline, stopped_at, state)


def _client_update(facts: IncidentFacts, policy: Policy, now: dt.datetime) -> SlaClock | None:
    # The next entry of the client schedule still to send. Before the first
    # message, the notification clock is the one that is due, when there is one.
    plan = client_schedule(facts, policy, now)
    if not facts.messages() and facts.target("client_notification", policy) is not None:
        return None
    current = next((u for u in plan.updates if u.sent_at is None), None)
    if current is None:
        return None
    started = current.opened_at
    target = plan.cadence if plan.cadence is not None and not current.planned else current.due - started
    label = CLOCK_LABELS["client_update"]
    if facts.resolved_at is not None:
        return SlaClock("client_update", label, target, started, current.due, facts.resolved_at,
                        ClockState.MET if facts.resolved_at <= current.due else ClockState.BREACHED)
    state = ClockState.RUNNING if now <= current.due else ClockState.BREACHED
    return SlaClock("client_update", label, target, started, current.due, None, state)


def level_response_clocks(facts: IncidentFacts, policy: Policy, now: dt.datetime) -> list[SlaClock]:
    """One clock per level the incident was escalated to: that level must respond within its policy time.

    The clock starts at the first escalation to the level, is met when the
    level's response is recorded in time (or the incident is resolved first) and
    breached when the response time passes without one. Levels the incident
    skipped have no clock.
    """
    clocks = []
    started: dict[str, dt.datetime] = {}
    for moved_to, at in facts.escalations:
        if moved_to not in started or at < started[moved_to]:
            started[moved_to] = at
    defined: dict[str, EscalationLevel] = {level.id: level for level in policy.escalation_levels}
    calendar = policy.calendar_for("escalation")
    for level_id in sorted(started, key=LEVEL_IDS.index):
        level = defined.get(level_id)
        target = level.response.pick(facts.severity, facts.tier) if level and level.response else None
        if level is None or target is None:
            continue
        start = started[level_id]
        deadline = add_working_time(start, target, calendar)
        stopped_at = facts.level_responses.get(level_id) or facts.resolved_at
        if stopped_at is not None:
            state = ClockState.MET if stopped_at <= deadline else ClockState.BREACHED
        else:
            state = ClockState.RUNNING if now <= deadline else ClockState.BREACHED
        clocks.append(SlaClock(level_response_clock(level_id), f"{level.name} responds ({level_id})", target, start,
                               deadline, stopped_at, state))
    return clocks


def compute_clocks(facts: IncidentFacts, policy: Policy, now: dt.datetime) -> list[SlaClock]:
    """Every clock the policy defines for this incident, in the policy's clock order, then the levels' responses."""
    clocks: list[SlaClock] = []
    for clock in CLOCKS:
        if clock == "client_update":
            result = _client_update(facts, policy, now)
        else:
            result = _one_shot(clock, facts, policy, now)
        if result is not None:
            clocks.append(result)
    return clocks + level_response_clocks(facts, policy, now)


def most_urgent(clocks: list[SlaClock]) -> SlaClock | None:
    """The running clock with the earliest deadline (overdue ones first); paused and stopped ones never count."""
    open_clocks = [c for c in clocks if c.stopped_at is None and c.state is not ClockState.PAUSED]
    return min(open_clocks, key=lambda c: c.deadline, default=None)


def compact_duration(span: dt.timedelta) -> str:
    """A duration to the minute, compact: 45m, 3h 20m, 2d 4h (a negative span shows as 0m)."""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
