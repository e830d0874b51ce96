"""Pages: one escalation level's paging of one incident, climbing the level's on-call schedule until someone answers.

A level's alert (`core.incident.alerting`, audience LEVEL) whose level has an enabled schedule
opens a page (`open_or_join`) instead of going to the policy's published contacts. The page's
steps are the schedule's layers in order (the primary, the secondary...) then its manager; each
step pages whoever is on call for it at that moment, through their own reach plan
(`core.oncall.reach`: notification rules, quiet hours) or, for an outside contact, by email, SMS
gateway and their webhook. A step with nobody on call is skipped. `advance_due` (run by every
scheduler pass) moves a page nobody acknowledged within the schedule's `ack_timeout_minutes` to
the next step, round the chain again `repeats` times, then gives it up (exhausted) and tells the
incident's owner and CSM. An acknowledgement (`acknowledge_page`, from `core.alerts.acknowledge`)
stops the climb and tells the people already paged; it holds for `ack_expires_minutes`, after
which the page starts again unless the incident has moved (its version changed). Resolving the
incident closes its pages and tells everyone paged.

A page never changes the incident's own escalation level: that is the ladder's job
(`core.incident.escalation`), and nothing here calls it. Never reads the clock (callers pass
`now`), never sends anything itself (the outbox does), never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.incident.alerting import LEVEL, Alert
from core.incident.flows import may_change
from core.incident.timeline import add_event
from core.oncall.notification_rules import rules_of
from core.oncall.paged import PagedNotification, paged_notifications
from core.oncall.reach import plan_reach
from core.oncall.resolve import Who, describe, on_call_at, schedule_for_level
from core.outbox.queue import Draft, enqueue
from core.people.time_display import display_zone
from core.people.users import SYSTEM, Actor
from core.sla.facts import policy_of
from core.vocabulary import OPEN_STATUSES
from db.engine import session_scope
from db.models import (
    ExternalContact,
    Incident,
    Notification,
    NotificationEndpoint,
    OnCallLayer,
    OnCallSchedule,
    Page,
    User,
)
from db.rows import get_for_update

OPEN, ACKNOWLEDGED, RESOLVED, EXHAUSTED = "open", "acknowledged", "resolved", "exhausted"
LIVE = (OPEN, ACKNOWLEDGED)
STATE_NAMES = {OPEN: "Paging", ACKNOWLEDGED: "Acknowledged", RESOLVED: "Closed", EXHAUSTED: "Nobody answered"}
BATCH = 200
# The outbox rule of a page's own notifications, and of the notices that tell the chain what happened.
PAGE_RULE, NOTICE_RULE = "page", "page-notice"
ROLES = {1: "primary on call", 2: "secondary on call"}


class PagingError(ValueError):
    """A paging action cannot be done (no such page, a closed page, no such step); the message says why."""


class PagingForbidden(PagingError):
    """The person may not act on this incident's pages."""


@dataclass(frozen=True)
class Step:
    """One step of a schedule's chain: a layer (position 1: the primary) or the manager."""

    index: int
    position: int | None
    role: str
    layer_name: str = ""

    @property
    def label(self) -> str:
        """The step as a person reads it: "1. primary on call (Primary)", "3. manager"."""
        named = f" ({self.layer_name})" if self.layer_name and self.layer_name.lower() not in self.role else ""
        return f"{self.index + 1}. {self.role}{named}"


@dataclass(frozen=True)
class PageView:
    """A page as the cockpit and the handoff summary show it."""

    id: int
    level: str
    state: str
    state_name: str
    step: int
    round: int
    rounds: int
    steps: tuple[Step, ...]
    next_at: dt.datetime | None
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str
    ack_expires_at: dt.datetime | None
    closed_reason: str
    paged: tuple[PagedNotification, ...]

    @property
    def live(self) -> bool:
        """True while the page is climbing or acknowledged."""
        return self.state in LIVE

    @property
    def step_label(self) -> str:
        """Where the page is: its current step's label ("" when the schedule has no such step any more)."""
        return self.steps[self.step].label if 0 <= self.step < len(self.steps) else ""


