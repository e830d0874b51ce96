"""The escalation ladder and client schedule a policy plans for an incident, as offsets from detection.

`planned_ladder` answers "which levels do these answers and this severity need,
each from when and by when?" before anything has happened: the severity's own
steps (its `ladder`, or its `escalation_level` by the escalation target), the
levels of rules and level triggers the answers match (each in its trigger's
window, else by the escalation target). One step per level: the earliest due
wins. Triage reports the first step's due time as the escalation deadline; the
incident's live ladder (`core.incident.escalation`) adds what unfolds over time.

`floors` applies `Policy.severity_floor` (the least severe severity an incident
that needs a level may have) to the answers. `choose_schedule` picks the
policy's client schedule for an incident; `applies` is the one test of whether a
schedule or a phase (scoped by `severities` and a `when` condition) applies to an
incident, shared with `core.incident.phases`. Pure: no I/O, no clock, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from core.policy.rules import level_rank
from core.policy.schema import ClientSchedule, Phase, Policy
from core.vocabulary import SEVERITIES


@dataclass(frozen=True)
class PlannedStep:
    """A level required from `start` and due by `due` after detection (None: no deadline), and why."""

    level: str
    start: timedelta
    due: timedelta | None
    reason: str
    section: str

    def to_json(self) -> dict[str, object]:
        """The step as stored with an incident's triage (seconds)."""
        return {"level": self.level, "start": self.start.total_seconds(),
                "due": None if self.due is None else self.due.total_seconds(), "reason": self.reason,
                "section": self.section}


def _sort_key(step: PlannedStep) -> tuple[float, float, int]:
    due = step.due.total_seconds() if step.due is not None else float("inf")
    return (due, step.start.total_seconds(), level_rank(step.level))


def merge_steps(steps: list[PlannedStep]) -> list[PlannedStep]:
    """One step per level, the strictest (earliest due, then earliest start), ordered by due time."""
    best: dict[str, PlannedStep] = {}
    for step in steps:
        held = best.get(step.level)
        if held is None or _sort_key(step) < _sort_key(held):
            best[step.level] = step
    return sorted(best.values(), key=_sort_key)


def _with_note(text: str, note: str | None) -> str:
    return f"{text} {note[0].upper()}{note[1:]}." if note else text


def severity_steps(policy: Policy, severity: str, escalation_target: timedelta | None) -> list[PlannedStep]:
    """The levels a severity needs by itself."""
    level = policy.severity(severity)
    text = f"Every {severity} ({level.label}) incident must reach this level."
    if level.ladder:
        return [PlannedStep(step.level, step.start, step.due, _with_note(text, step.note), level.section)
                for step in level.ladder]
    if level.escalation_level is None:
        return []
    return [PlannedStep(level.escalation_level, timedelta(0), escalation_target, text, level.section)]


def condition_steps(policy: Policy, answers: object, escalation_target: timedelta | None) -> list[PlannedStep]:
    """The levels the answers need, whatever the severity: level triggers and rules that carry a level."""
    steps = []
    for rule in policy.rules:
        if rule.then.escalation_level and rule.when.matches(answers):
            steps.append(PlannedStep(rule.then.escalation_level, timedelta(0), escalation_target, rule.reason,
                                     rule.section))
    for level in policy.escalation_levels:
        for trigger in level.triggers:
            if trigger.when.matches(answers):
                due = trigger.due if trigger.due is not None else escalation_target
                start = trigger.start or timedelta(0)
                steps.append(PlannedStep(level.id, start, None if due is None else max(due, start),
                                         trigger.reason, trigger.section))
    return steps


def planned_ladder(policy: Policy, answers: object, severity: str,
                   escalation_target: timedelta | None) -> list[PlannedStep]:
    """The steps known at triage, one per level, ordered by due time (the first is the escalation deadline)."""
    return merge_steps(severity_steps(policy, severity, escalation_target)
                       + condition_steps(policy, answers, escalation_target))


@dataclass(frozen=True)
class Floor:
    """A severity floor the answers set: the condition, its level and the least severe severity allowed."""

    severity: str
    level: str
    condition_id: str
    reason: str
    section: str


def floors(policy: Policy, answers: object) -> list[Floor]:
    """The severity floors of every level trigger and leveled rule the answers match, most severe first."""
    found = []
    for rule in policy.rules:
        if rule.then.escalation_level and rule.when.matches(answers):
            found.append(Floor(policy.severity_floor(rule.then.escalation_level), rule.then.escalation_level,
                               rule.id, rule.reason, rule.section))
    for level in policy.escalation_levels:
        for trigger in level.triggers:
            if trigger.when.matches(answers):
                found.append(Floor(policy.severity_floor(level.id, trigger.severity_floor), level.id, trigger.id,
                                   trigger.reason, trigger.section))
    return sorted(found, key=lambda f: SEVERITIES.index(f.severity))


def applies(scoped: ClientSchedule | Phase, answers: object, severity: str) -> bool:
    """Tell whether a schedule or phase applies: its severities (none listed: all) and its condition (none: always)."""
    if scoped.severities and severity not in scoped.severities:
        return False
    return scoped.when is None or scoped.when.matches(answers)


def choose_schedule(policy: Policy, answers: object, severity: str) -> ClientSchedule | None:
    """The first of the policy's client schedules that applies to this severity and these answers."""
    return next((schedule for schedule in policy.schedules if applies(schedule, answers, severity)), None)
