"""Replay an incident's events through the clock engine: the contract behind ``python -m core replay``.

A replay document names a policy (or carries a draft policy's YAML), the
detection time, the triage answers, the events that happened and the moment to
look at (`until`). `replay` triages the answers, applies each event to the same
incident facts the app keeps (`core.sla.clocks.IncidentFacts`), and reads the
clocks, the escalation ladder, the levels' response clocks and the client
schedule with the same functions the incident page, the board and the dashboard
use. There is no second implementation: what replay prints is what the app shows.

Events (`type`): acknowledged, client_message, mobilised, escalated (level),
level_responded (level), paused (clocks: optional list, else every clock the
policy lets pause), resumed, severity_changed (severity), resolved, reopened.
`severity_changed` recomputes every target from detection under the new
severity, keeping the rule targets that still apply, and is refused below the
answers' severity floor like in the app; `reopened` lets the resolution clock
run on from detection. Bad input raises `ReplayError` naming the event's index
and field. Pure: no I/O, no clock, no database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from core.incident.escalation import escalation_status
from core.policy.ladder import choose_schedule, floors
from core.policy.rules import level_rank, severity_rank
from core.policy.schema import Policy
from core.sla.clocks import IncidentFacts, Pause, compute_clocks
from core.sla.schedule import client_schedule
from core.triage.rules import Answers, AnswersError, parse_answers, retarget, triage
from core.vocabulary import SEVERITIES, ClockState, response_level

EVENT_TYPES: tuple[str, ...] = ("acknowledged", "client_message", "mobilised", "escalated", "level_responded",
                                "paused", "resumed", "severity_changed", "resolved", "reopened")
DOCUMENT_KEYS: tuple[str, ...] = ("policy", "policy_yaml", "detected_at", "answers", "events", "until")
_EVENT_FIELDS: dict[str, tuple[str, ...]] = {"escalated": ("level",), "level_responded": ("level",),
                                             "paused": ("clocks",), "severity_changed": ("severity",)}


class ReplayError(ValueError):
    """The replay document cannot be replayed; the message names the field (and event) to fix."""


@dataclass
class _State:
    facts: IncidentFacts
    paused_since: dt.datetime | None = None
    paused_clocks: tuple[str, ...] = ()


def iso(moment: dt.datetime | None) -> str | None:
    """A UTC ISO-8601 time ending in Z (None stays None)."""
    return None if moment is None else moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: object, where: str) -> dt.datetime:
    """An ISO-8601 time with its offset (Z or +00:00), as UTC; ReplayError naming `where` otherwise."""
    if not isinstance(value, str):
        raise ReplayError(f"{where}: give an ISO-8601 time with its offset, e.g. 2026-03-02T10:00:00Z")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ReplayError(f"{where}: {value!r} is not an ISO-8601 time; write e.g. 2026-03-02T10:00:00Z") from None
    if moment.tzinfo is None:
        raise ReplayError(f"{where}: {value!r} has no offset; add Z (UTC), e.g. {value}Z")
    return moment.astimezone(dt.UTC)


def replay(document: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Replay the document's events under `policy` and return the state as of `until` (the JSON contract)."""
    unknown = [key for key in document if key not in DOCUMENT_KEYS]
    if unknown:
        raise ReplayError(f"unknown key '{unknown[0]}'; allowed keys: {', '.join(DOCUMENT_KEYS)}")
    detected = parse_time(document.get("detected_at"), "detected_at")
    until = parse_time(document.get("until"), "until")
    if until < detected:
        raise ReplayError("until: it is before detected_at; give the moment to look at, after detection")
    try:
        answers = parse_answers(document.get("answers") or {})
    except AnswersError as exc:
        raise ReplayError(f"answers: {exc}") from None
    events = document.get("events") or []
    if not isinstance(events, list):
        raise ReplayError("events: give a list of events, e.g. [{\"at\": \"...\", \"type\": \"acknowledged\"}]")

    result = triage(answers, policy, detected)
    schedule = choose_schedule(policy, answers, result.severity)
    state = _State(IncidentFacts(
        severity=result.severity, tier=answers.customer_tier, detected_at=detected,
        required_level=result.escalation_level, targets=dict(result.targets),
        schedule_key=schedule.key if schedule else None))
    red_status = result.red_status
    first_level = result.ladder[0].level if result.ladder else None
    # Like the app, the level recorded at triage stays required after a severity change.
    triage_level = result.escalation_level
    previous = detected
    for index, event in enumerate(events):
        where = f"events[{index}]"
        at = _check_event(event, where, previous, detected, until)
        previous = at
        red_status, first_level = _apply(state, event, at, where, policy, answers, red_status, first_level)
    facts = state.facts
    if state.paused_since is not None:
        facts = dataclasses.replace(facts, pauses=(*facts.pauses, Pause(state.paused_since, None,
                                                                        state.paused_clocks)))
    reached = facts.reached()
    facts = dataclasses.replace(facts, escalated_at=reached.get(first_level) if first_level else None)
    return _output(facts, policy, answers, red_status, triage_level, until)