def role_of(position: int) -> str:
    """How a layer's person is named in a page: primary, secondary, then "layer N on call"."""
    return ROLES.get(position, f"layer {position} on call")


def steps_of(session: Session, schedule: OnCallSchedule) -> list[Step]:
    """The schedule's chain: its layers in position order, then its manager (when it has one)."""
    rows = session.scalars(select(OnCallLayer).where(OnCallLayer.schedule_id == schedule.id)
                           .order_by(OnCallLayer.position))
    steps = [Step(index, row.position, role_of(row.position), row.name) for index, row in enumerate(rows)]
    if schedule.manager:
        steps.append(Step(len(steps), None, "manager"))
    return steps


def _target(session: Session, schedule: OnCallSchedule, step: Step, now: dt.datetime) -> Who | None:
    if step.position is None:
        who: str | None = schedule.manager
    else:
        shift = on_call_at(session, schedule.id, step.position, now)
        who = shift.who if shift is not None else None
    person = describe(session, who) if who else None
    return person if person is not None and person.active else None


def _level_name(incident: Incident, level: str) -> str:
    policy = policy_of(incident)
    if level in {item.id for item in policy.escalation_levels}:
        return f"{policy.level(level).name} ({level})"
    return level


def _sms_endpoints(session: Session, level: str) -> list[NotificationEndpoint]:
    rows = session.scalars(select(NotificationEndpoint)
                           .where(NotificationEndpoint.is_enabled.is_(True), NotificationEndpoint.kind == "sms")
                           .order_by(NotificationEndpoint.id))
    return [row for row in rows if not row.levels or level in row.levels]


def _is_closed(incident: Incident | None) -> bool:
    return incident is None or incident.resolved_at is not None or \
        incident.status not in {status.value for status in OPEN_STATUSES}


def _message(incident: Incident, schedule: OnCallSchedule, page: Page, steps: list[Step], person: Who,
             why: str) -> tuple[str, str]:
    step = steps[page.step]
    level = _level_name(incident, page.level)
    if page.step + 1 < len(steps):
        then = f"the page goes to the {steps[page.step + 1].role}"
    elif page.round < schedule.repeats:
        then = "the page starts again from the primary on call"
    else:
        then = "the page ends and the incident's owner is told nobody answered"
    how = ("Acknowledge with the link in this message: it acknowledges this page only."
           if person.contact_id is not None else
           "Acknowledge with the link in this message or from your inbox in Escalation Desk.")
    subject = f"[{incident.severity}] Page for {level}, {step.role}: {incident.title}"
    body = (f"{person.name}, you are paged as the {step.role} of the '{schedule.name}' schedule for {level} on "
            f"incident #{incident.id} '{incident.title}' for {incident.account.name} ({incident.severity}). "
            f"{why}This is step {page.step + 1} of {len(steps)}, round {page.round + 1} of {schedule.repeats + 1}. "
            f"{how} Without an acknowledgement within {schedule.ack_timeout_minutes} min, {then}.")
    return subject[:300], body


