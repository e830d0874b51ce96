"""The scheduler pass: queue the alerts that are due, for whom and over which channels, then deliver.

`queue_due` reads only the incidents whose `next_alert_at` has passed (through its index, a batch
at a time, `FOR UPDATE SKIP LOCKED` on PostgreSQL so two processes split the work; SQLite's
`BEGIN IMMEDIATE` serialises them), asks the pure rules (`core.incident.alerting`) what is due,
turns each alert into outbox rows (`core.outbox.queue`) for its recipients, and moves
`next_alert_at` to the next moment, all in one transaction per batch. An alert is named by
incident, rule, clock and deadline, so a pass that finds nothing new queues nothing.
A level's alert whose level has an on-call schedule pages the person on call instead of the
policy's published contacts (`core.alerts.paging`); each pass also moves the pages that are due.
`tick` is one whole pass: queue, deliver (`core.alerts.delivery`), then record the SLA clocks
that passed their deadline as breached (`core.sla.projection.record_breaches`, so the dashboard's
open-clock rollups stay current) and re-evaluate the account health that time has made stale
(`core.account.signals.refresh_due`).
This module decides who hears about an alert; it never sends anything itself, never reads the
clock (callers pass `now`) and never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.account import signals
from core.alerts.delivery import deliver
from core.alerts.paging import advance_due, open_or_join
from core.incident.alerting import CSM, LEVEL, OWNER, Alert, AlertPlan
from core.incident.flows import alerts_of
from core.outbox.queue import Draft, enqueue
from core.people.time_display import display_zone
from core.policy.schema import Policy
from core.sla.facts import policy_of
from core.sla.projection import record_breaches
from core.vocabulary import OPEN_STATUSES
from core.zones import UTC_NAME, zone_or_none
from db.engine import session_scope
from db.models import Incident, NotificationEndpoint, Setting, User

BATCH = 200
# Set once every incident stored before alerts existed has its next_alert_at (see `backfill`).
BACKFILL_MARKER = "alerts_next_alert_filled"
# What each clock asks of the person warned about it.
ACTIONS = {
    "acknowledge": "Acknowledge the incident in Escalation Desk, or hand it to someone who can.",
    "client_notification": "Tell the client what is happening and record the notice.",
    "mobilization": "Bring the response team together and record it.",
    "client_update": "Send the client their next update and record it.",
    "resolution": "Resolve the incident, or record a workaround and the client's agreement to the new time.",
    "resolution_max": "Resolve the incident: this is the policy's hard limit.",
    "escalation": "Escalate the incident to the level the policy requires.",
}
LEVEL_ACTION = "Take the case and record your response in Escalation Desk."


@dataclass(frozen=True)
class _Recipient:
    """One place an alert goes: a channel, who it is for and the part of the dedupe key that names them."""

    channel: str
    recipient: str
    who: str
    user_id: int | None = None
    endpoint_id: int | None = None
    # The zone the message's times are written in: a person's display zone; UTC for contacts and channels.
    zone: str = UTC_NAME


def _hashed(text: str) -> str:
    # A dedupe key names an address without spelling it out (and stays short).
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:12]


def _person(user: User | None) -> list[_Recipient]:
    if user is None or not user.is_active:
        return []
    zone = display_zone(shows=user.show_times_in, time_zone=user.time_zone, chosen=user.time_zone_chosen,
                        browser=None).name
    found = [_Recipient("inbox", user.display_name, f"u{user.id}", user_id=user.id, zone=zone)]
    if user.email:
        found.append(_Recipient("email", user.email, f"u{user.id}", user_id=user.id, zone=zone))
    return found


def _hears(endpoint: NotificationEndpoint, level: str | None) -> bool:
    # An endpoint without levels hears every alert; one with levels only the alerts of those levels.
    return not endpoint.levels or (level is not None and level in endpoint.levels)


def _recipients(incident: Incident, policy: Policy, alert: Alert,
                endpoints: list[NotificationEndpoint], *, paged: bool = False) -> list[_Recipient]:
    """Who hears about `alert`: the owner or the CSM in the app and by email, a level's published contacts
    (email; phone through the SMS gateways) unless the level's schedule `paged` its person on call, and
    the team's webhook, Slack and Teams endpoints."""
    found: list[_Recipient] = []
    if alert.audience == OWNER:
        found += _person(incident.owner or incident.account.owner)
    elif alert.audience == CSM:
        found += _person(incident.account.owner)
    elif alert.audience == LEVEL and not paged and alert.level in {level.id for level in policy.escalation_levels}:
        for contact in policy.level(alert.level).contacts:
            if contact.email:
                found.append(_Recipient("email", contact.email, f"m{_hashed(contact.email)}"))
            if contact.phone:
                found += [_Recipient("sms", contact.phone, f"e{e.id}:{_hashed(contact.phone)}", endpoint_id=e.id)
                          for e in endpoints if e.kind == "sms" and _hears(e, alert.level)]
    found += [_Recipient(e.kind, e.name, f"e{e.id}", endpoint_id=e.id)
              for e in endpoints if e.kind in ("webhook", "slack", "teams") and _hears(e, alert.level)]
    return found