def _check_event(event: object, where: str, previous: dt.datetime, detected: dt.datetime,
                 until: dt.datetime) -> dt.datetime:
    if not isinstance(event, dict):
        raise ReplayError(f"{where}: an event is an object with 'at' and 'type'")
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        raise ReplayError(f"{where}.type: unknown event type {kind!r}; allowed: {', '.join(EVENT_TYPES)}")
    allowed = ("at", "type", *_EVENT_FIELDS.get(str(kind), ()))
    extra = [key for key in event if key not in allowed]
    if extra:
        raise ReplayError(f"{where}.{extra[0]}: a '{kind}' event has no field '{extra[0]}'; allowed: "
                          + ", ".join(allowed))
    at = parse_time(event.get("at"), f"{where}.at")
    if at < detected:
        raise ReplayError(f"{where}.at: {iso(at)} is before detected_at ({iso(detected)})")
    if at > until:
        raise ReplayError(f"{where}.at: {iso(at)} is after until ({iso(until)}); replay looks at the state as of until")
    if at < previous:
        raise ReplayError(f"{where}.at: {iso(at)} is before the previous event ({iso(previous)}); list events in "
                          "time order")
    return at


def _level(event: dict[str, Any], where: str, policy: Policy) -> str:
    level = event.get("level")
    defined = [lvl.id for lvl in policy.escalation_levels]
    if level not in defined:
        raise ReplayError(f"{where}.level: unknown level {level!r}; {policy.name} defines "
                          + (", ".join(defined) or "no escalation levels"))
    return str(level)


def _apply(state: _State, event: dict[str, Any], at: dt.datetime, where: str, policy: Policy,  # noqa: PLR0912
           answers: Answers, red_status: bool, first_level: str | None) -> tuple[bool, str | None]:
    facts = state.facts
    kind = event["type"]
    change: dict[str, Any] = {}
    if kind == "acknowledged":
        change["acknowledged_at"] = facts.acknowledged_at or at
    elif kind == "mobilised":
        change["mobilized_at"] = facts.mobilized_at or at
    elif kind == "client_message":
        change.update(client_messages=(*facts.messages(), at), client_notified_at=facts.client_notified_at or at,
                      last_client_update_at=at)
    elif kind == "escalated":
        level = _level(event, where, policy)
        if facts.current_level and level_rank(level) <= level_rank(facts.current_level):
            raise ReplayError(f"{where}.level: the incident is already at {facts.current_level}; escalate higher")
        change.update(escalations=(*facts.escalations, (level, at)), current_level=level)
    elif kind == "level_responded":
        level = _level(event, where, policy)
        if level not in {moved_to for moved_to, _ in facts.escalations}:
            raise ReplayError(f"{where}.level: the incident was never escalated to {level}, so it cannot respond")
        if level in facts.level_responses:
            raise ReplayError(f"{where}.level: {level}'s response is already recorded")
        change["level_responses"] = {**facts.level_responses, level: at}
    elif kind == "paused":
        _pause(state, event, at, where, policy)
    elif kind == "resumed":
        if state.paused_since is None:
            raise ReplayError(f"{where}.type: the clocks are not paused, so they cannot resume")
        change["pauses"] = (*facts.pauses, Pause(state.paused_since, at, state.paused_clocks))
        state.paused_since, state.paused_clocks = None, ()
    elif kind == "severity_changed":
        return _change_severity(state, event, where, policy, answers)
    elif kind == "resolved":
        if facts.resolved_at is not None:
            raise ReplayError(f"{where}.type: the incident is already resolved; reopen it first")
        change["resolved_at"] = at
    elif kind == "reopened":
        if facts.resolved_at is None:
            raise ReplayError(f"{where}.type: the incident is not resolved, so it cannot reopen")
        change["resolved_at"] = None
    state.facts = dataclasses.replace(facts, **change)
    return red_status, first_level


