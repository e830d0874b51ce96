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
from core.policy.schema import Policy
from core.vocabulary import CLOCKS, ClockState

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
    """A span during which pausable clocks stop (`ended_at` None while it lasts)."""

    started_at: dt.datetime
    ended_at: dt.datetime | None = None


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
    pausable = clock in policy.pausable_clocks
    end = stopped_at or now
    if pausable:
        deadline = _deadline_with_pauses(facts.pauses, facts.detected_at, target, end, calendar)
    else:
        deadline = add_working_time(facts.detected_at, target, calendar)
    if stopped_at is not None:
        state = ClockState.MET if stopped_at <= deadline else ClockState.BREACHED
    elif pausable and _is_paused(facts.pauses, now) and now <= deadline:
        state = ClockState.PAUSED
    else:
        state = ClockState.RUNNING if now <= deadline else ClockState.BREACHED
    return SlaClock(clock, CLOCK_LABELS[clock], target, facts.detected_at, deadline, stopped_at, state)


def _client_update(facts: IncidentFacts, policy: Policy, now: dt.datetime) -> SlaClock | None:
    cadence = facts.target("client_update", policy)
    if cadence is None:
        return None
    # The cadence starts with the first client notification; before it, the
    # notification clock is the one that is due.
    last = facts.last_client_update_at or facts.client_notified_at
    if last is None:
        return None
    calendar = policy.calendar_for("client_update")
    deadline = add_working_time(last, cadence, calendar)
    if facts.resolved_at is not None:
        # Resolution ends the cadence; the last interval counts as met if the
        # resolution came before the update fell due.
        state = ClockState.MET if facts.resolved_at <= deadline else ClockState.BREACHED
        return SlaClock("client_update", CLOCK_LABELS["client_update"], cadence, last, deadline,
                        facts.resolved_at, state)
    state = ClockState.RUNNING if now <= deadline else ClockState.BREACHED
    return SlaClock("client_update", CLOCK_LABELS["client_update"], cadence, last, deadline, None, state)


def compute_clocks(facts: IncidentFacts, policy: Policy, now: dt.datetime) -> list[SlaClock]:
    """Every clock the policy defines for this incident, in the policy's clock order."""
    clocks: list[SlaClock] = []
    for clock in CLOCKS:
        if clock == "client_update":
            result = _client_update(facts, policy, now)
        else:
            result = _one_shot(clock, facts, policy, now)
        if result is not None:
            clocks.append(result)
    return clocks


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