def _when(moment: dt.datetime, zone_name: str = UTC_NAME) -> str:
    # A person's own zone first, with UTC beside it so a forwarded message stays unambiguous.
    utc = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    zone = zone_or_none(zone_name)
    if zone is None or zone_name == UTC_NAME:
        return utc
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or zone_name} ({utc[-9:]})"


def _span(span: dt.timedelta) -> str:
    minutes = max(0, round(span.total_seconds() / 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def message(incident: Incident, policy: Policy, alert: Alert, now: dt.datetime,
            zone_name: str = UTC_NAME) -> tuple[str, str]:
    """The subject and body of an alert: what is due, by when (in `zone_name`, with UTC), and what to do."""
    label = alert.label
    deadline = _when(alert.deadline, zone_name)
    about = f"incident #{incident.id} '{incident.title}' for {incident.account.name} ({incident.severity} " \
            f"{policy.severity_label(incident.severity)})"
    action = LEVEL_ACTION if alert.audience == LEVEL else ACTIONS.get(alert.clock, LEVEL_ACTION)
    tag = f"[{incident.severity}]"
    if alert.rule == "warn":
        subject = f"{tag} {label} due in {_span(alert.deadline - now)}: {incident.title}"
        body = f"{label} is due by {deadline} for {about}. {action}"
    elif alert.rule == "remind":
        subject = f"{tag} The client must hear from us by {deadline}: {incident.title}"
        body = f"The next message to the client is due by {deadline} for {about}. {action}"
    elif alert.rule == "breach":
        subject = f"{tag} Missed: {label} was due at {deadline}: {incident.title}"
        body = f"{label} was due by {deadline} for {about} and has not happened. {action}"
    else:
        name = policy.level(alert.clock).name if alert.level else alert.clock
        subject = f"{tag} {name} ({alert.clock}) needed since {deadline}: {incident.title}"
        body = (f"The policy needs {name} ({alert.clock}) on {about} since {deadline}. "
                f"{LEVEL_ACTION}")
    return subject[:300], body


def _drafts(incident: Incident, plan: AlertPlan, endpoints: list[NotificationEndpoint],
            now: dt.datetime, paged: frozenset[str] = frozenset()) -> Iterator[Draft]:
    policy = policy_of(incident)
    for alert in plan.due:
        key = alert.key(incident.id)
        payload = {"incident_id": incident.id, "title": incident.title, "account": incident.account.name,
                   "severity": incident.severity, "rule": alert.name, "clock": alert.clock, "label": alert.label,
                   "deadline": alert.deadline.astimezone(dt.UTC).isoformat(), "audience": alert.audience,
                   "level": alert.level, "alert_key": key}
        for to in _recipients(incident, policy, alert, endpoints, paged=alert.key(incident.id) in paged):
            subject, body = message(incident, policy, alert, now, to.zone)
            yield Draft(rule=alert.name, channel=to.channel, recipient=to.recipient,
                        dedupe_key=f"{key}:{to.channel}:{to.who}", due_at=alert.due_at, subject=subject, body=body,
                        incident_id=incident.id, user_id=to.user_id, endpoint_id=to.endpoint_id, level=alert.level,
                        payload=payload, drill=incident.is_drill)


def due_statement(now: dt.datetime, limit: int, *, postgresql: bool) -> Select[Incident]:
    """The one read of a pass: up to `limit` incidents whose next alert is due, through ix_incidents_next_alert."""
    # Ordered by the indexed column alone, so the index yields the batch in order with no sort of every due row.
    stmt = (select(Incident).where(Incident.next_alert_at <= now).order_by(Incident.next_alert_at)
            .limit(limit))
    if postgresql:
        # Another process's batch is skipped, not waited for: each due incident is handled by one process.
        stmt = stmt.with_for_update(of=Incident, skip_locked=True)
    return stmt


def _due_batch(session: Session, now: dt.datetime, limit: int) -> list[Incident]:
    postgresql = session.get_bind().dialect.name == "postgresql"
    return list(session.scalars(due_statement(now, limit, postgresql=postgresql)))


def _set_next(session: Session, incident_id: int, moment: dt.datetime | None) -> None:
    # A plain UPDATE: moving the alert schedule is not an edit of the incident, so its version (which
    # guards people's edits against each other) stays as it is.
    session.execute(update(Incident).where(Incident.id == incident_id).values(next_alert_at=moment)
                    .execution_options(synchronize_session=False))


def queue_due(engine: Engine, *, now: dt.datetime, limit: int = BATCH) -> int:
    """Queue the alerts due at `now`; returns how many notifications were queued (repeats of a known alert: none).

    Reads `limit` due incidents at a time, each batch in its own transaction, until none is left;
    then moves the pages that are due (`core.alerts.paging.advance_due`).
    """
    backfill(engine, now=now)
    queued = 0
    while True:
        with session_scope(engine) as session:
            batch = _due_batch(session, now, limit)
            if not batch:
                break
            endpoints = list(session.scalars(select(NotificationEndpoint)
                                             .where(NotificationEndpoint.is_enabled.is_(True))
                                             .order_by(NotificationEndpoint.id)))
            for incident in batch:
                plan = alerts_of(session, incident, now)
                # A level with a schedule pages its person on call (once per alert) instead of its contacts.
                paged = frozenset(alert.key(incident.id) for alert in plan.due
                                  if open_or_join(session, incident, alert, now) is not None)
                for draft in _drafts(incident, plan, endpoints, now, paged):
                    queued += enqueue(session, draft, now=now) is not None
                _set_next(session, incident.id, plan.next_at)
        if len(batch) < limit:
            break
    advance_due(engine, now)
    return queued


def backfill(engine: Engine, *, now: dt.datetime) -> int:
    """Give open incidents stored before alerts existed their next_alert_at, once; returns how many were planned.

    Later calls read one settings row and stop: a pass never scans the incidents table for this.
    """
    try:
        with session_scope(engine) as session:
            if session.get(Setting, BACKFILL_MARKER) is not None:
                return 0
            stmt = select(Incident).where(Incident.status.in_([s.value for s in OPEN_STATUSES]),
                                          Incident.next_alert_at.is_(None), Incident.resolved_at.is_(None))
            planned = 0
            for incident in session.scalars(stmt).all():
                moment = alerts_of(session, incident, now).wake_at
                if moment is not None:
                    _set_next(session, incident.id, moment)
                    planned += 1
            session.add(Setting(key=BACKFILL_MARKER, value={"at": now.isoformat(), "incidents": planned}))
    except IntegrityError:
        return 0  # another process filled them at the same moment and set the marker first
    return planned


def record_breached_clocks(engine: Engine, *, now: dt.datetime) -> int:
    """Record the SLA clocks still running past their deadline at `now` as breached (one transaction); how many."""
    with session_scope(engine) as session:
        return record_breaches(session, now)


def tick(engine: Engine, *, now: dt.datetime, worker: str, base_url: str) -> dict[str, int]:
    """One whole scheduler pass: queue the alerts due at `now`, deliver what is due, record breached clocks.

    Returns the delivery's counts, {"due", "sent", "failed", "retrying"}: what this pass claimed and
    what became of it (alerts queued by this pass are due at once, so they are among them). Then, each in
    its own transaction so that a failure there never holds back an alert: breached clocks are recorded,
    and the accounts whose stored early warnings stopped holding as time passed are re-evaluated, so a
    health page normally finds none to evaluate itself.
    """
    queue_due(engine, now=now)
    delivered = deliver(engine, now=now, worker=worker, base_url=base_url).as_dict()
    record_breached_clocks(engine, now=now)
    signals.refresh_due(engine, now)
    return delivered