def _pause(state: _State, event: dict[str, Any], at: dt.datetime, where: str, policy: Policy) -> None:
    if state.paused_since is not None:
        raise ReplayError(f"{where}.type: the clocks are already paused")
    clocks = event.get("clocks")
    if clocks is None:
        clocks = list(policy.pausable_clocks)
    if not isinstance(clocks, list) or not all(isinstance(c, str) for c in clocks):
        raise ReplayError(f"{where}.clocks: give a list of clock names, e.g. [\"resolution\"]")
    for clock in clocks:
        if clock not in policy.pausable_clocks:
            allowed = ", ".join(policy.pausable_clocks) or "none"
            raise ReplayError(f"{where}.clocks: {policy.name} does not let the '{clock}' clock pause; "
                              f"clocks that may pause: {allowed}")
    if not clocks:
        raise ReplayError(f"{where}.clocks: {policy.name} lets no clock pause")
    state.paused_since, state.paused_clocks = at, tuple(clocks)


def _change_severity(state: _State, event: dict[str, Any], where: str, policy: Policy,
                     answers: Answers) -> tuple[bool, str | None]:
    severity = event.get("severity")
    if severity not in SEVERITIES:
        raise ReplayError(f"{where}.severity: unknown severity {severity!r}; choose one of {', '.join(SEVERITIES)}")
    floor = next(iter(floors(policy, answers)), None)
    if floor is not None and severity_rank(str(severity)) < severity_rank(floor.severity):
        raise ReplayError(f"{where}.severity: {severity} is below the floor of {floor.severity} "
                          f"({floor.condition_id} needs {floor.level})")
    plan = retarget(answers, policy, str(severity))
    schedule = choose_schedule(policy, answers, str(severity))
    state.facts = dataclasses.replace(state.facts, severity=str(severity), targets=dict(plan.targets),
                                      required_level=plan.escalation_level,
                                      schedule_key=schedule.key if schedule else None)
    return plan.red_status, plan.ladder[0].level if plan.ladder else None


def _output(facts: IncidentFacts, policy: Policy, answers: Answers, red_status: bool, triage_level: str | None,
            until: dt.datetime) -> dict[str, Any]:
    clocks = compute_clocks(facts, policy, until)
    status = escalation_status(facts=facts, policy=policy, answers=answers, triage_level=triage_level, now=until)
    plan = client_schedule(facts, policy, until)
    return {
        "severity": facts.severity,
        "red_status": red_status,
        "required_level": status.required_level,
        "clocks": {c.clock: {"deadline": iso(c.deadline), "state": c.state.value,
                             "met_at": iso(c.stopped_at) if c.state is ClockState.MET else None,
                             "stopped_at": iso(c.stopped_at)}
                   for c in clocks if response_level(c.clock) is None},
        "escalation_ladder": [step.to_json() for step in status.ladder],
        "level_response": {level: {"deadline": iso(c.deadline), "responded_at": iso(facts.level_responses.get(level)),
                                   "state": c.state.value}
                           for c in clocks if (level := response_level(c.clock)) is not None},
        "client_updates": [{"due": iso(u.due), "sent_at": iso(u.sent_at), "state": u.state.value, "title": u.title}
                           for u in plan.updates],
        "next_client_update_due": iso(plan.next_due),
    }
