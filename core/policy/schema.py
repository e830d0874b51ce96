"""Escalation policies as data: the pydantic models of a policy and their coherence checks.

A policy is one organisation's way of handling customer emergencies: its
severity levels, the SLA clock targets per severity (and per customer tier),
the declarative rules that turn triage answers into a severity, red status,
escalation category and level (written in the rule language of
`core.policy.rules`), its escalation levels and contacts, the calendars the
clocks run on, review schedule, objectives and early-warning signals
(`core.policy.measures`), and the alert rules (`Alerts`: who is warned before a
clock breaches, at a breach, at a ladder step, before a client update). Loading
a file is `core.policy.loading`; value notation is `core.policy.notation`.
This module never imports streamlit, never reads the clock and does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, ValidationInfo, model_serializer, model_validator

from core.policy.calendar import Calendar
from core.policy.measures import EarlyWarning, Objective
from core.policy.notation import (
    Duration,
    PolicyModel,
    Slug,
    Text,
    TitleText,
    duration_notation,
    parse_duration,
    policy_error,
)
from core.policy.roles import REQUIRED_ROLES, Role, fill_stored_roles, missing_required
from core.policy.rules import Condition, EscalationCategory, answer_fields, category_rank, level_rank
from core.vocabulary import CLOCKS, LEVEL_IDS, SEVERITIES, TIERS, Clock, LevelId, Severity

CalendarKey = Literal[
    "default",
    "acknowledge",
    "client_notification",
    "mobilization",
    "client_update",
    "resolution",
    "resolution_max",
    "escalation",
]



# --------------------------------------------------------------------------
# Policy building blocks.


def plain_duration_as_default(data: object) -> object:
    """A plain duration (``4h``) read as ``{"default": 4h}``; a mapping is left to the model."""
    if isinstance(data, (str, timedelta)):
        return {"default": parse_duration(data)}
    return data


class Timing(PolicyModel):
    """A duration that may differ by customer tier or by severity; a plain ``4h`` applies to all."""

    default: Duration | None = None
    basic: Duration | None = None
    pro: Duration | None = None
    enterprise: Duration | None = None
    P0: Duration | None = None
    P1: Duration | None = None
    P2: Duration | None = None
    P3: Duration | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_plain_duration(cls, data: object) -> object:
        return plain_duration_as_default(data)

    @model_validator(mode="after")
    def _not_empty(self) -> Timing:
        if all(getattr(self, key) is None for key in type(self).model_fields):
            raise policy_error(
                "give a duration, or a mapping by tier (basic, pro, enterprise) or by severity (P0..P3), "
                "optionally with a default"
            )
        return self

    @model_serializer(mode="wrap")
    def _compact(self, handler: Any) -> Any:
        data = {key: value for key, value in handler(self).items() if value is not None}
        return data["default"] if list(data) == ["default"] else data

    def pick(self, severity: str | None = None, tier: str | None = None) -> timedelta | None:
        """Return the duration for a tier and severity; with the tier unknown, the strictest tier value."""
        by_tier_value: timedelta | None = getattr(self, tier) if tier is not None else None
        if by_tier_value is not None:
            return by_tier_value
        by_severity: timedelta | None = getattr(self, severity) if severity is not None else None
        if by_severity is not None:
            return by_severity
        if self.default is not None:
            return self.default
        if tier is None:
            by_tier: list[timedelta] = [getattr(self, t) for t in TIERS if getattr(self, t) is not None]
            if by_tier:
                return min(by_tier)
        return None


class LadderStep(PolicyModel):
    """One rung an incident must reach: `level` is required from `start` and due by `due` (both from detection)."""

    level: LevelId
    start: Duration = timedelta(0)
    due: Duration
    note: Text | None = None

    @model_validator(mode="after")
    def _ordered(self) -> LadderStep:
        if self.due < self.start:
            raise policy_error("a ladder step cannot be due before it starts", ["due"])
        return self


class SeverityLevel(PolicyModel):
    """One severity (P0..P3): its label, our definition and what it implies by itself.

    `ladder` lists the levels the severity needs and by when, from detection
    (red-status: a critical incident needs the executives within the first
    hour). Without it, the severity needs `escalation_level` by the severity's
    escalation target.
    """

    id: Severity
    label: Text
    definition: Text
    section: Text
    red_status: bool = False
    escalation_category: EscalationCategory = "none"
    escalation_level: LevelId | None = None
    team_response: Text | None = None
    ladder: tuple[LadderStep, ...] = ()


class DefaultOutcome(PolicyModel):
    """The severity given when no rule raises it, with the reason shown for it."""

    severity: Severity
    reason: Text
    section: Text


class Outcome(PolicyModel):
    """What a fired rule contributes; target overrides are specific to the rule's kind of incident."""

    severity: Severity | None = None
    red_status: bool = False
    escalation_category: EscalationCategory | None = None
    escalation_level: LevelId | None = None
    targets: dict[Clock, Duration] = Field(default_factory=dict)
    # replace: the rule's targets replace the severity's general ones (when every
    # rule that set the severity brings one); strictest: both apply, the shorter wins.
    targets_apply: Literal["replace", "strictest"] = "replace"

    @model_validator(mode="after")
    def _says_something(self) -> Outcome:
        if (
            self.severity is None
            and not self.red_status
            and self.escalation_category is None
            and self.escalation_level is None
            and not self.targets
        ):
            raise policy_error(
                "an outcome sets at least one of: severity, red_status, escalation_category, "
                "escalation_level, targets"
            )
        return self

    def describe(self) -> str:
        """Summarise the outcome in a few words for an explanation."""
        parts = []
        if self.severity:
            parts.append(f"severity {self.severity}")
        if self.red_status:
            parts.append("red status")
        if self.escalation_category:
            parts.append(f"{self.escalation_category} escalation")
        if self.escalation_level:
            parts.append(f"level {self.escalation_level}")
        parts.extend(f"{clock.replace('_', ' ')} within {duration_notation(d)}" for clock, d in self.targets.items())
        return "; ".join(parts)