def _drafts_for(session: Session, incident: Incident, page: Page, person: Who, subject: str, body: str,
                tag: str, now: dt.datetime) -> Iterator[Draft]:
    key = f"page:{page.id}:r{page.round}:s{page.step}{tag}"
    common = {"rule": f"{PAGE_RULE}:{page.level}", "subject": subject, "body": body, "incident_id": incident.id,
              "level": page.level, "page_id": page.id, "drill": incident.is_drill,
              "payload": {"incident_id": incident.id, "title": incident.title, "page_id": page.id,
                          "level": page.level, "step": page.step, "round": page.round, "who": person.who}}
    sms = _sms_endpoints(session, page.level)
    if person.user_id is not None:
        user = session.get(User, person.user_id)
        assert user is not None  # describe() found them in this transaction
        zone = display_zone(shows=user.show_times_in, time_zone=user.time_zone, chosen=user.time_zone_chosen,
                            browser=None).name
        plan = plan_reach(rules_of(session, user.id), severity=incident.severity,
                          always_page=policy_of(incident).alerts.always_page, quiet_from=user.quiet_from,
                          quiet_to=user.quiet_to, zone=zone, now=now, has_email=bool(user.email),
                          has_phone=bool(user.phone and sms))
        seen: dict[str, int] = {}
        for channel, due in plan:
            seen[channel] = seen.get(channel, 0) + 1
            name = channel if seen[channel] == 1 else f"{channel}{seen[channel]}"
            if channel == "sms":
                for endpoint in sms:
                    yield Draft(channel="sms", recipient=user.phone, due_at=due, user_id=user.id,
                                endpoint_id=endpoint.id, dedupe_key=f"{key}:{name}-e{endpoint.id}:{person.who}",
                                **common)  # type: ignore[arg-type]
            else:
                yield Draft(channel=channel, recipient=user.email if channel == "email" else user.display_name,
                            due_at=due, user_id=user.id, dedupe_key=f"{key}:{name}:{person.who}",
                            **common)  # type: ignore[arg-type]
        return
    contact = session.get(ExternalContact, person.contact_id)
    assert contact is not None
    if contact.email:
        yield Draft(channel="email", recipient=contact.email, due_at=now, contact_id=contact.id,
                    dedupe_key=f"{key}:email:{person.who}", **common)  # type: ignore[arg-type]
    if contact.phone:
        for endpoint in sms:
            yield Draft(channel="sms", recipient=contact.phone, due_at=now, contact_id=contact.id,
                        endpoint_id=endpoint.id, dedupe_key=f"{key}:sms-e{endpoint.id}:{person.who}",
                        **common)  # type: ignore[arg-type]
    hook = session.get(NotificationEndpoint, contact.endpoint_id) if contact.endpoint_id else None
    if hook is not None and hook.is_enabled and hook.kind in ("webhook", "slack", "teams"):
        yield Draft(channel=hook.kind, recipient=contact.name, due_at=now, contact_id=contact.id,
                    endpoint_id=hook.id, dedupe_key=f"{key}:{hook.kind}-e{hook.id}:{person.who}",
                    **common)  # type: ignore[arg-type]


def _page_person(session: Session, incident: Incident, schedule: OnCallSchedule, page: Page, steps: list[Step],
                 person: Who, why: str, tag: str, now: dt.datetime) -> dt.datetime | None:
    """Queue the page's notifications to `person`; the first moment one goes out (None: they cannot be reached)."""
    subject, body = _message(incident, schedule, page, steps, person, why)
    drafts = list(_drafts_for(session, incident, page, person, subject, body, tag, now))
    if not drafts:
        return None
    if not any([enqueue(session, draft, now=now) is not None for draft in drafts]):
        # This step of this round was paged before (a jump went back to it): page it again under a new name.
        session.flush()
        again = _drafts_for(session, incident, page, person, subject, body, f"{tag}v{page.version}", now)
        for draft in again:
            enqueue(session, draft, now=now)
    return min(draft.due_at for draft in drafts)


def _climb(session: Session, incident: Incident, schedule: OnCallSchedule, page: Page, start: int,
           now: dt.datetime, *, why: str = "", tag: str = "") -> None:
    """Page step `start` of the current round, skipping steps nobody answers for; round again or give up at the end."""
    steps = steps_of(session, schedule)
    step, empty = start, 0
    while steps and empty <= len(steps):
        if step >= len(steps):
            if page.round >= schedule.repeats:
                break
            page.round, step = page.round + 1, 0
        person = _target(session, schedule, steps[step], now)
        if person is not None:
            page.step = step
            first = _page_person(session, incident, schedule, page, steps, person, why, tag, now)
            if first is not None:
                page.state = OPEN
                page.next_at = max(first, now) + dt.timedelta(minutes=schedule.ack_timeout_minutes)
                page.updated_at = now
                add_event(session, incident.id, kind="page", occurred_at=now, now=now, actor=SYSTEM,
                          summary=f"Paged {person.name} as the {steps[step].role} for {page.level} "
                                  f"(round {page.round + 1})",
                          details={"page_id": page.id, "step": step, "round": page.round, "who": person.who})
                return
        step, empty = step + 1, empty + 1
    _exhaust(session, incident, schedule, page, now)


