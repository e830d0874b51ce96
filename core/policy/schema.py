"""Escalation policies as data: the schema, the rule language and the loader.

A policy is one organisation's way of handling customer emergencies: its
severity levels, the SLA clock targets per severity (and per customer tier),
the declarative rules that turn triage answers into a severity, red status,
escalation category and level, its escalation levels and contacts, the
calendars the clocks run on, review schedule, objectives and early-warning
signals. Policies live in YAML files and are validated on load; every error
names the file, the path inside it and what is allowed. This module never
imports streamlit, never reads the clock and does no I/O beyond reading the
policy file it is asked to load.

Rule language (used by ``rules[].when``, ``escalation_levels[].triggers[].when``
and ``phases[].when``): a condition is a mapping. A key that is an answer field
compares that answer -- a plain value means "equals", a list means "one of",
and a mapping of operators (``eq``, ``in``, ``gt``, ``gte``, ``lt``, ``lte``)
applies each of them. ``any: [...]`` and ``all: [...]`` combine conditions;
several keys in one mapping must all hold. An unanswered field never matches.
Flags may only be tested for ``true``, so that ticking one more red flag can
never make a rule stop firing.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from core.limits import FREE_TEXT, TITLE
from core.policy.calendar import Calendar
from core.triage import answers as triage
from core.vocabulary import CLOCKS, LEVEL_IDS, SEVERITIES, TIERS, Clock, LevelId, Severity

EscalationCategory = Literal["none", "standard", "priority", "immediate"]
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
Comparison = Literal["lt", "lte", "gt", "gte", "eq"]
# Account health signals an early-warning rule can watch, and how it measures them
# (see core.account.health for what each kind computes).
SignalMetric = Literal["support_tickets", "csat", "error_rate", "uptime_pct", "key_metric"]
WarningKind = Literal["increase_pct", "count_in_window", "rising_for", "below_target_pct", "below_value", "dropping"]
SIGNAL_METRICS: tuple[str, ...] = get_args(SignalMetric)
# Metrics that count events per day: windows add them up instead of averaging.
COUNT_METRICS: tuple[str, ...] = ("support_tickets",)
_KIND_NEEDS: dict[str, tuple[str, ...]] = {
    "increase_pct": ("window", "value"),
    "count_in_window": ("window", "value"),
    "rising_for": ("duration",),
    "below_target_pct": ("value",),
    "below_value": ("value",),
    "dropping": (),
}

# Ordered from least to most urgent, so that "the highest wins" is max().
ESCALATION_CATEGORIES: tuple[str, ...] = get_args(EscalationCategory)

PRESET_DIR = Path(__file__).resolve().parent / "presets"


class PolicyError(ValueError):
    """A policy file is missing, unreadable or invalid; the message says where and why."""


# --------------------------------------------------------------------------
# Durations written the way people write them: 15m, 4h, 2d, 1w, 1h30m.

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
_DURATION_HELP = (
    "write a whole number followed by a unit -- m (minutes), h (hours), d (days), w (weeks) -- "
    "for example 15m, 4h, 90d, 1w or 1h30m"
)


def parse_duration(value: object) -> timedelta:
    """Parse a human-readable duration such as ``15m`` or ``1w`` into a timedelta."""
    if isinstance(value, timedelta):
        if value < timedelta(0) or value % timedelta(minutes=1):
            raise PydanticCustomError(
                "duration", "durations must be whole minutes and not negative: {help}", {"help": _DURATION_HELP}
            )
        return value
    if isinstance(value, str):
        text = value.strip()
        match = _DURATION.match(text)
        if text and match:
            weeks, days, hours, minutes = (int(g or 0) for g in match.groups())
            return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    raise PydanticCustomError(
        "duration", "not a duration: {value}; {help}", {"value": repr(value), "help": _DURATION_HELP}
    )


def format_duration(value: timedelta) -> str:
    """Write a timedelta back in the policy file notation (``72h``, ``2w``, ``90d``, ``1h30m``)."""
    minutes_total = int(value.total_seconds() // 60)
    days, rest = divmod(minutes_total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    # Under a week people think in hours (24h, 72h); beyond, in weeks or days.
    if days >= 7:
        parts.append(f"{days // 7}w" if days % 7 == 0 else f"{days}d")
    else:
        hours += days * 24
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    return "".join(parts) or "0m"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=FREE_TEXT.max_chars)]
# A policy's title, source and review titles are stored in columns of 200 characters (core.limits.TITLE).
TitleText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE.max_chars)]
# Names and keys are stored in columns of 64 characters.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=64)]


class _Strict(BaseModel):
    """Base of every policy model: immutable, and unknown keys are errors naming the allowed ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: object) -> object:
        if isinstance(data, dict):
            allowed = [field.alias or name for name, field in cls.model_fields.items()]
            for key in data:
                if key not in allowed:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key '{key}'; allowed keys: {allowed}",
                        {"key": str(key), "allowed": ", ".join(allowed), "at": [str(key)]},
                    )
        return data