class Rule(PolicyModel):
    """When the answers match ``when``, the outcome applies, explained by ``reason`` and ``section``."""

    id: Slug
    when: Condition
    then: Outcome
    reason: Text
    section: Text


class LevelTrigger(PolicyModel):
    """A condition that requires the incident to reach the escalation level it belongs to.

    `start` / `due` set the window, from detection, in which the level must be
    reached (teamflow: the CTO and CEO are told in the 15-60 minute follow-up of
    a breach); without `due` the level is due by the incident's escalation
    target. `severity_floor` is the least severe severity an incident that
    needs this level may have; without it, the floor is the least severe
    severity that itself needs this level (or more).
    """

    id: Slug
    when: Condition
    reason: Text
    section: Text
    start: Duration | None = None
    due: Duration | None = None
    severity_floor: Severity | None = None

    @model_validator(mode="after")
    def _ordered(self) -> LevelTrigger:
        if self.start is not None and self.due is not None and self.due < self.start:
            raise policy_error("a trigger's level cannot be due before its window starts", ["due"])
        return self


class TimeTrigger(PolicyModel):
    """Reach the level once the incident is still unresolved this long after detection, within `due_within`.

    `severities` limits the trigger to some severities (none listed: every severity).
    """

    unresolved_for: Timing
    due_within: Duration = timedelta(0)
    severities: tuple[Severity, ...] = ()
    note: Text | None = None


class Availability(PolicyModel):
    """When a contact can be reached for some severities."""

    severities: tuple[Severity, ...] = Field(min_length=1)
    coverage: Literal["24x7", "business_hours"]


class Contact(PolicyModel):
    """A person, role, list or channel to reach, exactly as the organisation publishes it."""

    role: Text
    name: Text | None = None
    handles: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    channel: Text | None = None
    escalation: Text | None = None
    availability: tuple[Availability, ...] = ()


class EscalationLevel(PolicyModel):
    """One rung of the escalation ladder, who it reaches and what sends an incident there.

    `response` is how soon this level must respond once the incident reaches it
    (by severity or plan). `resolve_within`: when the incident is still
    unresolved this long after reaching this level, the next level is required
    at that moment (growth-engine: "escalate if not resolved in 30 minutes"),
    unless the incident's severity or answers already set a time for that level.
    """

    id: LevelId
    name: Text
    summary: Text
    section: Text
    contacts: tuple[Contact, ...] = ()
    time_trigger: TimeTrigger | None = None
    triggers: tuple[LevelTrigger, ...] = ()
    response: Timing | None = None
    resolve_within: Duration | None = None
    handoff: tuple[Text, ...] = ()
    actions: tuple[Text, ...] = ()


