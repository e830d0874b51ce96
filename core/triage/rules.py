"""The triage checklist and the explainable decision it leads to.

A CSM answers a short checklist about the account, the customer impact, the
technical picture, red flags and a few figures. ``triage`` applies one policy's
rules to those answers and returns the severity, red status, escalation
category, the escalation level the incident must reach, a deadline for every
SLA clock the policy sets, and the reasons (with the playbook section each
comes from). It is pure: the detection time is a parameter, it never reads the
clock, never touches storage and never imports streamlit.

How the decision is made: every rule whose condition matches fires. The
severity is the most severe among the fired rules and the policy default (the
default is the floor). Red status, escalation category and level are the
highest implied by the severity itself or by any fired rule or level trigger.
For each clock, a rule may bring its own target (e.g. "system outages within
2h"). The severity's general target is dropped only when every rule that set
the final severity brings its own target for that clock; otherwise all
applicable targets compete and the shortest wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.policy.calendar import add_working_time
from core.policy.ladder import PlannedStep, floors, planned_ladder
from core.policy.rules import ESCALATION_CATEGORIES, category_rank, level_rank, severity_rank
from core.policy.schema import Policy
from core.triage.answers import (
    ANSWER_FIELDS,
    FIELD_CHOICES,
    FIELD_HELP,
    FIELD_LABELS,
    FLAG_FIELDS,
    NUMBER_FIELDS,
    RED_FLAGS,
    Answers,
    AnswersError,
    number_range,
    parse_answers,
)
from core.vocabulary import CLOCKS

# The checklist names are re-exported: pages, ui and tests know the checklist through the rules.
__all__ = [
    "ANSWER_FIELDS",
    "FIELD_CHOICES",
    "FIELD_HELP",
    "FIELD_LABELS",
    "FLAG_FIELDS",
    "NUMBER_FIELDS",
    "RED_FLAGS",
    "Answers",
    "AnswersError",
    "Reason",
    "Retarget",
    "TriageResult",
    "number_range",
    "parse_answers",
    "retarget",
    "triage",
]


@dataclass(frozen=True)
class Reason:
    """Why part of the triage outcome is what it is, and where the policy says so."""

    text: str
    section: str
    rule_id: str
    outcome: str

    def to_json(self) -> dict[str, str]:
        """Return the reason as a JSON-ready dict."""
        return {"text": self.text, "section": self.section, "rule_id": self.rule_id, "outcome": self.outcome}


@dataclass(frozen=True)
class TriageResult:
    """The outcome of triaging one incident under one policy."""

    policy: str
    severity: str
    red_status: bool
    escalation_category: str
    escalation_level: str | None
    deadlines: dict[str, datetime]
    reasons: list[Reason] = field(default_factory=list)
    # The target each deadline was computed from (a rule may tighten the severity's
    # general one); the clock engine needs the duration, not just the instant.
    targets: dict[str, timedelta] = field(default_factory=dict)
    # The levels the incident needs, each from when and by when (the first is the escalation deadline).
    ladder: list[PlannedStep] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the result in the JSON shape of ``python -m core triage``."""
        return {
            "policy": self.policy,
            "severity": self.severity,
            "red_status": self.red_status,
            "escalation_category": self.escalation_category,
            "escalation_level": self.escalation_level,
            "reasons": [reason.to_json() for reason in self.reasons],
            "deadlines": {clock: moment.isoformat() for clock, moment in self.deadlines.items()},
        }


def _most_severe(severities: Sequence[str]) -> str:
    return max(severities, key=severity_rank)


@dataclass(frozen=True)
class Retarget:
    """What a severity implies for an incident with these answers: red status, escalation and clock targets."""

    red_status: bool
    escalation_category: str
    escalation_level: str | None
    targets: dict[str, timedelta]
    ladder: list[PlannedStep]
    # The escalation target before the ladder: what a step without its own due time is due by.
    escalation_base: timedelta | None