def _policy_error(message: str, at: list[Any] | None = None) -> PydanticCustomError:
    return PydanticCustomError("policy", "{message}", {"message": message, "at": at or []})


# --------------------------------------------------------------------------
# The rule language.


@dataclass(frozen=True)
class _Vocabulary:
    choices: dict[str, tuple[str, ...]]
    flags: tuple[str, ...]
    numbers: tuple[str, ...]
    texts: tuple[str, ...]

    order: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return self.order


@functools.cache
def _vocabulary() -> _Vocabulary:
    # The triage checklist's answers are what rules may talk about.
    return _Vocabulary(
        choices=dict(triage.FIELD_CHOICES),
        flags=tuple(triage.FLAG_FIELDS),
        numbers=tuple(triage.NUMBER_FIELDS),
        texts=tuple(triage.TEXT_FIELDS),
        order=tuple(triage.Answers.model_fields),
    )


_COMBINATORS = ("any", "all")
_NUMBER_OPS = ("eq", "gt", "gte", "lt", "lte")
_CHOICE_OPS = ("eq", "in")
Scalar = bool | float | str


@dataclass(frozen=True)
class Condition:
    """One node of a rule condition: ``any``/``all`` of children, or a comparison of one answer."""

    op: str
    field: str | None = None
    value: Scalar | tuple[Scalar, ...] | None = None
    children: tuple[Condition, ...] = ()

    def matches(self, answers: object) -> bool:
        """Tell whether the answers satisfy this condition (unanswered fields never match)."""
        if self.op == "any":
            return any(child.matches(answers) for child in self.children)
        if self.op == "all":
            return all(child.matches(answers) for child in self.children)
        actual = getattr(answers, str(self.field))
        if actual is None:
            return False
        if self.op == "eq":
            return bool(actual == self.value)
        if self.op == "in":
            return actual in self.value  # type: ignore[operator]
        limit = float(self.value)  # type: ignore[arg-type]
        return {
            "gt": actual > limit,
            "gte": actual >= limit,
            "lt": actual < limit,
            "lte": actual <= limit,
        }[self.op]

    def fields(self) -> set[str]:
        """Return the answer fields this condition reads."""
        if self.field is not None:
            return {self.field}
        return set().union(*(child.fields() for child in self.children))

    def to_data(self) -> dict[str, Any]:
        """Return the condition in the same notation the policy file uses."""
        if self.op in _COMBINATORS:
            return {self.op: [child.to_data() for child in self.children]}
        if self.op == "eq":
            return {self.field: self.value}
        if self.op == "in":
            return {self.field: list(self.value)}  # type: ignore[arg-type]
        return {self.field: {self.op: self.value}}

    @classmethod
    def parse(cls, raw: object, at: list[Any] | None = None) -> Condition:
        """Parse and check a condition written in the policy notation."""
        at = at or []
        if isinstance(raw, Condition):
            return raw
        vocabulary = _vocabulary()
        if not isinstance(raw, dict) or not raw:
            raise _policy_error(
                "a condition is a non-empty mapping, e.g. {business_impact: stopped} "
                "or {any: [{complete_outage: true}, {outage_minutes: {gt: 60}}]}",
                at,
            )
        parts: list[Condition] = []
        for key, value in raw.items():
            here = [*at, key]
            if key in _COMBINATORS:
                if not isinstance(value, list) or not value:
                    raise _policy_error(f"'{key}' takes a non-empty list of conditions", here)
                children = tuple(cls.parse(item, [*here, i]) for i, item in enumerate(value))
                parts.append(cls(op=key, children=children))
            elif key in vocabulary.fields:
                parts.extend(_parse_comparisons(str(key), value, here, vocabulary))
            else:
                raise _policy_error(
                    f"unknown field or operator '{key}'; allowed: any, all, or an answer field: "
                    + ", ".join(vocabulary.fields),
                    here,
                )
        return parts[0] if len(parts) == 1 else cls(op="all", children=tuple(parts))

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda c: c.to_data()),
        )