def _exhaust(session: Session, incident: Incident, schedule: OnCallSchedule, page: Page, now: dt.datetime) -> None:
    page.state, page.next_at, page.updated_at = EXHAUSTED, None, now
    page.closed_reason = f"nobody acknowledged after {page.round + 1} round(s) of the '{schedule.name}' schedule"
    add_event(session, incident.id, kind="page", occurred_at=now, now=now, actor=SYSTEM,
              summary=f"Nobody acknowledged the page for {page.level}: {page.closed_reason}",
              details={"page_id": page.id, "state": EXHAUSTED})
    level = _level_name(incident, page.level)
    people = {user for user in (incident.owner, incident.account.owner) if user is not None and user.is_active}
    for user in sorted(people, key=lambda u: u.id):
        enqueue(session, Draft(
            rule=f"{NOTICE_RULE}:{page.level}", channel="inbox", recipient=user.display_name,
            dedupe_key=f"page:{page.id}:exhausted:u:{user.id}", due_at=now, incident_id=incident.id, user_id=user.id,
            subject=f"[{incident.severity}] Nobody answered the page for {level}: {incident.title}"[:300],
            body=(f"The page for {level} on incident #{incident.id} '{incident.title}' went through every step of the "
                  f"'{schedule.name}' schedule {page.round + 1} time(s) and nobody acknowledged it. Reach the level "
                  "another way, or page it again from the incident's Paging section."),
            drill=incident.is_drill), now=now)


def _chain(session: Session, page: Page, now: dt.datetime) -> dict[str, tuple[Notification, set[str]]]:
    """Everyone this page has already reached: who -> (one of their notifications, the channels used)."""
    rows = session.scalars(select(Notification)
                           .where(Notification.page_id == page.id, Notification.rule == f"{PAGE_RULE}:{page.level}",
                                  Notification.state != "cancelled", Notification.due_at <= now)
                           .order_by(Notification.id))
    people: dict[str, tuple[Notification, set[str]]] = {}
    for row in rows:
        who = f"u:{row.user_id}" if row.user_id is not None else f"c:{row.contact_id}"
        people.setdefault(who, (row, set()))[1].add(row.channel)
    return people


def _tell_chain(session: Session, incident: Incident, page: Page, *, kind: str, subject: str, body: str,
                now: dt.datetime, skip: str = "") -> int:
    """Tell everyone already paged (but `skip`): users in the app (and by email if paged so), contacts by email."""
    told = 0
    for who, (row, channels) in _chain(session, page, now).items():
        if who == skip:
            continue
        key = f"page:{page.id}:{kind}:r{page.round}"
        common = {"rule": f"{NOTICE_RULE}:{page.level}", "subject": subject[:300], "body": body, "due_at": now,
                  "incident_id": incident.id, "drill": incident.is_drill}
        drafts = []
        if row.user_id is not None:
            user = session.get(User, row.user_id)
            if user is None or not user.is_active:
                continue
            drafts.append(Draft(channel="inbox", recipient=user.display_name, user_id=user.id,
                                dedupe_key=f"{key}:inbox:{who}", **common))  # type: ignore[arg-type]
            if "email" in channels and user.email:
                drafts.append(Draft(channel="email", recipient=user.email, user_id=user.id,
                                    dedupe_key=f"{key}:email:{who}", **common))  # type: ignore[arg-type]
        else:
            contact = session.get(ExternalContact, row.contact_id)
            if contact is None or not contact.email:
                continue
            drafts.append(Draft(channel="email", recipient=contact.email, contact_id=contact.id,
                                dedupe_key=f"{key}:email:{who}", **common))  # type: ignore[arg-type]
        told += sum(enqueue(session, draft, now=now) is not None for draft in drafts)
    return told


