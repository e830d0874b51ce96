"""The post-resolution review schedule: review tasks from the incident's policy, and an .ics of them.

Each policy lists its reviews (`reviews:` in the preset YAML: a key, a title
and how long after resolution it falls due). The flow that resolves an
incident (`core.incident.flows`) calls `schedule_reviews` in its own unit of work:
the incident gets one task per review, due that long after its resolution; a
task is marked done by a person. A reopened and re-resolved incident moves the
not-yet-done tasks to the new resolution time. Reading never schedules
anything: pages only list the tasks. The calendar file follows RFC 5545 (one
VEVENT per task, UID stable per task, event times in UTC, which every calendar
shows in its own zone; the description's words are in the exporting person's
zone). Never imports streamlit; never reads the clock (callers pass `now`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from icalendar import Calendar, Event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.account.access import may_work_on
from core.incident.timeline import add_event
from core.people.users import SYSTEM, Actor
from core.sla.facts import policy_of
from core.zones import UTC_NAME, zone_or_none
from db.models import Account, Incident, ReviewTask, User
from db.rows import get_for_update

UID_DOMAIN = "escalation-desk"
# A review is a meeting-sized task: the calendar blocks this long for it.
REVIEW_LENGTH = dt.timedelta(minutes=30)


class ReviewError(ValueError):
    """A review task change that cannot be made; the message says what to fix."""


class ReviewConflict(ReviewError):
    """Someone changed the review task since it was loaded."""


@dataclass(frozen=True)
class PlannedReview:
    """One review the policy asks for, and when it falls due for this incident."""

    key: str
    title: str
    after_resolution: dt.timedelta
    due_at: dt.datetime


def plan(reviews: list[tuple[str, str, dt.timedelta]], resolved_at: dt.datetime) -> list[PlannedReview]:
    """The reviews (key, title, offset) placed after `resolved_at`, earliest first."""
    planned = [PlannedReview(key, title, after, resolved_at + after) for key, title, after in reviews]
    return sorted(planned, key=lambda p: (p.due_at, p.key))


def _planned_for(incident: Incident) -> list[PlannedReview]:
    if incident.resolved_at is None:
        return []
    policy = policy_of(incident)
    return plan([(r.key, r.title, r.after_resolution) for r in policy.reviews], incident.resolved_at)


def _tasks(session: Session, incident_id: int) -> list[ReviewTask]:
    stmt = select(ReviewTask).where(ReviewTask.incident_id == incident_id).order_by(ReviewTask.due_at, ReviewTask.key)
    return list(session.scalars(stmt))


def schedule_reviews(session: Session, incident: Incident, *, actor: Actor, now: dt.datetime) -> None:
    """Give a just-resolved incident its review tasks, or move its open ones to the new resolution time."""
    planned = _planned_for(incident)
    resolved_at = incident.resolved_at
    if not planned or resolved_at is None:  # planned reviews imply a resolution time
        return
    # The resolve flow calls this last, once the incident row is final: the
    # autoflush of this query sends the incident's one UPDATE, nothing more.
    # The flow holds the incident's row lock, so no one else schedules it meanwhile.
    have = {t.key: t for t in _tasks(session, incident.id)}
    created, moved = [], []
    for p in planned:
        task = have.get(p.key)
        if task is None:
            session.add(ReviewTask(incident_id=incident.id, key=p.key, title=p.title,
                                   after_resolution_minutes=int(p.after_resolution.total_seconds() // 60),
                                   due_at=p.due_at, created_at=now))
            created.append(p.key)
        elif task.done_at is None and task.due_at != p.due_at:
            task.due_at = p.due_at
            moved.append(p.key)
    if created:
        add_event(session, incident.id, kind="review", actor=actor, occurred_at=resolved_at, now=now,
                  summary="Reviews scheduled: " + ", ".join(created))
    if moved:
        add_event(session, incident.id, kind="review", actor=actor, occurred_at=resolved_at, now=now,
                  summary="Reviews moved to the new resolution time: " + ", ".join(moved))


def backfill_missing(session: Session, *, now: dt.datetime) -> int:
    """Schedule the reviews of resolved incidents that have no review task yet; returns how many got some.

    Incidents resolved before the resolve flow scheduled reviews got their tasks
    only when someone opened them; `python -m core init` runs this once.
    """
    without = (select(Incident.id).where(Incident.resolved_at.is_not(None),
                                         ~select(ReviewTask.id).where(ReviewTask.incident_id == Incident.id).exists())
               .order_by(Incident.id))
    filled = 0
    for count, incident_id in enumerate(session.scalars(without).all(), start=1):
        incident = get_for_update(session, Incident, incident_id)
        if incident is not None and incident.resolved_at is not None and _planned_for(incident):
            schedule_reviews(session, incident, actor=SYSTEM, now=now)
            filled += 1
        if count % 500 == 0:
            # Each incident carries its policy snapshot: do not keep thousands of them in memory.
            session.flush()
            session.expunge_all()
    session.flush()
    return filled


def set_review_done(
    session: Session, *, task_id: int, done: bool, actor: Actor, now: dt.datetime,
    expected_version: int | None = None,
) -> ReviewTask:
    """Mark a review task done (or not done again); the account's CSM, leads and admins may."""
    task = get_for_update(session, ReviewTask, task_id)
    if task is None:
        raise ReviewError(f"Review task {task_id} does not exist.")
    if expected_version is not None and task.version != expected_version:
        raise ReviewConflict("Someone changed this review meanwhile; the page now shows its current state.")
    incident = session.get(Incident, task.incident_id)
    owner = session.get(Account, incident.account_id).owner_id  # type: ignore[union-attr]
    if actor.id is None or not may_work_on(actor.role, actor.id, owner):
        raise ReviewError("Only the account's CSM, leads and admins may tick off its reviews.")
    if done == (task.done_at is not None):
        raise ReviewError(f"The review is already {'done' if done else 'open'}.")
    task.done_at, task.done_by_id = (now, actor.id) if done else (None, None)
    add_event(session, task.incident_id, kind="review", actor=actor, occurred_at=now, now=now,
                        summary=f"Review {'done' if done else 'reopened'}: {task.title}")
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="review_task", entity_id=task.id,
                 action="done" if done else "undone", changes={"done_at": [None, now] if done else [now, None]},
                 at=now)
    session.flush()
    return task


