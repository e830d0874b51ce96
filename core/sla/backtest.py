"""Policy backtest: how the recent incidents would have fared under another policy (or a draft).

Replays a bounded sample: the most recent incidents of the last N months, at
most `MAX_INCIDENTS`, re-triaged from their stored answers under the
candidate policy and timed against its targets with the milestones as they
happened. The policy that was in force is read from the SLA summary for the
same incidents, so both columns count the same incidents. The result says how
many incidents were used out of how many. Never imports streamlit, never
reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.policy.ladder import choose_schedule
from core.policy.schema import Policy
from core.sla.clocks import IncidentFacts, Pause, clock_label, compute_clocks
from core.sla.metrics import TRACKED_CLOCKS, Attainment, state_now
from core.sla.projection import FACTS
from core.sla.response_log import escalations_of, messages_of, responses_of
from core.triage.rules import Answers, triage
from db.models import Account, Incident, SlaPause

MAX_INCIDENTS = 5000
MAX_MONTHS = 24
DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class BacktestLine:
    """One clock: counts under the policy in force and under the candidate."""

    clock: str
    label: str
    in_force: Attainment
    candidate: Attainment


@dataclass(frozen=True)
class Backtest:
    """The replay: which incidents were used, and per clock the two outcomes."""

    policy: str
    since: dt.datetime
    incidents_in_period: int
    incidents_used: int
    severity_changed: int
    lines: list[BacktestLine]

    @property
    def capped(self) -> bool:
        """True when only the most recent incidents of the period were replayed."""
        return self.incidents_used < self.incidents_in_period


class _Log:
    """An incident's response log read from its column alone (the readers of core.sla.response_log take a row)."""

    def __init__(self, response_log: dict[str, Any] | None) -> None:
        row = Incident(response_log=response_log or {})
        self.escalations = escalations_of(row)
        self.responses = responses_of(row)
        self.messages = messages_of(row)


def backtest(session: Session, candidate: Policy, *, months: int, now: dt.datetime,
             csm_id: int | None = None, limit: int = MAX_INCIDENTS) -> Backtest:
    """Replay the last `months` months (at most `limit` incidents, newest first) under `candidate`."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"Choose between 1 and {MAX_MONTHS} months.")
    since = now - dt.timedelta(days=DAYS_PER_MONTH * months)
    # Drills are exercises: never part of what a policy is measured on.
    conditions = [Incident.detected_at >= since, Incident.detected_at <= now, Incident.is_drill.is_(False)]
    if csm_id is not None:
        conditions.append(Incident.account_id.in_(select(Account.id).where(Account.owner_id == csm_id)))
    total = session.scalar(select(func.count()).select_from(Incident).where(*conditions)) or 0
    rows = session.execute(
        select(Incident.id, Incident.severity, Incident.answers, Incident.detected_at, Incident.acknowledged_at,
               Incident.client_notified_at, Incident.mobilized_at, Incident.resolved_at,
               Incident.required_level_reached_at, Incident.current_level, Incident.response_log, Account.tier)
        .join(Account, Account.id == Incident.account_id).where(*conditions)
        .order_by(Incident.detected_at.desc(), Incident.id.desc()).limit(limit)).all()
    ids = [r.id for r in rows]
    pauses: dict[int, list[Pause]] = defaultdict(list)
    in_force: dict[str, Attainment] = defaultdict(Attainment)
    for start in range(0, len(ids), 2000):
        chunk = ids[start:start + 2000]
        for p in session.execute(select(SlaPause.incident_id, SlaPause.started_at, SlaPause.ended_at)
                                 .where(SlaPause.incident_id.in_(chunk))):
            pauses[p.incident_id].append(Pause(p.started_at, p.ended_at))
        stmt = select(FACTS.c.clock, FACTS.c.state, FACTS.c.deadline, FACTS.c.is_open).where(
            FACTS.c.incident_id.in_(chunk))
        for clock, state, deadline, is_open in session.execute(stmt):
            in_force[clock] += Attainment.of_states([state_now(state, deadline, not is_open, now)])
    replayed: dict[str, Attainment] = defaultdict(Attainment)
    changed = 0
    for row in rows:
        answers = Answers.model_validate(row.answers)
        result = triage(answers, candidate, row.detected_at)
        changed += result.severity != row.severity
        # The escalations, level responses and client messages as they happened (core.sla.facts reads the same
        # log), so the levels' response clocks replay too; the escalation clock stops when the candidate's first
        # ladder step is reached, as core.sla.facts has it for the policy in force.
        log = _Log(row.response_log)
        escalated_at = row.required_level_reached_at
        if log.escalations and result.ladder:
            escalated_at = IncidentFacts(result.severity, None, row.detected_at,
                                         escalations=log.escalations).reached().get(result.ladder[0].level)
        schedule = choose_schedule(candidate, answers, result.severity)
        facts = IncidentFacts(
            severity=result.severity, tier=row.answers.get("customer_tier") or row.tier,
            detected_at=row.detected_at, acknowledged_at=row.acknowledged_at,
            client_notified_at=row.client_notified_at, mobilized_at=row.mobilized_at,
            resolved_at=row.resolved_at, required_level=result.escalation_level, current_level=row.current_level,
            escalated_at=escalated_at, pauses=tuple(pauses[row.id]), targets=dict(result.targets),
            escalations=log.escalations, level_responses=log.responses, client_messages=log.messages,
            schedule_key=schedule.key if schedule else None)
        for clock in compute_clocks(facts, candidate, now):
            if clock.clock in TRACKED_CLOCKS:
                replayed[clock.clock] += Attainment.of_states([clock.state.value])
    lines = [BacktestLine(c, clock_label(c), in_force.get(c, Attainment()), replayed.get(c, Attainment()))
             for c in TRACKED_CLOCKS if c in in_force or c in replayed]
    return Backtest(candidate.name, since, total, len(rows), changed, lines)