def _cancel_pending(session: Session, page: Page, reason: str, now: dt.datetime, *, keep: int | None = None) -> None:
    stmt = update(Notification).where(Notification.page_id == page.id, Notification.state == "pending")
    if keep is not None:
        stmt = stmt.where(Notification.id != keep)
    session.execute(stmt.values(state="cancelled", last_error=reason, updated_at=now)
                    .execution_options(synchronize_session=False))


def _clear_ack(page: Page) -> None:
    page.acknowledged_at, page.acknowledged_by, page.acknowledged_user_id = None, "", None
    page.ack_version, page.ack_expires_at = None, None


def _live_page(session: Session, incident_id: int, level: str) -> Page | None:
    return session.scalar(select(Page).where(Page.incident_id == incident_id, Page.level == level,
                                             Page.state.in_(LIVE)).limit(1))


def open_or_join(session: Session, incident: Incident, alert: Alert, now: dt.datetime) -> Page | None:
    """The page answering `alert`: a new one paging step 0 now, or the level's live one; None: no schedule.

    Only a LEVEL alert whose level has an enabled schedule pages. An alert that already opened a
    page (a repeated pass) returns that page and pages nobody again.
    """
    if alert.audience != LEVEL or not alert.level:
        return None
    schedule = schedule_for_level(session, alert.level)
    if schedule is None:
        return None
    key = alert.key(incident.id)
    existing = session.scalar(select(Page).where(Page.incident_id == incident.id, Page.level == alert.level,
                                                 or_(Page.alert_key == key, Page.state.in_(LIVE)))
                              .order_by(Page.id.desc()).limit(1))
    if existing is not None or _is_closed(incident):
        return existing
    page = Page(incident_id=incident.id, schedule_id=schedule.id, level=alert.level, alert_key=key,
                subject=incident.title[:300], state=OPEN, step=0, round=0, next_at=None, created_at=now,
                updated_at=now)
    session.flush()
    try:
        with session.begin_nested():
            session.add(page)
            session.flush()
    except IntegrityError:
        # Another process opened the level's page at the same moment: join theirs.
        return _live_page(session, incident.id, alert.level)
    _climb(session, incident, schedule, page, 0, now)
    return page


def acknowledge_page(session: Session, page_id: int, *, name: str, user_id: int | None, notification_id: int,
                     now: dt.datetime) -> bool:
    """Acknowledge the page (while it climbs): stop it, cancel what is pending, tell the chain; False otherwise.

    Called by `core.alerts.acknowledge` for a notification of the page. Never changes the incident.
    """
    page = get_for_update(session, Page, page_id)
    if page is None or page.state != OPEN:
        return False
    incident = session.get(Incident, page.incident_id)
    schedule = session.get(OnCallSchedule, page.schedule_id) if page.schedule_id is not None else None
    assert incident is not None  # a page goes with its incident (ON DELETE CASCADE)
    session.flush()  # what the acknowledgement itself recorded moves the version before it is kept
    expires = now + dt.timedelta(minutes=schedule.ack_expires_minutes if schedule else 30)
    page.state, page.acknowledged_at, page.acknowledged_by = ACKNOWLEDGED, now, name[:160]
    page.acknowledged_user_id, page.ack_version = user_id, incident.version
    page.ack_expires_at, page.next_at, page.updated_at = expires, expires, now
    acker = session.get(Notification, notification_id)
    skip = ""
    if acker is not None:
        skip = f"u:{acker.user_id}" if acker.user_id is not None else f"c:{acker.contact_id}"
    level = _level_name(incident, page.level)
    _tell_chain(session, incident, page, kind="acknowledged", skip=skip, now=now,
                subject=f"[{incident.severity}] {name} acknowledged the page for {level}: {incident.title}",
                body=(f"{name} acknowledged the page for {level} on incident #{incident.id} '{incident.title}'. "
                      "You can stand down: nothing more is asked of you for this page."))
    _cancel_pending(session, page, "acknowledged", now, keep=notification_id)
    add_event(session, incident.id, kind="page", occurred_at=now, now=now, actor=Actor(id=user_id, name=name),
              summary=f"{name} acknowledged the page for {page.level}",
              details={"page_id": page.id, "notification_id": notification_id})
    return True