class ContactGroup(PolicyModel):
    """A named list of further contacts (on-call rotation, mailing lists, outside counsel...)."""

    title: Text
    contacts: tuple[Contact, ...] = Field(min_length=1)


# The milestones a phase step may record with one click (core.incident.lifecycle.Milestone, less the ones
# a step never records: detection is the start of every incident, closing is an administrative move).
StepMilestone = Literal["acknowledged", "client_notified", "mobilized", "mitigated", "resolved", "client_confirmed"]


class PhaseStep(PolicyModel):
    """One thing to do in a phase, due at an offset from detection; a step that is a milestone records it."""

    key: Slug
    title: Text
    due: Duration
    milestone: StepMilestone | None = None
    section: Text | None = None


class Phase(PolicyModel):
    """A window of the response timeline, measured from detection, with the steps to take in it."""

    key: Slug
    title: Text
    start: Duration
    end: Duration
    section: Text
    severities: tuple[Severity, ...] = ()
    when: Condition | None = None
    steps: tuple[PhaseStep, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.end < self.start:
            raise policy_error("a phase must not end before it starts", ["end"])
        for i, step in enumerate(self.steps):
            if step.due < self.start:
                raise policy_error(f"step '{step.key}' is due before its phase starts ({duration_notation(self.start)}"
                                   " after detection)", ["steps", i, "due"])
            if step.due > self.end:
                raise policy_error(f"step '{step.key}' is due after its phase ends ({duration_notation(self.end)} "
                                   "after detection): move it to a later phase or widen this one", ["steps", i, "due"])
        return self


class PlannedMessage(PolicyModel):
    """A client message planned at a fixed time from detection."""

    at: Duration
    title: Text


class ClientSchedule(PolicyModel):
    """When the client hears from us: planned messages at fixed times, then one every `every`.

    The schedule applies to the listed severities (none: all) when `when`
    matches the answers (absent: always); the first one that applies wins, so a
    policy lists its specific schedules first. Without `every` the cadence is
    the incident's client_update target.
    """

    key: Slug
    title: Text
    section: Text
    severities: tuple[Severity, ...] = ()
    when: Condition | None = None
    planned: tuple[PlannedMessage, ...] = ()
    every: Duration | None = None

    @model_validator(mode="after")
    def _coherent(self) -> ClientSchedule:
        times = [m.at for m in self.planned]
        if times != sorted(times) or len(set(times)) != len(times):
            raise policy_error("planned messages are listed in time order, each at its own time", ["planned"])
        if self.every is not None and self.every <= timedelta(0):
            raise policy_error("a cadence is a positive duration, e.g. 30m", ["every"])
        if not self.planned and self.every is None:
            raise policy_error("a schedule plans at least one message or gives a cadence (every)", ["planned"])
        return self


class Review(PolicyModel):
    """A post-incident review due this long after resolution."""

    key: Slug
    title: TitleText
    after_resolution: Duration

    @model_validator(mode="after")
    def _after_resolution(self) -> Review:
        # A review at the moment of resolution could never be prepared: it must lie after it.
        if self.after_resolution <= timedelta(0):
            raise policy_error("a review falls due some time after resolution: give e.g. 24h or 1w",
                                ["after_resolution"])
        return self


# --------------------------------------------------------------------------
# Alert rules: when the team hears about a clock or a ladder step without anyone looking.

# The clocks an alert may watch: the incident clocks and each level's response clock.
AlertClock = Literal[
    Clock,
    "response_L1",
    "response_L2",
    "response_L3",
    "response_L4",
]
# A warning further ahead than this is noise, not an alert (and a typo such as 15d for 15m).
MAX_ALERT_LEAD = timedelta(weeks=1)


class SeverityLead(PolicyModel):
    """How long before a moment to alert: one duration for every severity, or one per severity (P0..P3).

    A severity left out takes `default`; without a default it gets no alert.
    """

    default: Duration | None = None
    P0: Duration | None = None
    P1: Duration | None = None
    P2: Duration | None = None
    P3: Duration | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_plain_duration(cls, data: object) -> object:
        return plain_duration_as_default(data)

    @model_validator(mode="after")
    def _sensible(self) -> SeverityLead:
        given = {key: getattr(self, key) for key in type(self).model_fields if getattr(self, key) is not None}
        if not given:
            raise policy_error("give a lead time such as 10m, or one per severity, e.g. {P0: 5m, P1: 10m}")
        for key, lead in given.items():
            if lead <= timedelta(0):
                raise policy_error("a lead time is positive, e.g. 10m; leave the severity out to send no "
                                   "warning", [key])
            if lead > MAX_ALERT_LEAD:
                raise policy_error(f"a lead time of {duration_notation(lead)} is more than "
                                   f"{duration_notation(MAX_ALERT_LEAD)} ahead: give at most "
                                   f"{duration_notation(MAX_ALERT_LEAD)} (did you mean minutes, e.g. 15m?)", [key])
        return self

    @model_serializer(mode="wrap")
    def _compact(self, handler: Any) -> Any:
        data = {key: value for key, value in handler(self).items() if value is not None}
        return data["default"] if list(data) == ["default"] else data

    def pick(self, severity: str) -> timedelta | None:
        """The lead time for a severity (its own, else the default; None: no alert)."""
        own: timedelta | None = getattr(self, severity, None)
        return own if own is not None else self.default


class Alerts(PolicyModel):
    """The alert rules: what is sent to whom before and when a clock breaches or a ladder step starts.

    - `warn_before`: per clock (and per severity), warn the incident owner this long before the
      clock breaches (a level's response clock warns that level's contacts).
    - `at_breach`: per clock, alert when it breaches; a clock left out alerts (on by default).
    - `escalation_steps`: when a step of the escalation ladder starts (its `from` time), alert
      that level's contacts.
    - `client_update_reminder`: remind the account's CSM this long before the client must next
      hear from us (the first notice and each update).
    - `always_page`: the severities that page even in quiet hours (a page of any other severity
      waits until the person's quiet hours end; see `core.oncall.reach`).

    The same alert is never sent twice: it is named by incident, rule, clock and deadline, so a
    reminder goes again only when the deadline moved (a pause, a new severity, a message sent).
    A policy without `alerts:` (every policy stored before alerts existed) alerts at every
    breach and every ladder step and gives no warnings ahead.
    """

    warn_before: dict[AlertClock, SeverityLead] = Field(default_factory=dict)
    at_breach: dict[AlertClock, bool] = Field(default_factory=dict)
    escalation_steps: bool = True
    client_update_reminder: SeverityLead | None = None
    always_page: tuple[Severity, ...] = ("P0", "P1")

    @model_validator(mode="after")
    def _client_update_is_a_reminder(self) -> Alerts:
        if "client_update" in self.warn_before:
            raise policy_error("the client update is the CSM's: set client_update_reminder (e.g. 10m) instead "
                               "of a warning", ["warn_before", "client_update"])
        return self

    def lead(self, clock: str, severity: str) -> timedelta | None:
        """How long before `clock` breaches the owner (or level) is warned at `severity`; None: no warning."""
        lead = self.warn_before.get(clock)  # type: ignore[call-overload]
        return lead.pick(severity) if lead is not None else None

    def on_breach(self, clock: str) -> bool:
        """True when a breach of `clock` sends an alert."""
        return bool(self.at_breach.get(clock, True))  # type: ignore[call-overload]

    def reminder(self, severity: str) -> timedelta | None:
        """How long before a client message is due the CSM is reminded at `severity`; None: no reminder."""
        return self.client_update_reminder.pick(severity) if self.client_update_reminder else None


# --------------------------------------------------------------------------
# The policy.


class Policy(PolicyModel):
    """A complete escalation policy, validated and immutable."""

    name: Slug
    title: TitleText
    source: TitleText
    description: Text
    severities: tuple[SeverityLevel, ...]
    default: DefaultOutcome
    targets: dict[Severity, dict[Clock, Timing]] = Field(default_factory=dict)
    calendars: dict[CalendarKey, Calendar] = Field(default_factory=dict)
    pausable_clocks: tuple[Clock, ...] = ()
    escalate_on_breach: tuple[Clock, ...] = ()
    rules: tuple[Rule, ...] = ()
    escalation_levels: tuple[EscalationLevel, ...] = ()
    directory: tuple[ContactGroup, ...] = ()
    roles: tuple[Role, ...] = ()
    phases: tuple[Phase, ...] = ()
    schedules: tuple[ClientSchedule, ...] = ()
    reviews: tuple[Review, ...] = ()
    objectives: tuple[Objective, ...] = ()
    early_warning: tuple[EarlyWarning, ...] = ()
    alerts: Alerts = Field(default_factory=Alerts)

    @model_validator(mode="before")
    @classmethod
    def _stored_roles(cls, data: object, info: ValidationInfo) -> object:
        # Only a policy read back from storage is completed; a team's new policy must list its roles.
        return fill_stored_roles(data) if info.context and info.context.get("stored") else data

    @model_validator(mode="after")
    def _coherent(self) -> Policy:
        ids = tuple(s.id for s in self.severities)
        if ids != SEVERITIES:
            raise policy_error(
                f"severities must be exactly {', '.join(SEVERITIES)} in that order (most to least severe); "
                f"got {', '.join(ids) or 'none'}",
                ["severities"],
            )
        levels = tuple(level.id for level in self.escalation_levels)
        if levels != LEVEL_IDS[: len(levels)]:
            raise policy_error(
                "escalation levels are numbered from L1 upwards without gaps, lowest first "
                f"(L1, L2, L3, L4); got {', '.join(levels)}",
                ["escalation_levels"],
            )
        self._check_level_refs(levels)
        self._check_severity_order()
        self._check_executive_floors()
        self._check_unique_ids()
        missing = missing_required(self.roles)
        if missing:
            raise policy_error(
                f"every policy defines the incident roles {' and '.join(REQUIRED_ROLES)}; add "
                + ", ".join(missing) + " (e.g. - {key: csm, title: Customer Success Manager})",
                ["roles"],
            )
        rule_ids = {rule.id for rule in self.rules}
        for i, objective in enumerate(self.objectives):
            for j, rule_id in enumerate(objective.rules):
                if rule_id not in rule_ids:
                    raise policy_error(f"objective '{objective.key}' names the rule '{rule_id}', which this policy "
                                       "does not have; rules: " + ", ".join(sorted(rule_ids)),
                                       ["objectives", i, "rules", j])
        fields = answer_fields()
        for i, warning in enumerate(self.early_warning):
            if warning.answer_field is not None and warning.answer_field not in fields:
                raise policy_error(
                    f"unknown answer field '{warning.answer_field}'; allowed: " + ", ".join(fields),
                    ["early_warning", i, "answer_field"],
                )
        self._check_alerts()
        return self

    def _alert_targets(self, clock: str, severity: str) -> list[timedelta]:
        # Every general target of the clock at this severity, over the tiers (a level's response included).
        if clock.startswith("response_"):
            level = next((lvl for lvl in self.escalation_levels if lvl.id == clock.removeprefix("response_")), None)
            timing = level.response if level else None
            return [t for tier in TIERS if timing and (t := timing.pick(severity, tier)) is not None]
        return [t for tier in TIERS if (t := self.target(clock, severity, tier)) is not None]

    def _check_alerts(self) -> None:
        levels = {level.id for level in self.escalation_levels}
        for section in ("warn_before", "at_breach"):
            for clock in getattr(self.alerts, section):
                if clock.startswith("response_") and clock.removeprefix("response_") not in levels:
                    raise policy_error(f"{clock} is the response clock of level {clock.removeprefix('response_')}, "
                                       "which this policy does not define; defined levels: "
                                       + (", ".join(sorted(levels)) or "none"), ["alerts", section, clock])
        for clock, lead in self.alerts.warn_before.items():
            for severity in SEVERITIES:
                ahead = lead.pick(severity)
                shortest = min(self._alert_targets(clock, severity), default=None)
                if ahead is not None and shortest == timedelta(0):
                    raise policy_error(
                        f"the {severity} {clock} target is immediate (0m): there is nothing to warn ahead of; "
                        f"leave {severity} out of this warning (its breach still alerts)",
                        ["alerts", "warn_before", clock] + ([severity] if getattr(lead, severity) else []))
                if ahead is not None and shortest is not None and ahead >= shortest:
                    raise policy_error(
                        f"the {severity} warning comes {duration_notation(ahead)} before the {clock} clock breaches, "
                        f"but its target is {duration_notation(shortest)}: " + _shorter(severity, shortest),
                        ["alerts", "warn_before", clock] + ([severity] if getattr(lead, severity) else []))
        reminder = self.alerts.client_update_reminder
        if reminder is None:
            return
        for severity in SEVERITIES:
            ahead = reminder.pick(severity)
            cadences = self._alert_targets("client_update", severity) + [
                s.every for s in self.schedules
                if s.every is not None and (not s.severities or severity in s.severities)]
            shortest = min(cadences, default=None)
            if ahead is not None and shortest is not None and ahead >= shortest:
                raise policy_error(
                    f"the {severity} reminder comes {duration_notation(ahead)} before a client update is due, but "
                    f"updates are due every {duration_notation(shortest)}: " + _shorter(severity, shortest),
                    ["alerts", "client_update_reminder"] + ([severity] if getattr(reminder, severity) else []))

    def _check_level_refs(self, levels: tuple[str, ...]) -> None:
        allowed = ", ".join(levels) or "none (this policy defines no escalation levels)"
        refs: list[tuple[str | None, list[Any]]] = [
            (s.escalation_level, ["severities", i, "escalation_level"]) for i, s in enumerate(self.severities)
        ]
        refs += [(r.then.escalation_level, ["rules", i, "then", "escalation_level"]) for i, r in enumerate(self.rules)]
        refs += [(step.level, ["severities", i, "ladder", j, "level"])
                 for i, s in enumerate(self.severities) for j, step in enumerate(s.ladder)]
        for level_id, at in refs:
            if level_id is not None and level_id not in levels:
                raise policy_error(f"escalation level '{level_id}' is not defined; defined levels: {allowed}", at)

    def _check_severity_order(self) -> None:
        # A more severe incident must never require less: this is what makes
        # "ticking a red flag never lowers the outcome" hold for any policy.
        for i in range(1, len(self.severities)):
            higher, lower = self.severities[i - 1], self.severities[i]
            if (
                (lower.red_status and not higher.red_status)
                or category_rank(lower.escalation_category) > category_rank(higher.escalation_category)
                or level_rank(lower.escalation_level) > level_rank(higher.escalation_level)
            ):
                raise policy_error(
                    f"{lower.id} may not imply more than {higher.id} (red status, escalation category "
                    "or escalation level): a more severe incident never requires less",
                    ["severities", i],
                )

    def _check_executive_floors(self) -> None:
        # A condition that needs the executives must never leave an incident at a
        # severity without a single clock: nobody would be chased to act on it.
        if not self.escalation_levels:
            return
        top = self.escalation_levels[-1]
        for ti, trigger in enumerate(top.triggers):
            floor = self.severity_floor(top.id, trigger.severity_floor)
            if not self.targets.get(floor):  # type: ignore[call-overload]
                raise policy_error(
                    f"trigger '{trigger.id}' needs {top.id} ({top.name}), but its severity floor {floor} has no "
                    "clock targets: give the trigger a severity_floor whose severity has targets",
                    ["escalation_levels", len(self.escalation_levels) - 1, "triggers", ti, "severity_floor"])

    def _check_unique_ids(self) -> None:
        seen: set[str] = set()
        located = [(r.id, ["rules", i, "id"]) for i, r in enumerate(self.rules)]
        for li, level in enumerate(self.escalation_levels):
            located += [(t.id, ["escalation_levels", li, "triggers", ti, "id"]) for ti, t in enumerate(level.triggers)]
        for rule_id, at in located:
            if rule_id in seen:
                raise policy_error(f"rule id '{rule_id}' is used twice; rule ids must be unique", at)
            seen.add(rule_id)
        step_keys: set[str] = set()
        for pi, phase in enumerate(self.phases):
            for si, step in enumerate(phase.steps):
                if step.key in step_keys:
                    raise policy_error(f"step key '{step.key}' is used twice; step keys are unique across phases",
                                       ["phases", pi, "steps", si, "key"])
                step_keys.add(step.key)
        for collection in ("roles", "phases", "schedules", "reviews", "objectives", "early_warning"):
            keys: set[str] = set()
            for i, item in enumerate(getattr(self, collection)):
                if item.key in keys:
                    raise policy_error(f"key '{item.key}' is used twice in {collection}", [collection, i, "key"])
                keys.add(item.key)

    def __repr__(self) -> str:
        # The full tree is long; the name identifies a policy in logs and test failures.
        return f"Policy(name={self.name!r}, source={self.source!r})"

    def severity(self, severity: str) -> SeverityLevel:
        """Return the definition of a severity id."""
        for level in self.severities:
            if level.id == severity:
                return level
        raise KeyError(f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}")

    def severity_label(self, sev: str) -> str:
        """Return the human label of a severity, e.g. 'Critical'."""
        return self.severity(sev).label

    def level(self, level_id: str) -> EscalationLevel:
        """Return an escalation level by id."""
        for level in self.escalation_levels:
            if level.id == level_id:
                return level
        known = ", ".join(level.id for level in self.escalation_levels) or "none"
        raise KeyError(f"unknown escalation level {level_id!r} in policy {self.name}; defined: {known}")

    def own_level(self, severity: str) -> str | None:
        """The highest level a severity needs by itself (its escalation level or its ladder)."""
        level = self.severity(severity)
        levels = [lvl for lvl in (level.escalation_level, *(step.level for step in level.ladder)) if lvl]
        return max(levels, key=level_rank) if levels else None

    def severity_floor(self, level_id: str, explicit: str | None = None) -> str:
        """The least severe severity an incident that needs `level_id` may have.

        A condition's own `severity_floor` wins; otherwise the least severe
        severity that itself needs this level or a higher one; when none does,
        the most severe severity.
        """
        if explicit is not None:
            return explicit
        reaching = [s.id for s in self.severities if level_rank(self.own_level(s.id)) >= level_rank(level_id)]
        return reaching[-1] if reaching else SEVERITIES[0]

    def role_keys(self) -> tuple[str, ...]:
        """The keys of the policy's incident roles, in the policy's order."""
        return tuple(role.key for role in self.roles)

    def role_title(self, key: str) -> str:
        """The title of an incident role; a key the policy lacks (an older assignment) is spelled out."""
        found = next((role for role in self.roles if role.key == key), None)
        return found.title if found else key.replace("_", " ").capitalize()

    def target(self, clock: str, severity: str, tier: str | None = None) -> timedelta | None:
        """Return the policy's general target for a clock at a severity and tier (None: no deadline)."""
        if clock not in CLOCKS:
            raise KeyError(f"unknown clock {clock!r}; expected one of {', '.join(CLOCKS)}")
        if severity not in SEVERITIES or (tier is not None and tier not in TIERS):
            raise KeyError(f"unknown severity {severity!r} or tier {tier!r}; expected {SEVERITIES} and {TIERS}")
        timing = self.targets.get(severity, {}).get(clock)  # type: ignore[call-overload]
        return timing.pick(severity=severity, tier=tier) if timing else None

    def calendar_for(self, clock: str) -> Calendar:
        """Return the calendar a clock runs on (its own, else the policy default, else 24x7)."""
        return self.calendars.get(clock) or self.calendars.get("default") or Calendar()  # type: ignore[call-overload]


def _shorter(severity: str, target: timedelta) -> str:
    # What to write instead: a third of the target, to the minute; under two minutes no lead fits.
    if target < timedelta(minutes=2):
        return f"no lead fits a target this short; leave {severity} out (the breach still alerts)"
    suggested = max(timedelta(minutes=1), timedelta(minutes=int(target.total_seconds() // 180)))
    return (f"give {severity} a lead shorter than {duration_notation(target)} (e.g. {duration_notation(suggested)}) "
            f"or leave {severity} out")


_STORED = {"stored": True}


def stored_policy(snapshot: Mapping[str, Any] | str) -> Policy:
    """A policy stored earlier (an incident's snapshot, as data or JSON): the roles it predates are filled in."""
    if isinstance(snapshot, str):
        return Policy.model_validate_json(snapshot, context=_STORED)
    return Policy.model_validate(snapshot, context=_STORED)