@dataclass(frozen=True)
class ReviewTaskRow:
    """A review task as listed and exported."""

    id: int
    incident_id: int
    key: str
    title: str
    due_at: dt.datetime
    done_at: dt.datetime | None
    done_by: str
    created_at: dt.datetime
    version: int

    def overdue(self, now: dt.datetime) -> bool:
        """True when the review is past due and not done."""
        return self.done_at is None and self.due_at < now


def _rows(session: Session, tasks: list[ReviewTask]) -> list[ReviewTaskRow]:
    names = dict(session.execute(select(User.id, User.display_name)).all())
    return [ReviewTaskRow(t.id, t.incident_id, t.key, t.title, t.due_at, t.done_at,
                          names.get(t.done_by_id, "") if t.done_by_id else "", t.created_at, t.version) for t in tasks]


def review_tasks(session: Session, incident_id: int) -> list[ReviewTaskRow]:
    """The incident's review tasks, earliest due first."""
    return _rows(session, _tasks(session, incident_id))


def overdue_reviews(session: Session, *, account_ids: list[int] | None = None, now: dt.datetime,
                    limit: int = 200) -> list[ReviewTaskRow]:
    """Review tasks past due and not done, oldest due first (optionally for some accounts)."""
    stmt = (select(ReviewTask).join(Incident, Incident.id == ReviewTask.incident_id)
            .where(ReviewTask.done_at.is_(None), ReviewTask.due_at < now))
    if account_ids is not None:
        stmt = stmt.where(Incident.account_id.in_(account_ids))
    return _rows(session, list(session.scalars(stmt.order_by(ReviewTask.due_at, ReviewTask.id).limit(limit))))


def count_overdue_reviews(session: Session, *, account_ids: list[int] | None = None, now: dt.datetime) -> int:
    """How many review tasks are past due and not done."""
    stmt = (select(func.count()).select_from(ReviewTask).join(Incident, Incident.id == ReviewTask.incident_id)
            .where(ReviewTask.done_at.is_(None), ReviewTask.due_at < now))
    if account_ids is not None:
        stmt = stmt.where(Incident.account_id.in_(account_ids))
    return session.scalar(stmt) or 0


def task_uid(task_id: int) -> str:
    """The calendar UID of a review task: the same in every export, so a re-import updates the event."""
    return f"review-task-{task_id}@{UID_DOMAIN}"


def reviews_ics(tasks: list[ReviewTaskRow], *, incident_id: int, incident_title: str, account_name: str,
                link: str, time_zone: str = UTC_NAME) -> bytes:
    """An RFC 5545 calendar with one event per review task (UTC times, the incident link in the description).

    Event times are UTC instants, which a calendar shows in its own zone; the description's text
    ("Done ... by ...") is written in `time_zone`, the exporting person's.
    """
    local = zone_or_none(time_zone) or dt.UTC
    calendar = Calendar()
    calendar.add("prodid", "-//Escalation Desk//Post-incident reviews//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    for task in tasks:
        event = Event()
        event.add("uid", task_uid(task.id))
        # DTSTAMP: when this task (the calendar object) was created, so every export is identical.
        event.add("dtstamp", task.created_at.astimezone(dt.UTC))
        event.add("dtstart", task.due_at.astimezone(dt.UTC))
        event.add("dtend", (task.due_at + REVIEW_LENGTH).astimezone(dt.UTC))
        event.add("summary", f"Review #{incident_id}: {task.title}")
        done_at = task.done_at.astimezone(local) if task.done_at else None
        done = f"\nDone {done_at:%Y-%m-%d %H:%M} {done_at.tzname()} by {task.done_by}." if done_at else ""
        event.add("description", f"Post-incident review of #{incident_id} {incident_title} ({account_name}).\n"
                                 f"Open the incident: {link}{done}")
        event.add("url", link)
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()  # icalendar is untyped
    return ical