def _resolve(session: Session, incident: Incident | None, page: Page, now: dt.datetime) -> None:
    page.state, page.next_at, page.updated_at = RESOLVED, None, now
    page.closed_reason = "the incident was resolved"
    if incident is None:
        _cancel_pending(session, page, "incident resolved", now)
        return
    level = _level_name(incident, page.level)
    _tell_chain(session, incident, page, kind="resolved", now=now,
                subject=f"[{incident.severity}] Resolved: {incident.title}",
                body=(f"Incident #{incident.id} '{incident.title}' is resolved, so the page for {level} is closed. "
                      "Nothing more is asked of you for it."))
    _cancel_pending(session, page, "incident resolved", now)
    add_event(session, incident.id, kind="page", occurred_at=now, now=now, actor=SYSTEM,
              summary=f"The page for {page.level} closed: the incident was resolved", details={"page_id": page.id})


def _advance(session: Session, page: Page, now: dt.datetime) -> None:
    incident = session.get(Incident, page.incident_id)
    if incident is None or _is_closed(incident):
        _resolve(session, incident, page, now)
        return
    schedule = session.get(OnCallSchedule, page.schedule_id) if page.schedule_id is not None else None
    if schedule is None:
        page.state, page.next_at, page.updated_at = RESOLVED, None, now
        page.closed_reason = "the level's schedule was removed"
        return
    if page.state == OPEN:
        _climb(session, incident, schedule, page, page.step + 1, now)
        return
    if page.ack_expires_at is None or page.ack_expires_at > now:
        page.next_at = page.ack_expires_at
        return
    if incident.version != page.ack_version:
        page.next_at, page.updated_at = None, now  # the incident moved: the acknowledgement stands
        return
    by = page.acknowledged_by or "someone"
    _clear_ack(page)
    page.round += 1
    add_event(session, incident.id, kind="page", occurred_at=now, now=now, actor=SYSTEM,
              summary=f"{by}'s acknowledgement of the page for {page.level} expired without progress: paging again",
              details={"page_id": page.id})
    # A re-opened page runs the chain at least once more; rounds past `repeats` end it after that one.
    _climb(session, incident, schedule, page, 0, now,
           why=f"{by} acknowledged this page earlier but the incident has not moved since. ", tag="x")


def _due_pages(session: Session, now: dt.datetime, limit: int) -> list[Page]:
    postgresql = session.get_bind().dialect.name == "postgresql"
    due = (select(Page).where(Page.state.in_(LIVE), Page.next_at <= now).order_by(Page.next_at).limit(limit))
    # Live pages of closed incidents (an acknowledged page may have no next_at): closed at the next pass.
    closed = (select(Page).join(Incident, Incident.id == Page.incident_id)
              .where(Page.state.in_(LIVE), or_(Incident.resolved_at.is_not(None),
                                               Incident.status.not_in([s.value for s in OPEN_STATUSES])))
              .order_by(Page.id).limit(limit))
    if postgresql:
        # Another process's pages are skipped, not waited for (as the alert pass does).
        due, closed = due.with_for_update(of=Page, skip_locked=True), closed.with_for_update(of=Page, skip_locked=True)
    found = {page.id: page for page in session.scalars(closed)}
    for page in session.scalars(due):
        found.setdefault(page.id, page)
    return list(found.values())


def advance_due(bind: Engine | Session, now: dt.datetime, *, limit: int = BATCH) -> int:
    """Move every page that is due at `now` (climb, round again, give up, re-open, close); returns how many moved.

    With an engine, each batch of `limit` pages is its own transaction; with a session, the caller's.
    """
    if isinstance(bind, Session):
        pages = _due_pages(bind, now, limit)
        for page in pages:
            _advance(bind, page, now)
        bind.flush()
        return len(pages)
    moved = 0
    while True:
        with session_scope(bind) as session:
            pages = _due_pages(session, now, limit)
            for page in pages:
                _advance(session, page, now)
        moved += len(pages)
        if len(pages) < limit:
            return moved


