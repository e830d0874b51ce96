"""The client schedule of an incident: when each message to the client is due, and which message met it.

A policy plans client messages at fixed times from detection, then a cadence
(`schedules` in the policy; without one, the first notice by the
client_notification target, then one client_update target after another).
The rule:

- planned entries keep their due times, whatever happens;
- each message to the client meets the earliest entry not met yet (a late
  message meets an overdue entry: that entry is breached, with its send time);
- once the planned entries are used up, the next update is due one cadence after
  the last message (with no planned entry and no message yet, one cadence after
  detection), so a promise of "every 4 hours" is never stretched, and sending the
  30-minute assessment early does not push the 60-minute update back;
- resolution ends the schedule: the entry open at that moment is met if it was
  not yet due, breached if it was; planned entries after it are dropped.

Pure: no I/O, no clock (callers pass `now`), no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from core.policy.calendar import Calendar, add_working_time
from core.policy.schema import Policy
from core.vocabulary import ClockState

if TYPE_CHECKING:
    from core.sla.clocks import IncidentFacts


@dataclass(frozen=True)
class ClientUpdate:
    """One message the client is owed: due when, sent when (None: not yet), and its state at `now`."""

    due: dt.datetime
    sent_at: dt.datetime | None
    state: ClockState
    title: str
    planned: bool
    # When this entry became the one to send (detection, or the previous message).
    opened_at: dt.datetime


@dataclass(frozen=True)
class ClientPlan:
    """The incident's client schedule at `now`: every entry so far and the cadence after the planned ones."""

    updates: tuple[ClientUpdate, ...]
    cadence: dt.timedelta | None
    schedule_title: str | None
    resolved: bool = False

    @property
    def next_due(self) -> dt.datetime | None:
        """When the next message is due (None once resolved or when nothing more is planned)."""
        if self.resolved:
            return None
        return next((u.due for u in self.updates if u.sent_at is None), None)


Entry = tuple[dt.datetime, dt.datetime | None, str, bool, dt.datetime]  # due, sent, title, planned, opened


def _entries(planned: list[tuple[dt.datetime, str]], messages: list[dt.datetime], cadence: dt.timedelta | None,
             detected: dt.datetime, calendar: Calendar) -> list[Entry]:
    # Each message meets the earliest planned entry still open; after them, the cadence from the last message.
    entries: list[Entry] = []
    queue = list(planned)
    last: dt.datetime | None = None
    for message in messages:
        if queue:
            due, title = queue.pop(0)
            entries.append((due, message, title, True, last or detected))
        elif cadence is not None:
            opened = last or detected
            entries.append((add_working_time(opened, cadence, calendar), message, "Client update", False, opened))
        last = message
    opened = last or detected
    entries += [(due, None, title, True, opened) for due, title in queue]
    if not queue and cadence is not None:
        entries.append((add_working_time(opened, cadence, calendar), None, "Client update", False, opened))

    return entries


def client_schedule(facts: IncidentFacts, policy: Policy, now: dt.datetime) -> ClientPlan:
    """Every client message due for the incident up to `now`, and the one open now."""
    schedule = next((s for s in policy.schedules if s.key == facts.schedule_key), None)
    calendar = policy.calendar_for("client_update")
    cadence = (schedule.every if schedule and schedule.every else None) or facts.target("client_update", policy)
    detected = facts.detected_at
    if schedule is not None:
        planned = [(add_working_time(detected, m.at, calendar), m.title) for m in schedule.planned]
    else:
        notify = facts.target("client_notification", policy)
        planned = ([(add_working_time(detected, notify, policy.calendar_for("client_notification")),
                     "First notice to the client")] if notify is not None else [])
    resolved = facts.resolved_at if facts.resolved_at is not None and facts.resolved_at <= now else None
    end = resolved or now
    messages = [m for m in facts.messages() if m <= end]

    entries = _entries(planned, messages, cadence, detected, calendar)
    updates: list[ClientUpdate] = []
    for due, sent, title, is_planned, opened_at in entries:
        if sent is not None:
            state = ClockState.MET if sent <= due else ClockState.BREACHED
        elif resolved is not None:
            if due >= resolved:
                if any(u.sent_at is None and u.due >= resolved for u in updates):
                    continue  # resolution ended the schedule: later planned entries are not owed
                state = ClockState.MET
            else:
                state = ClockState.BREACHED
        else:
            state = ClockState.PENDING if now <= due else ClockState.BREACHED
        updates.append(ClientUpdate(due, sent, state, title, is_planned, opened_at))
    return ClientPlan(tuple(updates), cadence, schedule.title if schedule else None, resolved is not None)


def next_due_if_sent(facts: IncidentFacts, policy: Policy, at: dt.datetime) -> dt.datetime | None:
    """When the plan wants the next client message if one goes out at `at` (None once resolved or nothing is planned).

    The message meets the earliest open entry, as a real one would; the answer
    may lie before `at` when a later planned entry is already overdue.
    """
    sent = replace(facts, client_messages=(*facts.messages(), at))
    return client_schedule(sent, policy, at).next_due