def retarget(answers: Answers, policy: Policy, severity: str) -> Retarget:
    """Red status, escalation, clock targets and ladder of an incident at `severity` with these answers.

    Triage and a later severity change both use it, so a changed severity keeps
    every rule target that still applies. For each clock a rule may bring its own
    target: with `targets_apply: replace` (the default) the severity's general
    target is dropped when every rule that set the severity brings one for that
    clock; otherwise all applicable targets compete and the shortest wins. The
    escalation target is the due time of the first step of the planned ladder.
    """
    fired = [rule for rule in policy.rules if rule.when.matches(answers)]
    implied = policy.severity(severity)
    red_status = implied.red_status or any(r.then.red_status for r in fired)
    category = max(
        [implied.escalation_category] + [r.then.escalation_category for r in fired if r.then.escalation_category],
        key=category_rank,
    )
    deciding = [r for r in fired if r.then.severity == severity]
    targets: dict[str, timedelta] = {}
    for clock in CLOCKS:
        general = policy.target(clock, severity, answers.customer_tier)
        specific = [r.then.targets[clock] for r in fired if clock in r.then.targets]
        replaces_general = bool(deciding) and all(
            clock in r.then.targets and r.then.targets_apply == "replace" for r in deciding)
        candidates = specific + ([] if replaces_general or general is None else [general])
        if candidates:
            targets[clock] = min(candidates)
    base = targets.get("escalation")
    ladder = planned_ladder(policy, answers, severity, base)
    level = max((step.level for step in ladder), key=level_rank, default=None)
    first_due = next((step.due for step in ladder if step.due is not None), None)
    if first_due is None:
        targets.pop("escalation", None)
    else:
        targets["escalation"] = first_due
    return Retarget(red_status, category, level, targets, ladder, base)


def triage(answers: Answers, policy: Policy, detected_at: datetime) -> TriageResult:
    """Apply the policy's rules to the answers and return the explained outcome and deadlines."""
    if detected_at.tzinfo is None or detected_at.utcoffset() is None:
        raise ValueError("detected_at must be timezone-aware")
    detected_at = detected_at.astimezone(UTC)

    fired = [rule for rule in policy.rules if rule.when.matches(answers)]
    level_hits = [
        (level, trigger)
        for level in policy.escalation_levels
        for trigger in level.triggers
        if trigger.when.matches(answers)
    ]
    by_rules = _most_severe([policy.default.severity] + [r.then.severity for r in fired if r.then.severity])
    raising = [f for f in floors(policy, answers) if severity_rank(f.severity) > severity_rank(by_rules)]
    severity = raising[0].severity if raising else by_rules
    implied = policy.severity(severity)
    plan = retarget(answers, policy, severity)
    deadlines = {clock: add_working_time(detected_at, target, policy.calendar_for(clock))
                 for clock, target in plan.targets.items()}

    reasons = [
        Reason(text=r.reason, section=r.section, rule_id=r.id, outcome=r.then.describe())
        for r in sorted(fired, key=lambda r: -severity_rank(r.then.severity) if r.then.severity else 0)
    ]
    if not any(r.then.severity for r in fired) and not raising:
        reasons.insert(
            0,
            Reason(
                text=policy.default.reason,
                section=policy.default.section,
                rule_id="default",
                outcome=f"severity {policy.default.severity}",
            ),
        )
    if raising:
        floor = raising[0]
        level_name = policy.level(floor.level).name
        reasons.insert(0, Reason(
            text=f"{floor.reason} It needs {floor.level} ({level_name}), and under this policy an incident that "
                 f"needs {floor.level} is at least {floor.severity}.",
            section=floor.section, rule_id=f"floor-{floor.condition_id}", outcome=f"severity {floor.severity}"))
    if implied.escalation_level or implied.ladder or implied.escalation_category != ESCALATION_CATEGORIES[0]:
        reasons.append(
            Reason(
                text=_severity_implication(policy, severity),
                section=implied.section,
                rule_id=f"severity-{severity.lower()}",
                outcome=_severity_outcome(implied.escalation_category, policy.own_level(severity)),
            )
        )
    reasons += [
        Reason(text=t.reason, section=t.section, rule_id=t.id, outcome=f"level {lvl.id}") for lvl, t in level_hits
    ]
    return TriageResult(
        policy=policy.name,
        severity=severity,
        red_status=plan.red_status,
        escalation_category=plan.escalation_category,
        escalation_level=plan.escalation_level,
        deadlines=deadlines,
        reasons=reasons,
        targets=plan.targets,
        ladder=plan.ladder,
    )


def _severity_implication(policy: Policy, severity: str) -> str:
    implied = policy.severity(severity)
    text = f"Every {severity} ({implied.label}) incident"
    parts = []
    if implied.escalation_category != "none":
        parts.append(f"falls in the '{implied.escalation_category}' escalation category")
    level = policy.own_level(severity)
    if level:
        parts.append(f"must reach {level} ({policy.level(level).name})")
    return f"{text} {' and '.join(parts)}."


def _severity_outcome(category: str, level_id: str | None) -> str:
    parts = [f"{category} escalation"] if category != "none" else []
    if level_id:
        parts.append(f"level {level_id}")
    return "; ".join(parts)