def _acted_on(session: Session, page_id: int, actor: Actor) -> tuple[Page, Incident, OnCallSchedule]:
    page = get_for_update(session, Page, page_id)
    if page is None:
        raise PagingError("This page no longer exists: reload the incident.")
    incident = session.get(Incident, page.incident_id)
    assert incident is not None
    if not may_change(incident, actor):
        raise PagingForbidden(f"{actor.name} may not escalate the pages of incident {incident.id}: it is for the "
                              "account's CSM, the incident's owner, leads and admins.")
    if page.state not in LIVE:
        raise PagingError(f"The page for {page.level} is closed ({STATE_NAMES[page.state].lower()}): a new alert for "
                          "the level opens a new one.")
    schedule = session.get(OnCallSchedule, page.schedule_id) if page.schedule_id is not None else None
    if schedule is None:
        raise PagingError(f"The schedule of the page for {page.level} was removed: there is nobody left to page.")
    return page, incident, schedule


def _manual(session: Session, page: Page, incident: Incident, schedule: OnCallSchedule, start: int, actor: Actor,
            action: str, now: dt.datetime) -> Page:
    before = (page.state, page.step, page.round)
    _clear_ack(page)
    _cancel_pending(session, page, f"{action} by {actor.name}", now)
    session.flush()
    _climb(session, incident, schedule, page, start, now, why=f"{actor.name} paged you directly. ",
           tag=f"m{page.version}")
    add_event(session, incident.id, kind="page", occurred_at=now, now=now, actor=actor,
              summary=f"{actor.name}: {action} on the page for {page.level}", details={"page_id": page.id})
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="page", entity_id=page.id,
                 action=action, at=now,
                 changes={"state": [before[0], page.state], "step": [before[1], page.step],
                          "round": [before[2], page.round]})
    return page


def escalate_now(session: Session, page_id: int, actor: Actor, now: dt.datetime) -> Page:
    """Page the next step at once (an acknowledged page starts climbing again); PagingError says why not."""
    page, incident, schedule = _acted_on(session, page_id, actor)
    return _manual(session, page, incident, schedule, page.step + 1, actor, "escalate now", now)


def jump_to(session: Session, page_id: int, step: int, actor: Actor, now: dt.datetime) -> Page:
    """Page step `step` (0: the primary) at once, in the current round; PagingError says why not."""
    page, incident, schedule = _acted_on(session, page_id, actor)
    steps = steps_of(session, schedule)
    if not 0 <= step < len(steps):
        raise PagingError(f"Step {step + 1} does not exist: the '{schedule.name}' schedule has {len(steps)} step(s).")
    return _manual(session, page, incident, schedule, step, actor, f"jump to step {step + 1}", now)


def pages_of(session: Session, incident_id: int) -> list[PageView]:
    """The incident's pages, newest first, with who each one reached, how and when (read-only)."""
    reached: dict[int, list[PagedNotification]] = {}
    for item in paged_notifications(session, incident_id):
        reached.setdefault(item.page_id, []).append(item)
    views = []
    for page in session.scalars(select(Page).where(Page.incident_id == incident_id)
                                .order_by(Page.created_at.desc(), Page.id.desc())):
        schedule = session.get(OnCallSchedule, page.schedule_id) if page.schedule_id is not None else None
        steps = tuple(steps_of(session, schedule)) if schedule is not None else ()
        views.append(PageView(page.id, page.level, page.state, STATE_NAMES.get(page.state, page.state), page.step,
                              page.round, (schedule.repeats + 1) if schedule else page.round + 1, steps,
                              page.next_at, page.created_at, page.acknowledged_at, page.acknowledged_by,
                              page.ack_expires_at, page.closed_reason, tuple(reached.get(page.id, ()))))
    return views
