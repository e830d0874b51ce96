"""Which alerts an incident's policy calls for at one moment, and when the next one will be due.

From the incident's SLA clocks, its escalation ladder and the policy's `alerts:` rules
(`core.policy.schema.Alerts`), `plan_alerts` lists the alerts due at `now` (a warning before a
clock breaches, a breach, a ladder step that has started, a reminder that the client must hear
from us soon) and the next moment another one falls due, which the incident row keeps as
`next_alert_at` so a scheduler pass reads only the incidents that are due. Each alert is named by
incident, rule, clock and deadline (`Alert.key`): while nothing changes the name stays the same
and the outbox drops the repeat; a change that moves the deadline (a pause, a new severity, a
message sent) names a new alert. Who receives it is the scheduler's business (`core.alerts`).
Pure: `now` is a parameter; never reads the clock, touches storage, sends anything or imports
streamlit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from core.incident.escalation import LadderStep
from core.policy.schema import Policy
from core.sla.clocks import SlaClock
from core.vocabulary import ClockState, response_level

# An alert more than this late (the scheduler was stopped, the incident predates alerts) is not
# sent any more: the lists and the board already show the breach, and a flood of stale pages
# after a restart would bury the alerts that still matter.
STALE_AFTER = dt.timedelta(hours=24)

# Who an alert is for: the incident's owner, an escalation level's contacts, the account's CSM.
OWNER, LEVEL, CSM = "owner", "level", "csm"
# What made it: a warning ahead of a breach, the breach, a ladder step that started, a client reminder.
WARN, BREACH, STEP, REMIND = "warn", "breach", "step", "remind"
# The clocks whose deadline is a message the client must receive (the CSM's to send).
CLIENT_CLOCKS = ("client_notification", "client_update")


@dataclass(frozen=True)
class Alert:
    """One alert: which rule, about which clock (or level, for a ladder step), its deadline, when it is due, for whom.

    `deadline` is the moment the alert is about (the clock's deadline; a step's start);
    `due_at` is when it is sent (the deadline less the lead time for a warning or a reminder).
    """

    rule: str
    clock: str
    label: str
    deadline: dt.datetime
    due_at: dt.datetime
    audience: str
    level: str | None = None

    @property
    def name(self) -> str:
        """The rule as the outbox stores it, e.g. warn:acknowledge, step:L2."""
        return f"{self.rule}:{self.clock}"

    def key(self, incident_id: int) -> str:
        """The name of this alert for this incident: the same while its deadline stays where it is."""
        moment = self.deadline.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"incident:{incident_id}:{self.rule}:{self.clock}:{moment}"


@dataclass(frozen=True)
class AlertPlan:
    """The alerts due at one moment, and the next moment another one falls due (None: nothing left)."""

    due: tuple[Alert, ...]
    next_at: dt.datetime | None

    @property
    def wake_at(self) -> dt.datetime | None:
        """When a scheduler should next look at the incident: now-or-earlier while alerts are due, else next_at."""
        if self.due:
            return min(alert.due_at for alert in self.due)
        return self.next_at


def _audience(clock: str) -> tuple[str, str | None]:
    level = response_level(clock)
    if level is not None:
        return LEVEL, level
    return (CSM, None) if clock == "client_update" else (OWNER, None)


def _ahead(clock: SlaClock, lead: dt.timedelta | None) -> dt.datetime | None:
    # A target a rule tightened below the lead (a 5m acknowledge under a 10m warning) is warned at
    # half its length rather than at once; an immediate target has nothing to warn ahead of.
    if lead is None or clock.target <= dt.timedelta(0):
        return None
    if lead >= clock.target:
        lead = clock.target / 2
    return clock.deadline - lead


def _clock_alerts(policy: Policy, severity: str, clock: SlaClock) -> list[Alert]:
    audience, level = _audience(clock.clock)
    alerts = []
    warn_at = _ahead(clock, policy.alerts.lead(clock.clock, severity))
    if warn_at is not None and clock.clock != "client_update":
        alerts.append(Alert(WARN, clock.clock, clock.label, clock.deadline, warn_at, audience, level))
    if clock.clock in CLIENT_CLOCKS:
        remind_at = _ahead(clock, policy.alerts.reminder(severity))
        if remind_at is not None:
            alerts.append(Alert(REMIND, clock.clock, clock.label, clock.deadline, remind_at, CSM))
    if policy.alerts.on_breach(clock.clock):
        alerts.append(Alert(BREACH, clock.clock, clock.label, clock.deadline, clock.deadline, audience, level))
    return alerts


def plan_alerts(*, policy: Policy, severity: str, clocks: Sequence[SlaClock], ladder: Sequence[LadderStep],
                resolved: bool, now: dt.datetime, stale_after: dt.timedelta = STALE_AFTER) -> AlertPlan:
    """The alerts due at `now` and the next moment one falls due, for an incident's clocks and ladder.

    - Only clocks still running count: a met, stopped or paused clock alerts nothing (a pause moves
      the deadline; resuming is a change that plans again).
    - A warning or a reminder is due from its moment until the deadline; from the deadline on the
      breach alert takes over. A breach alert is due while its clock stays breached and unmet.
    - A ladder step alerts its level from its start while the incident has not reached the level.
    - Nothing is due more than `stale_after` late, and nothing at all once the incident is resolved.
    """
    if resolved:
        return AlertPlan((), None)
    candidates: list[Alert] = []
    for clock in clocks:
        if clock.stopped_at is None and clock.state in (ClockState.RUNNING, ClockState.BREACHED):
            candidates += _clock_alerts(policy, severity, clock)
    if policy.alerts.escalation_steps:
        for step in ladder:
            if step.reached_at is None and step.state is not ClockState.MET:
                candidates.append(Alert(STEP, step.level, f"{step.name} ({step.level})", step.start, step.start,
                                        LEVEL, step.level))
    due, later = [], []
    for alert in candidates:
        if alert.due_at > now:
            later.append(alert.due_at)
        elif alert.due_at >= now - stale_after and (alert.rule not in (WARN, REMIND) or now < alert.deadline):
            due.append(alert)
    due.sort(key=lambda a: (a.due_at, a.rule, a.clock))
    return AlertPlan(tuple(due), min(later, default=None))