def _parse_comparisons(field: str, raw: object, at: list[Any], vocabulary: _Vocabulary) -> list[Condition]:
    if isinstance(raw, dict):
        if not raw:
            raise _policy_error("an empty mapping compares nothing", at)
        operations = list(raw.items())
    elif isinstance(raw, list):
        operations = [("in", raw)]
    else:
        operations = [("eq", raw)]
    result = []
    for op, value in operations:
        here = [*at, op] if isinstance(raw, dict) else at
        result.append(_parse_comparison(field, str(op), value, here, vocabulary))
    return result


def _parse_comparison(field: str, op: str, value: object, at: list[Any], vocabulary: _Vocabulary) -> Condition:
    if field in vocabulary.flags:
        if op != "eq" or value is not True:
            raise _policy_error(
                f"'{field}' is a flag: a rule may only test that it is set ({field}: true), "
                "so that ticking a flag can never make a rule stop firing",
                at,
            )
        return Condition(op="eq", field=field, value=True)
    if field in vocabulary.numbers:
        if op not in _NUMBER_OPS:
            raise _policy_error(
                f"operator '{op}' does not apply to the number '{field}'; allowed operators: "
                + ", ".join(_NUMBER_OPS),
                at,
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _policy_error(f"'{field}' is compared with a number, got {value!r}", at)
        return Condition(op=op, field=field, value=float(value))
    if op not in _CHOICE_OPS:
        raise _policy_error(
            f"operator '{op}' does not apply to '{field}'; allowed operators: " + ", ".join(_CHOICE_OPS),
            at,
        )
    choices = vocabulary.choices.get(field)
    values = value if op == "in" else [value]
    if not isinstance(values, list) or not values:
        raise _policy_error(f"'in' takes a non-empty list of values for '{field}'", at)
    checked: list[str] = []
    for item in values:
        if isinstance(item, bool) and choices and "yes" in choices:
            item = "yes" if item else "no"  # YAML reads a bare yes/no as a boolean
        if not isinstance(item, str) or (choices is not None and item not in choices):
            allowed = ", ".join(choices) if choices else "any text"
            raise _policy_error(f"{item!r} is not a value of '{field}'; allowed values: {allowed}", at)
        checked.append(item)
    if op == "eq":
        return Condition(op="eq", field=field, value=checked[0])
    return Condition(op="in", field=field, value=tuple(checked))


# --------------------------------------------------------------------------
# Policy building blocks.


class Timing(_Strict):
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
        if isinstance(data, (str, timedelta)):
            return {"default": parse_duration(data)}
        return data

    @model_validator(mode="after")
    def _not_empty(self) -> Timing:
        if all(getattr(self, key) is None for key in type(self).model_fields):
            raise _policy_error(
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
        if tier is not None and getattr(self, tier) is not None:
            return getattr(self, tier)
        if severity is not None and getattr(self, severity) is not None:
            return getattr(self, severity)
        if self.default is not None:
            return self.default
        if tier is None:
            by_tier = [getattr(self, t) for t in TIERS if getattr(self, t) is not None]
            if by_tier:
                return min(by_tier)
        return None


class SeverityLevel(_Strict):
    """One severity (P0..P3): its label, our definition and what it implies by itself."""

    id: Severity
    label: Text
    definition: Text
    section: Text
    red_status: bool = False
    escalation_category: EscalationCategory = "none"
    escalation_level: LevelId | None = None
    team_response: Text | None = None


class DefaultOutcome(_Strict):
    """The severity given when no rule raises it, with the reason shown for it."""

    severity: Severity
    reason: Text
    section: Text


class Outcome(_Strict):
    """What a fired rule contributes; target overrides are specific to the rule's kind of incident."""

    severity: Severity | None = None
    red_status: bool = False
    escalation_category: EscalationCategory | None = None
    escalation_level: LevelId | None = None
    targets: dict[Clock, Duration] = {}

    @model_validator(mode="after")
    def _says_something(self) -> Outcome:
        if (
            self.severity is None
            and not self.red_status
            and self.escalation_category is None
            and self.escalation_level is None
            and not self.targets
        ):
            raise _policy_error(
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
        parts.extend(f"{clock.replace('_', ' ')} within {format_duration(d)}" for clock, d in self.targets.items())
        return "; ".join(parts)


class Rule(_Strict):
    """When the answers match ``when``, the outcome applies, explained by ``reason`` and ``section``."""

    id: Slug
    when: Condition
    then: Outcome
    reason: Text
    section: Text


class LevelTrigger(_Strict):
    """A condition that requires the incident to reach the escalation level it belongs to."""

    id: Slug
    when: Condition
    reason: Text
    section: Text


class TimeTrigger(_Strict):
    """Reach the level once the incident is still unresolved this long after detection."""

    unresolved_for: Timing
    note: Text | None = None


class Availability(_Strict):
    """When a contact can be reached for some severities."""

    severities: tuple[Severity, ...] = Field(min_length=1)
    coverage: Literal["24x7", "business_hours"]


class Contact(_Strict):
    """A person, role, list or channel to reach, exactly as the organisation publishes it."""

    role: Text
    name: Text | None = None
    handles: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    channel: Text | None = None
    escalation: Text | None = None
    availability: tuple[Availability, ...] = ()


class EscalationLevel(_Strict):
    """One rung of the escalation ladder, who it reaches and what sends an incident there."""

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


class ContactGroup(_Strict):
    """A named list of further contacts (on-call rotation, mailing lists, outside counsel...)."""

    title: Text
    contacts: tuple[Contact, ...] = Field(min_length=1)


class Role(_Strict):
    """An incident role and its duties."""

    key: Slug
    title: Text
    agent: Text | None = None
    duties: tuple[Text, ...] = ()


class Phase(_Strict):
    """A window of the response timeline, measured from detection."""

    key: Slug
    title: Text
    start: Duration
    end: Duration
    section: Text
    severities: tuple[Severity, ...] = ()
    when: Condition | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.end < self.start:
            raise _policy_error("a phase must not end before it starts", ["end"])
        return self


class Review(_Strict):
    """A post-incident review due this long after resolution."""

    key: Slug
    title: TitleText
    after_resolution: Duration

    @model_validator(mode="after")
    def _after_resolution(self) -> Review:
        # A review at the moment of resolution could never be prepared: it must lie after it.
        if self.after_resolution <= timedelta(0):
            raise _policy_error("a review falls due some time after resolution: give e.g. 24h or 1w",
                                ["after_resolution"])
        return self


class _Measured(_Strict):
    """A number or duration compared against a threshold."""

    comparison: Comparison | None = None
    value: float | None = None
    duration: Duration | None = None
    unit: Literal["percent", "score", "count", "duration"] | None = None

    @model_validator(mode="after")
    def _one_measure(self) -> _Measured:
        if self.value is not None and self.duration is not None:
            raise _policy_error("give either value or duration, not both")
        if self.duration is not None and self.unit not in (None, "duration"):
            raise _policy_error("a duration threshold has unit: duration", ["unit"])
        if self.value is not None and self.unit in (None, "duration"):
            raise _policy_error("a numeric threshold needs a unit: percent, score or count", ["unit"])
        if (self.value is not None or self.duration is not None) and self.comparison is None:
            raise _policy_error("a threshold needs a comparison: lt, lte, gt, gte or eq", ["comparison"])
        return self


class Objective(_Measured):
    """A target the organisation reports on (shown by dashboards, not used by triage)."""

    key: Slug
    title: Text
    section: Text
    within: Duration | None = None
    period: Duration | None = None
    clock: Clock | None = None
    severities: tuple[Severity, ...] = ()

    @model_validator(mode="after")
    def _has_target(self) -> Objective:
        if self.value is None and self.duration is None:
            raise _policy_error("an objective needs a value or a duration")
        return self


class EarlyWarning(_Measured):
    """A signal that predicts an emergency before the customer reports one.

    With ``metric`` and ``kind`` the rule is evaluated on account health signals
    (core.account.health): it fires when the measure of its kind compares to the
    threshold as ``comparison`` says. Without them it is documentation only.
    """

    key: Slug
    title: Text
    section: Text
    answer_field: str | None = None
    window: Duration | None = None
    predicts: tuple[Severity, ...] = ()
    metric: SignalMetric | None = None
    kind: WarningKind | None = None

    @model_validator(mode="after")
    def _evaluable(self) -> EarlyWarning:
        if self.metric is None and self.kind is None:
            return self
        if self.metric is None or self.kind is None:
            raise _policy_error("give both metric and kind, or neither (the rule is then not evaluated)")
        needs = _KIND_NEEDS[self.kind]
        if "window" in needs and self.window is None:
            raise _policy_error(f"kind {self.kind} compares a time window: give window, e.g. 1w", ["window"])
        if "value" in needs and self.value is None:
            raise _policy_error(f"kind {self.kind} needs a numeric threshold: comparison, value and unit", ["value"])
        if "duration" in needs and self.duration is None:
            raise _policy_error(f"kind {self.kind} needs a duration threshold: comparison and duration, e.g. 48h",
                                ["duration"])
        if self.kind == "dropping" and self.duration is not None:
            raise _policy_error("kind dropping takes no duration; give value for the smallest drop, or nothing",
                                ["duration"])
        if self.kind in ("count_in_window", "increase_pct") and self.metric not in COUNT_METRICS:
            raise _policy_error(f"kind {self.kind} adds up counts; metric must be one of: {', '.join(COUNT_METRICS)}",
                                ["metric"])
        return self


# --------------------------------------------------------------------------
# The policy.


class Policy(_Strict):
    """A complete escalation policy, validated and immutable."""

    name: Slug
    title: TitleText
    source: TitleText
    description: Text
    severities: tuple[SeverityLevel, ...]
    default: DefaultOutcome
    targets: dict[Severity, dict[Clock, Timing]] = {}
    calendars: dict[CalendarKey, Calendar] = {}
    pausable_clocks: tuple[Clock, ...] = ()
    escalate_on_breach: tuple[Clock, ...] = ()
    rules: tuple[Rule, ...] = ()
    escalation_levels: tuple[EscalationLevel, ...] = ()
    directory: tuple[ContactGroup, ...] = ()
    roles: tuple[Role, ...] = ()
    phases: tuple[Phase, ...] = ()
    reviews: tuple[Review, ...] = ()
    objectives: tuple[Objective, ...] = ()
    early_warning: tuple[EarlyWarning, ...] = ()

    @model_validator(mode="after")
    def _coherent(self) -> Policy:
        ids = tuple(s.id for s in self.severities)
        if ids != SEVERITIES:
            raise _policy_error(
                f"severities must be exactly {', '.join(SEVERITIES)} in that order (most to least severe); "
                f"got {', '.join(ids) or 'none'}",
                ["severities"],
            )
        levels = tuple(level.id for level in self.escalation_levels)
        if levels != LEVEL_IDS[: len(levels)]:
            raise _policy_error(
                "escalation levels are numbered from L1 upwards without gaps, lowest first "
                f"(L1, L2, L3, L4); got {', '.join(levels)}",
                ["escalation_levels"],
            )
        self._check_level_refs(levels)
        self._check_severity_order()
        self._check_unique_ids()
        vocabulary = _vocabulary()
        for i, warning in enumerate(self.early_warning):
            if warning.answer_field is not None and warning.answer_field not in vocabulary.fields:
                raise _policy_error(
                    f"unknown answer field '{warning.answer_field}'; allowed: " + ", ".join(vocabulary.fields),
                    ["early_warning", i, "answer_field"],
                )
        return self

    def _check_level_refs(self, levels: tuple[str, ...]) -> None:
        allowed = ", ".join(levels) or "none (this policy defines no escalation levels)"
        refs: list[tuple[str | None, list[Any]]] = [
            (s.escalation_level, ["severities", i, "escalation_level"]) for i, s in enumerate(self.severities)
        ]
        refs += [(r.then.escalation_level, ["rules", i, "then", "escalation_level"]) for i, r in enumerate(self.rules)]
        for level_id, at in refs:
            if level_id is not None and level_id not in levels:
                raise _policy_error(f"escalation level '{level_id}' is not defined; defined levels: {allowed}", at)

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
                raise _policy_error(
                    f"{lower.id} may not imply more than {higher.id} (red status, escalation category "
                    "or escalation level): a more severe incident never requires less",
                    ["severities", i],
                )

    def _check_unique_ids(self) -> None:
        seen: set[str] = set()
        located = [(r.id, ["rules", i, "id"]) for i, r in enumerate(self.rules)]
        for li, level in enumerate(self.escalation_levels):
            located += [(t.id, ["escalation_levels", li, "triggers", ti, "id"]) for ti, t in enumerate(level.triggers)]
        for rule_id, at in located:
            if rule_id in seen:
                raise _policy_error(f"rule id '{rule_id}' is used twice; rule ids must be unique", at)
            seen.add(rule_id)
        for collection in ("roles", "phases", "reviews", "objectives", "early_warning"):
            keys: set[str] = set()
            for i, item in enumerate(getattr(self, collection)):
                if item.key in keys:
                    raise _policy_error(f"key '{item.key}' is used twice in {collection}", [collection, i, "key"])
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


def severity_rank(severity: str) -> int:
    """Return how severe a severity is: larger is more severe (P0 highest)."""
    return len(SEVERITIES) - SEVERITIES.index(severity)


def category_rank(category: str | None) -> int:
    """Return how urgent an escalation category is: larger is more urgent (none is 0)."""
    return ESCALATION_CATEGORIES.index(category) if category else 0


def level_rank(level_id: str | None) -> int:
    """Return how high an escalation level is: L1 is 1, no level is 0."""
    return LEVEL_IDS.index(level_id) + 1 if level_id else 0


# --------------------------------------------------------------------------
# Loading.


# What a policy file may be before it is even parsed: a policy is a few KB
# (the presets are 12-19 KB, about 1,000 values, nested 10 deep), so these
# leave room for any real one and refuse the rest in milliseconds.
MAX_POLICY_BYTES = 256 * 1024
MAX_POLICY_DEPTH = 32
# Values once every alias is expanded: stops "billion laughs" files whose
# few lines name each other until validation would walk billions of values.
MAX_POLICY_VALUES = 50_000
_TOO_DEEP = f"values are nested more than {MAX_POLICY_DEPTH} levels deep; a policy needs about 10"


@dataclass(frozen=True)
class PolicyProblem:
    """One thing to fix in a policy file: where (file, line, path inside the policy) and what."""

    source: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        # One problem, one line, whatever the message quotes from the file.
        message = " ".join(self.message.split())
        return f"{self.source}:{self.line}: {self.path}: {message}"


class PolicyFileError(PolicyError):
    """A policy file with problems; `problems` lists each of them with its line."""

    def __init__(self, problems: list[PolicyProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


def _file_problem(source: str, message: str, line: int = 1) -> PolicyFileError:
    return PolicyFileError([PolicyProblem(source, line, "(file)", message)])


class _PolicyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys, deep nesting, self-references and runaway aliases."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._values = 0
        self._open_anchors: set[str] = set()
        self._measured: dict[int, tuple[int, int]] = {}

    def _refuse(self, message: str, mark: Any) -> None:
        raise yaml.composer.ComposerError(None, None, message, mark)

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # The scanner reads ahead over every '[' of a line before the composer
        # sees the first one: stop it at the same depth, not 100,000 brackets later.
        if self.flow_level >= MAX_POLICY_DEPTH:
            self._refuse(_TOO_DEEP, self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                self._refuse(f"alias *{event.anchor} refers to the value that contains it", event.start_mark)
            target = self.anchors.get(event.anchor)
            if target is not None:
                values, height = self._measure(target)
                if self._depth + height > MAX_POLICY_DEPTH:
                    self._refuse(f"alias *{event.anchor} nests values more than {MAX_POLICY_DEPTH} levels deep",
                                 event.start_mark)
                self._count(values, f"alias *{event.anchor}", event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_POLICY_DEPTH:
            self._refuse(_TOO_DEEP, event.start_mark)
        self._count(1, "this value", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor:
            self._open_anchors.add(anchor)
        node = super().compose_node(parent, index)
        self._open_anchors.discard(anchor)
        self._depth -= 1
        return node

    def _count(self, values: int, what: str, mark: Any) -> None:
        self._values += values
        if self._values > MAX_POLICY_VALUES:
            self._refuse(f"{what} brings the file past {MAX_POLICY_VALUES:,} values once aliases are expanded; "
                         "a policy has about 1,000", mark)

    def _measure(self, node: Any) -> tuple[int, int]:
        """How many values `node` stands for once expanded, and how deep they nest (memoised per node)."""
        known = self._measured.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        measured = [self._measure(child) for child in children]
        result = (1 + sum(v for v, _h in measured), 1 + max((h for _v, h in measured), default=0))
        self._measured[id(node)] = result
        return result


def _construct_unique_mapping(loader: _PolicyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain word or text, not a list or mapping", key_node.start_mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_PolicyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _dotted(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(root: Any, loc: list[Any]) -> int:
    """The line of the deepest node of the file that `loc` reaches (1-based)."""
    node, line = root, root.start_mark.line
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value
                          if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 1


def _explain(exc: ValidationError, source: str, root: Any) -> list[PolicyProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        ctx = error.get("ctx") or {}
        message = error["msg"]
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
            message = f"unknown key {error['input']!r}; allowed keys: {ctx.get('expected', message)}"
        elif error["type"] == "literal_error":
            message = f"{error['input']!r} is not allowed; expected {ctx.get('expected')}"
        elif error["type"] == "missing":
            message = "this required key is missing"
        elif error["type"] == "string_too_long":
            message = f"is {len(error['input']):,} characters long; the limit is {ctx['max_length']:,}"
        elif error["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        loc += list(ctx.get("at", []))
        problems.append(PolicyProblem(source, _line_of(root, loc), _dotted(loc) or "(top level)", message))
    return problems


def _yaml_problem(exc: yaml.YAMLError, source: str, text: str) -> PolicyFileError:
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        return _file_problem(source, f"not valid YAML: the character #x{exc.character:04X} is not allowed in a "
                                     "YAML file (control characters and NUL are not text)", line)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else problem
    return _file_problem(source, f"not valid YAML: {detail}", mark.line + 1 if mark else 1)


def policy_text(data: bytes, source: str) -> str:
    """The text of a policy file's bytes: refused when over the size limit or not UTF-8."""
    if len(data) > MAX_POLICY_BYTES:
        raise _size_problem(len(data), source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _file_problem(source, f"not UTF-8 text: byte 0x{data[exc.start]:02X} at position {exc.start} "
                                    "cannot be read; save the file as UTF-8", line) from None


def _size_problem(size: int, source: str) -> PolicyFileError:
    return _file_problem(source, f"the file is {size:,} bytes; a policy file is at most {MAX_POLICY_BYTES:,} bytes "
                                 f"({MAX_POLICY_BYTES // 1024} KB; a policy is a few KB): remove what is not policy")


def parse_policy(text: str | bytes, source: str) -> Policy:
    """Parse and validate policy YAML within the size, depth and alias limits; ``source`` names the file."""
    if isinstance(text, bytes):
        text = policy_text(text, source)
    # Characters never outnumber UTF-8 bytes: only text near the limit needs encoding to be measured.
    if len(text) > MAX_POLICY_BYTES // 4 and (size := len(text.encode("utf-8", "replace"))) > MAX_POLICY_BYTES:
        raise _size_problem(size, source)
    loader = None
    try:
        loader = _PolicyLoader(text)  # its reader checks every character at once
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc, source, text) from None
    except ValueError as exc:  # a date such as 2025-13-45, or a number with thousands of digits
        reason = str(exc).split(";")[0]
        raise _file_problem(source, f"not valid YAML: a value cannot be read ({reason})") from None
    except RecursionError:  # the limits above should make this unreachable; never crash on it
        raise _file_problem(source, f"values are nested too deeply; keep under {MAX_POLICY_DEPTH} levels") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise PolicyFileError([PolicyProblem(source, 1, "(top level)",
                                             "a policy file is a YAML mapping with keys such as name, title, severities")])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyFileError(_explain(exc, source, root)) from None


def load_policy_file(path: str | Path, source: str | None = None) -> Policy:
    """Read and validate a policy YAML file; ``source`` names it in messages (default: the file name)."""
    path = Path(path)
    source = source or path.name
    try:
        with path.open("rb") as handle:
            # Never read more than one byte past the limit: a 50 MB file costs as little as a 300 KB one.
            data = handle.read(MAX_POLICY_BYTES + 1)
            size = max(len(data), os.fstat(handle.fileno()).st_size)
    except OSError as exc:
        raise _file_problem(source, f"cannot read policy file: {exc.strerror or exc}") from None
    if size > MAX_POLICY_BYTES:
        raise _size_problem(size, source)
    return parse_policy(data, source)


def preset_names() -> list[str]:
    """Return the names of the bundled presets, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


@functools.cache
def load_preset(name: str) -> Policy:
    """Load a bundled preset by name (cached: policies are immutable)."""
    names = preset_names()
    if name not in names:
        raise PolicyError(f"unknown policy {name!r}; choose one of: {', '.join(names)}")
    policy = load_policy_file(PRESET_DIR / f"{name}.yaml")
    if policy.name != name:
        raise PolicyError(f"{name}.yaml: name: the policy is named {policy.name!r} but the file is {name}.yaml")
    return policy
