"""Ticking off the policy's phase steps on an incident, in the caller's unit of work.

A step that is a milestone (acknowledge, notify the client, mobilise, resolve,
client confirmed) is recorded as that milestone, so the clocks and the status
move exactly as when the milestone button is used. Any other step is kept in
`incidents.steps_done` with its time, on the timeline and in the audit log.
Never imports streamlit; never reads the clock (callers pass `now`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core.incident.flows import IncidentError, lock_for, record_change, record_milestone
from core.incident.lifecycle import Milestone
from core.incident.timeline import add_event
from core.people.users import Actor
from core.policy.schema import PhaseStep, Policy
from core.sla.facts import policy_of
from db.models import Incident


def find_step(policy: Policy, key: str) -> PhaseStep:
    """The policy's phase step `key`; IncidentError naming the steps there are when it has none such."""
    steps = {step.key: step for phase in policy.phases for step in phase.steps}
    if key not in steps:
        known = ", ".join(steps) or "none"
        raise IncidentError(f"The policy {policy.name} has no step '{key}'; its steps: {known}.")
    return steps[key]


def complete_step(session: Session, *, incident_id: int, step_key: str, actor: Actor, now: dt.datetime,
                  expected_version: int | None = None) -> Incident:
    """Record step `step_key` as done now: its milestone when it is one, else a ticked step with its time."""
    incident = lock_for(session, incident_id, expected_version, actor)
    step = find_step(policy_of(incident), step_key)
    if step.milestone is not None:
        return record_milestone(session, incident_id=incident_id, milestone=Milestone(step.milestone), actor=actor,
                                now=now, expected_version=expected_version)
    if step.key in (incident.steps_done or {}):
        raise IncidentError(f"'{step.title}' is already done.")
    # A new dict, so the JSON column is seen as changed.
    incident.steps_done = {**(incident.steps_done or {}), step.key: now.isoformat()}
    add_event(session, incident.id, kind="step", actor=actor, occurred_at=now, now=now,
              summary=f"Done: {step.title}", details={"step": step.key})
    record_change(session, incident, actor, f"step:{step.key}", {"steps_done": [None, step.key]}, now)
    incident.updated_at = now
    return incident


def undo_step(session: Session, *, incident_id: int, step_key: str, actor: Actor, now: dt.datetime,
              expected_version: int | None = None) -> Incident:
    """Take back a ticked step (a mis-click); a milestone step is not undone here, it stays on the record."""
    incident = lock_for(session, incident_id, expected_version, actor)
    step = find_step(policy_of(incident), step_key)
    if step.milestone is not None:
        raise IncidentError(f"'{step.title}' is a milestone; a milestone stays on the record once recorded.")
    done = dict(incident.steps_done or {})
    if done.pop(step.key, None) is None:
        raise IncidentError(f"'{step.title}' is not marked done.")
    incident.steps_done = done
    add_event(session, incident.id, kind="step", actor=actor, occurred_at=now, now=now,
              summary=f"Not done after all: {step.title}", details={"step": step.key, "undone": True})
    record_change(session, incident, actor, f"step_undone:{step.key}", {"steps_done": [step.key, None]}, now)
    incident.updated_at = now
    return incident
