"""The response phases of an incident and the state of each phase step at a given time.

A policy splits the response into phases, windows measured from detection
(`phases` in the policy), each with the steps to take in it and when each is
due. This module answers three questions for the incident page: which phases
apply to this incident (by severity and condition, the same test as client
schedules: `core.policy.ladder.applies`), where every step stands at `now`
(met, breached or pending), which phase to work on and which steps are most
urgent. A step that records a milestone is done when the milestone is; any
other step is done when someone ticked it off (`steps_done`).

Due times are clock time from detection (never business hours): a phase is a
stretch of the emergency itself. Pure: it never reads the clock (callers pass
`now`), never touches the database and never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.policy.ladder import applies
from core.policy.schema import Policy
from core.triage.answers import Answers
from core.vocabulary import ClockState


@dataclass(frozen=True)
class StepProgress:
    """One step of a phase: due when, done when (None: not yet) and its state at `now`."""

    key: str
    title: str
    phase_key: str
    due: dt.datetime
    milestone: str | None
    done_at: dt.datetime | None
    # MET: done by its due time; BREACHED: done late, or not done and past due; PENDING: not done, not yet due.
    state: ClockState


@dataclass(frozen=True)
class PhaseProgress:
    """One phase that applies to the incident: its window and its steps in the policy's order."""

    key: str
    title: str
    section: str
    start: dt.datetime
    end: dt.datetime
    steps: tuple[StepProgress, ...]

    @property
    def done(self) -> bool:
        """Every step of the phase is done (a phase without steps is done)."""
        return all(step.done_at is not None for step in self.steps)


def _as_time(value: str | dt.datetime | None) -> dt.datetime | None:
    # steps_done is a JSON column: times arrive as ISO text; the app stores UTC, so a bare time is UTC.
    if value is None:
        return None
    time = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return time if time.tzinfo is not None else time.replace(tzinfo=dt.UTC)


def _state(due: dt.datetime, done_at: dt.datetime | None, now: dt.datetime) -> ClockState:
    if done_at is not None:
        return ClockState.MET if done_at <= due else ClockState.BREACHED
    return ClockState.BREACHED if now > due else ClockState.PENDING


def phase_plan(policy: Policy, *, severity: str, answers: Mapping[str, Any], detected_at: dt.datetime,
               milestones: Mapping[str, dt.datetime | None], steps_done: Mapping[str, str | dt.datetime],
               now: dt.datetime) -> list[PhaseProgress]:
    """The phases that apply to this incident (by severity and condition), in order of start then end, each with its steps' due time and state at `now`."""  # noqa: E501 the one-line docstring is the interface
    checklist = Answers.model_validate(dict(answers))
    plan = []
    for phase in policy.phases:
        if not applies(phase, checklist, severity):
            continue
        steps = []
        for step in phase.steps:
            due = detected_at + step.due
            done_at = _as_time(milestones.get(step.milestone) if step.milestone else steps_done.get(step.key))
            steps.append(StepProgress(step.key, step.title, phase.key, due, step.milestone, done_at,
                                      _state(due, done_at, now)))
        plan.append(PhaseProgress(phase.key, phase.title, phase.section, detected_at + phase.start,
                                  detected_at + phase.end, tuple(steps)))
    # sorted() is stable: phases with the same window keep the policy's order.
    return sorted(plan, key=lambda p: (p.start, p.end))


def current_phase(plan: Sequence[PhaseProgress], now: dt.datetime) -> PhaseProgress | None:
    """The phase to work on: the earliest-starting phase that has started and still has a step not done; else the next phase to start that has steps; None when every step is done."""  # noqa: E501 the one-line docstring is the interface
    unfinished = sorted((p for p in plan if not p.done), key=lambda p: (p.start, p.end))
    started = [p for p in unfinished if p.start <= now]
    # A phase whose steps were all ticked off early is skipped: it leaves nothing to work on.
    return started[0] if started else next(iter(unfinished), None)


def next_steps(plan: Sequence[PhaseProgress], limit: int = 3) -> list[StepProgress]:
    """Steps not done yet, most urgent first (breached, then by due time)."""
    open_steps = [step for phase in plan for step in phase.steps if step.done_at is None]
    # Stable sort: steps due at the same moment keep the plan's order (phase, then step).
    open_steps.sort(key=lambda s: (s.state is not ClockState.BREACHED, s.due))
    return open_steps[:limit]
