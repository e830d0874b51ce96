"""Incident flows: open an incident from a triage, record milestones, move its status.

Roles and action items are `core.incident.assignments`, built on the helpers here.

Each flow runs inside the caller's unit of work, locks the incident row it
changes, checks the version the person was looking at (a stale edit is a
`ConflictError`, never a silent overwrite), stamps the time, appends to the
timeline and the audit log, and keeps the denormalised "next deadline"
current, with the next moment an alert rule fires (`next_alert_at`, see
`core.incident.alerting`). Resolving also schedules the policy's reviews, in the same unit of
work. Never imports streamlit; never reads the clock (callers pass `now`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.account.access import may_change_incident
from core.account.signals import count_opened_incident
from core.incident.alerting import AlertPlan, plan_alerts
from core.incident.escalation import EscalationStatus, escalation_status, handoff_summary
from core.incident.followers import notify_followers
from core.incident.lifecycle import MILESTONE_FIELDS, MILESTONE_LABELS, Milestone, check_move
from core.incident.reviews import schedule_reviews
from core.incident.timeline import add_event
from core.limits import FREE_TEXT, TITLE, check_text
from core.oncall.paged import paged_notifications
from core.people.users import Actor
from core.policy import store as policy_store
from core.policy.ladder import floors
from core.policy.rules import level_rank, severity_rank
from core.policy.schema import Policy
from core.sla.clocks import IncidentFacts, SlaClock, compute_clocks, most_urgent
from core.sla.facts import facts_of, pauses_of, policy_of
from core.sla.projection import sync_incident
from core.sla.response_log import (
    escalations_of,
    log_client_message,
    log_escalation,
    log_level_response,
    responses_of,
)
from core.triage.rules import Answers, TriageResult, retarget, triage
from core.vocabulary import STATUS_LABELS, IncidentStatus
from db.models import Account, AuditEntry, Escalation, Incident, SlaPause, TimelineEvent
from db.rows import current_for_update

# The status a milestone moves an incident to, when the lifecycle allows it.
MILESTONE_STATUS: dict[Milestone, IncidentStatus] = {
    Milestone.ACKNOWLEDGED: IncidentStatus.ACKNOWLEDGED,
    Milestone.MOBILIZED: IncidentStatus.MOBILIZED,
    Milestone.MITIGATED: IncidentStatus.MITIGATED,
    Milestone.RESOLVED: IncidentStatus.RESOLVED,
    Milestone.CLOSED: IncidentStatus.CLOSED,
}
_STATUS_RANK = [IncidentStatus.NEW, IncidentStatus.REOPENED, IncidentStatus.ACKNOWLEDGED,
                IncidentStatus.MOBILIZED, IncidentStatus.MITIGATED, IncidentStatus.RESOLVED,
                IncidentStatus.CLOSED]


class IncidentError(ValueError):
    """A change to an incident that cannot be made; the message says what to fix."""


class IncidentForbidden(IncidentError, PermissionError):
    """This person may not change the incident (it is for the account's CSM, its owner, leads and admins)."""


class ConflictError(IncidentError):
    """Someone else saved the incident since it was loaded; `changes` says what they changed."""

    def __init__(self, message: str, changes: list[str]):
        super().__init__(message)
        self.changes = changes


@dataclass(frozen=True)
class OpenedIncident:
    """The id of the incident, the triage that classified it, and whether this call created it (False: a repeat
    of a request that already opened it, found by its idempotency key)."""

    id: int
    result: TriageResult
    created: bool = True


# A form's or a request's token: long enough for a UUID or a sender's own key, short enough to index.
IDEMPOTENCY_KEY_MAX = 64


def check_idempotency_key(key: str | None) -> str | None:
    """The key, trimmed (None when empty); IncidentError when it is too long or holds spaces or control characters."""
    key = (key or "").strip()
    if not key:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX or any(ch.isspace() or not ch.isprintable() for ch in key):
        raise IncidentError(f"An idempotency key is 1 to {IDEMPOTENCY_KEY_MAX} printable characters without "
                            "spaces (e.g. a UUID).")
    return key


def _already_opened(session: Session, key: str) -> OpenedIncident | None:
    incident = session.scalar(select(Incident).where(Incident.idempotency_key == key))
    if incident is None:
        return None
    # The same classification as when it was opened: the stored answers under its own policy snapshot.
    result = triage(Answers.model_validate(incident.answers), policy_of(incident), incident.detected_at)
    return OpenedIncident(incident.id, result, created=False)


def clocks_of(session: Session, incident: Incident, now: dt.datetime) -> list[SlaClock]:
    """Every SLA clock of the incident at `now`."""
    return compute_clocks(facts_of(incident, pauses_of(session, incident.id)), policy_of(incident), now)


def client_update_due(clocks: list[SlaClock]) -> dt.datetime | None:
    """When the client must next hear from us: the first notice's deadline, then each update's; None once done."""
    for name in ("client_update", "client_notification"):
        clock = next((c for c in clocks if c.clock == name and c.stopped_at is None), None)
        if clock is not None:
            return clock.deadline
    return None


def refresh_next_deadline(session: Session, incident: Incident, now: dt.datetime) -> None:
    """Store the most urgent open clock on the row, for lists and boards, and when the next alert falls due."""
    # No autoflush: the change and this refresh go out as one UPDATE, one version.
    with session.no_autoflush:
        # One read of the facts and one clock computation serve the row, the ladder and the summary.
        facts, policy = facts_of(incident, pauses_of(session, incident.id)), policy_of(incident)
        clocks = compute_clocks(facts, policy, now)
        urgent = most_urgent(clocks)
        escalation = escalation_from(incident, facts, policy, now, clocks)
        # The dashboard summary changes in the same unit of work as the incident.
        sync_incident(session, incident, clocks, now)
    incident.next_deadline_at = urgent.deadline if urgent else None
    incident.next_deadline_clock = urgent.clock if urgent else None
    incident.next_client_update_due_at = client_update_due(clocks)
    # The earliest due time on the ladder not met yet (a step in force or one still to come),
    # or a breach that moves the case up: past that moment the escalation is overdue.
    incident.escalation_due_at = None if incident.resolved_at else escalation.deadline
    incident.next_alert_at = alerts_from(incident, policy, clocks, escalation, now).wake_at


def alerts_from(incident: Incident, policy: Policy, clocks: Sequence[SlaClock], escalation: EscalationStatus,
                now: dt.datetime) -> AlertPlan:
    """The policy's alerts for the incident at `now`, from clocks and a ladder already computed."""
    return plan_alerts(policy=policy, severity=incident.severity, clocks=clocks, ladder=escalation.ladder,
                       resolved=incident.resolved_at is not None or incident.closed_at is not None, now=now)


def alerts_of(session: Session, incident: Incident, now: dt.datetime) -> AlertPlan:
    """The policy's alerts for the incident at `now`: those due, and when the next one falls due."""
    facts, policy = facts_of(incident, pauses_of(session, incident.id)), policy_of(incident)
    clocks = compute_clocks(facts, policy, now)
    return alerts_from(incident, policy, clocks, escalation_from(incident, facts, policy, now, clocks), now)


def open_incident(
    session: Session, *, account_id: int, title: str, summary: str, answers: Answers,
    policy_name: str, actor: Actor, now: dt.datetime, detected_at: dt.datetime | None = None,
    owner_id: int | None = None, war_room_url: str = "", idempotency_key: str | None = None,
    is_drill: bool = False,
) -> OpenedIncident:
    """Triage the answers under the saved policy and store the incident with a policy snapshot.

    `is_drill` opens an exercise (a monthly escalation drill): every notification about it says
    DRILL (`core.outbox.queue`) and the SLA summary leaves it out (`core.sla.projection`).

    With an `idempotency_key` (the triage form's token, an API request's key), a repeat of the
    same request returns the incident it already opened (`created=False`), even when two
    arrive at once: the key is unique in the database.
    """
    key = check_idempotency_key(idempotency_key)
    if key is not None:
        repeat = _already_opened(session, key)
        if repeat is not None:
            return repeat
    title = check_text(title, TITLE, "The title", IncidentError)
    war_room = check_war_room_url(war_room_url)
    summary = check_text(summary, FREE_TEXT, "The summary", IncidentError)
    if not title.strip():
        raise IncidentError("Give the incident a short title, e.g. 'Checkout API returns 500s'.")
    account = session.get(Account, account_id)
    if account is None or account.archived_at is not None:
        raise IncidentError("Choose an active customer account for the incident.")
    detected_at = detected_at or now
    if detected_at > now:
        raise IncidentError("The detection time is in the future: enter when the problem was first seen.")
    policy, version = policy_store.load(session, policy_name)
    if not answers.customer_tier:
        answers = answers.model_copy(update={"customer_tier": account.tier})
    result = triage(answers, policy, detected_at)
    incident = Incident(
        title=title.strip(), summary=summary.strip(), account_id=account.id,
        policy_name=policy.name, policy_version=version,
        snapshot=policy_store.snapshot_of(session, policy, now=now),
        answers=answers.model_dump(mode="json", exclude_none=True),
        triage_result={**result.to_json(),
                       "targets": {k: v.total_seconds() for k, v in result.targets.items()},
                       "ladder": [step.to_json() for step in result.ladder]},
        severity=result.severity, red_status=result.red_status,
        escalation_category=result.escalation_category, required_level=result.escalation_level,
        current_level=None, status=IncidentStatus.NEW.value, detected_at=detected_at,
        owner_id=owner_id or account.owner_id, created_by_id=actor.id, created_at=now, updated_at=now,
        war_room_url=war_room, idempotency_key=key, is_drill=is_drill,
    )
    try:
        # A savepoint: when a twin request inserted the same key first, only this insert is undone.
        with session.begin_nested():
            session.add(incident)
            session.flush()
    except IntegrityError:
        repeat = _already_opened(session, key) if key is not None else None
        if repeat is None:
            raise
        return repeat
    # The health signals derived from incidents change with this one, in the same transaction.
    count_opened_incident(session, incident, now)
    reasons = "; ".join(r.text for r in result.reasons) or "no rule fired: policy default"
    drill = "DRILL (an exercise, left out of the SLA figures): " if is_drill else ""
    add_event(session, incident.id, kind="opened", actor=actor, occurred_at=detected_at, now=now,
              summary=f"{drill}Opened as {result.severity}{' (red status)' if result.red_status else ''} "
                      f"under {policy.name} v{version}: {reasons}",
              details={"triage": result.to_json(), "drill": is_drill})
    changes: dict[str, list[object]] = {"severity": [None, result.severity], "status": [None, "new"]}
    if is_drill:
        changes["is_drill"] = [None, True]
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident",
                 entity_id=incident.id, action="open_drill" if is_drill else "open", changes=changes, at=now)
    refresh_next_deadline(session, incident, now)
    return OpenedIncident(incident.id, result)


# The severities whose opening asks for a war room (a call or chat room where the responders meet).
WAR_ROOM_SEVERITIES = ("P0", "P1")
# A war room link is clicked by every responder: only a web address, nothing a browser would run.
_WAR_ROOM_SCHEMES = ("https", "http")
WAR_ROOM_MAX = 500


def check_war_room_url(url: str) -> str | None:
    """The war room link, trimmed (None when empty); IncidentError when it is not a plain http(s) address."""
    url = url.strip()
    if not url:
        return None
    example = "e.g. https://meet.example.com/abc-defg-hij"
    if len(url) > WAR_ROOM_MAX:
        raise IncidentError(f"The war room link is {len(url)} characters long; at most {WAR_ROOM_MAX} ({example}).")
    parts = urlsplit(url)
    if parts.scheme.lower() not in _WAR_ROOM_SCHEMES or not parts.netloc or any(
            ch.isspace() or not ch.isprintable() for ch in url):
        raise IncidentError(f"The war room link must be a web address starting with https:// ({example}).")
    return url


def set_war_room(session: Session, *, incident_id: int, url: str, actor: Actor, now: dt.datetime,
                 expected_version: int | None = None) -> Incident:
    """Set, change or (with an empty url) remove the link of the incident's call or chat room."""
    war_room = check_war_room_url(url)
    incident = lock_for(session, incident_id, expected_version, actor)
    if war_room == incident.war_room_url:
        raise IncidentError("The war room link is already this one.")
    before, incident.war_room_url = incident.war_room_url, war_room
    add_event(session, incident.id, kind="war_room", actor=actor, occurred_at=now, now=now,
              summary=f"War room: {war_room}" if war_room else "War room link removed")
    record_change(session, incident, actor, "war_room", {"war_room_url": [before, war_room]}, now)
    incident.updated_at = now
    return incident


def lock(session: Session, incident_id: int, expected_version: int | None) -> Incident:
    """The incident row, locked; ConflictError when it changed since `expected_version`."""
    return current_for_update(
        session, Incident, incident_id, expected_version,
        missing=lambda: IncidentError(f"Incident {incident_id} does not exist."),
        stale=lambda incident: ConflictError(
            f"Incident {incident_id} was changed by someone else while you were looking at it "
            f"(you had version {expected_version}, it is now {incident.version}). Nothing of yours "
            "was saved; review their change below, then make yours again.",
            _recent_changes(session, incident_id),
        ))


def may_change(incident: Incident, actor: Actor) -> bool:
    """True when `actor` may change the incident: leads and admins, the account's CSM, the incident's owner."""
    return may_change_incident(actor.role, actor.id, incident.account.owner_id, incident.owner_id)


def check_may_change(incident: Incident, actor: Actor) -> None:
    """IncidentForbidden unless `actor` may change the incident (the rule the incident page applies)."""
    if not may_change(incident, actor):
        raise IncidentForbidden(f"{actor.name} may not change incident {incident.id}: it is for the account's CSM, "
                                "the incident's owner, leads and admins.")


def lock_for(session: Session, incident_id: int, expected_version: int | None, actor: Actor) -> Incident:
    """The incident row, locked, once `actor` is known to be allowed to change it (see `lock`)."""
    incident = lock(session, incident_id, expected_version)
    check_may_change(incident, actor)
    return incident


def _recent_changes(session: Session, incident_id: int) -> list[str]:
    stmt = (select(AuditEntry).where(AuditEntry.entity_type == "incident",
                                     AuditEntry.entity_id == str(incident_id))
            .order_by(AuditEntry.id.desc()).limit(10))
    return [f"{e.at:%H:%M} UTC {e.actor_name}: {e.action} {e.changes}" for e in session.scalars(stmt)]


def record_milestone(
    session: Session, *, incident_id: int, milestone: Milestone, actor: Actor, now: dt.datetime,
    at: dt.datetime | None = None, reason: str = "", expected_version: int | None = None,
) -> Incident:
    """Stamp a milestone (now, or at a past time with a reason) and move the status it implies."""
    reason = check_text(reason, FREE_TEXT, "The reason", IncidentError)
    incident = lock_for(session, incident_id, expected_version, actor)
    at = at or now
    if at > now:
        raise IncidentError("A milestone cannot be in the future.")
    if at < now - dt.timedelta(minutes=1) and not reason.strip():
        raise IncidentError("Say why you record this milestone at an earlier time (e.g. 'called the client at 09:12').")
    if at < incident.detected_at:
        raise IncidentError(
            f"{MILESTONE_LABELS[milestone]} cannot be before detection ({incident.detected_at:%Y-%m-%d %H:%M} UTC)."
        )
    field = MILESTONE_FIELDS[milestone]
    if milestone is Milestone.CLIENT_CONFIRMED and (incident.resolved_at is None or at < incident.resolved_at):
        raise IncidentError("The client can confirm the fix only once the incident is resolved: record "
                            "'Resolved' first, then the client's confirmation at or after it.")
    if getattr(incident, field) is not None and milestone is not Milestone.CLIENT_NOTIFIED:
        raise IncidentError(f"{MILESTONE_LABELS[milestone]} is already recorded.")
    target = MILESTONE_STATUS.get(milestone)
    before_status = incident.status
    # Forward moves only, except resolve/close, which always go through the lifecycle check.
    if target is not None and (_STATUS_RANK.index(target) > _STATUS_RANK.index(IncidentStatus(incident.status))
                               or target in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)):
        incident.status = check_move(incident.status, target).value
    if getattr(incident, field) is None:
        setattr(incident, field, at)
    if milestone is Milestone.CLIENT_NOTIFIED:
        if incident.last_client_update_at is None or at > incident.last_client_update_at:
            incident.last_client_update_at = at
        log_client_message(incident, at)
    incident.updated_at = now
    add_event(session, incident.id, kind="milestone", actor=actor, occurred_at=at, now=now,
              summary=MILESTONE_LABELS[milestone] + (f" ({reason.strip()})" if reason.strip() else ""),
              details={"milestone": milestone.value})
    changes: dict[str, list[object]] = {field: [None, at]}
    if before_status != incident.status:
        changes["status"] = [before_status, incident.status]
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident",
                 entity_id=incident.id, action=f"milestone:{milestone.value}", changes=changes, at=now)
    refresh_next_deadline(session, incident, now)
    if milestone is Milestone.RESOLVED:
        _resolved(session, incident, actor, now)
    if before_status != incident.status:
        # Last: the notices name the version this change made (see notify_followers).
        notify_followers(session, incident, "status", status_change(before_status, incident.status), actor, now)
    return incident


def record_change(
    session: Session, incident: Incident, actor: Actor, action: str, changes: dict[str, Any], now: dt.datetime,
) -> None:
    """Audit one change of the incident by `actor`."""
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident",
                 entity_id=incident.id, action=action, changes=changes, at=now)


def touch(session: Session, incident: Incident, now: dt.datetime) -> None:
    """Stamp the change time and refresh the stored next deadline."""
    incident.updated_at = now
    refresh_next_deadline(session, incident, now)


def _resolved(session: Session, incident: Incident, actor: Actor, now: dt.datetime) -> None:
    # Every resolution schedules the policy's reviews in the same unit of work
    # (and a re-resolution re-dates them), whoever resolves: page, CLI, demo.
    # Called once the row is final, never from refresh_next_deadline, which
    # runs on every write.
    schedule_reviews(session, incident, actor=actor, now=now)


def move_status(
    session: Session, *, incident_id: int, target: str, actor: Actor, now: dt.datetime,
    reason: str = "", expected_version: int | None = None,
) -> Incident:
    """Move the status along the lifecycle, stamping resolved/closed/reopened times."""
    reason = check_text(reason, FREE_TEXT, "The reason", IncidentError)
    incident = lock_for(session, incident_id, expected_version, actor)
    to = check_move(incident.status, target)
    before = incident.status
    changes: dict[str, list[object]] = {"status": [before, to.value]}
    if to is IncidentStatus.RESOLVED and incident.resolved_at is None:
        incident.resolved_at = now
        changes["resolved_at"] = [None, now]
    elif to is IncidentStatus.CLOSED and incident.closed_at is None:
        incident.closed_at = now
        changes["closed_at"] = [None, now]
    elif to is IncidentStatus.REOPENED:
        if not reason.strip():
            raise IncidentError("Say why the incident is reopened (what the client still sees).")
        # The earlier resolution stays in the timeline and the audit log; the
        # clocks run again until the incident is resolved anew.
        changes["resolved_at"] = [incident.resolved_at, None]
        changes["closed_at"] = [incident.closed_at, None]
        # The fix did not hold: the client's confirmation of it no longer stands either.
        if incident.client_confirmed_at is not None:
            changes["client_confirmed_at"] = [incident.client_confirmed_at, None]
        incident.resolved_at, incident.closed_at, incident.reopened_at = None, None, now
        incident.client_confirmed_at = None
    elif to is IncidentStatus.ACKNOWLEDGED and incident.acknowledged_at is None:
        incident.acknowledged_at = now
    elif to is IncidentStatus.MOBILIZED and incident.mobilized_at is None:
        incident.mobilized_at = now
    elif to is IncidentStatus.MITIGATED and incident.mitigated_at is None:
        incident.mitigated_at = now
    incident.status = to.value
    add_event(session, incident.id, kind="status", actor=actor, occurred_at=now, now=now,
              summary=f"Status {before} → {to.value}" + (f": {reason.strip()}" if reason.strip() else ""))
    record_change(session, incident, actor, "status", changes, now)
    touch(session, incident, now)
    if "resolved_at" in changes and incident.resolved_at is not None:
        _resolved(session, incident, actor, now)
    notify_followers(session, incident, "status", status_change(before, to.value), actor, now)
    return incident


def status_change(before: str, after: str) -> str:
    """How a status move reads in a follower's notice: 'status Acknowledged → Team mobilised'."""
    return f"status {STATUS_LABELS[IncidentStatus(before)]} → {STATUS_LABELS[IncidentStatus(after)]}"


def change_severity(
    session: Session, *, incident_id: int, severity: str, reason: str, actor: Actor, now: dt.datetime,
    expected_version: int | None = None,
) -> Incident:
    """Change the severity with a reason; clocks are recomputed from the incident's policy snapshot."""
    reason = check_text(reason, FREE_TEXT, "The reason", IncidentError)
    incident = lock_for(session, incident_id, expected_version, actor)
    policy = policy_of(incident)
    if severity not in [s.id for s in policy.severities]:
        raise IncidentError(f"Unknown severity {severity!r}: choose one of P0, P1, P2, P3.")
    if severity == incident.severity:
        raise IncidentError(f"The incident is already {severity}.")
    if not reason.strip():
        raise IncidentError("Say why the severity changes; the reason is kept in the history.")
    answers = Answers.model_validate(incident.answers)
    floor = next(iter(floors(policy, answers)), None)
    if floor is not None and severity_rank(severity) < severity_rank(floor.severity):
        raise IncidentError(
            f"{severity} is below this incident's floor of {floor.severity}: {floor.reason} It needs "
            f"{floor.level} ({policy.level(floor.level).name}), and under {policy.name} an incident that needs "
            f"{floor.level} is at least {floor.severity}. Choose {floor.severity} or a more severe one.")
    # Every target is recomputed under the new severity; rule targets that still apply are kept,
    # and what the answers themselves imply (a breach needs executives) survives the change.
    plan = retarget(answers, policy, severity)
    targets = {c: t.total_seconds() for c, t in plan.targets.items()}
    before = {"severity": incident.severity, "red_status": incident.red_status,
              "required_level": incident.required_level, "targets": incident.triage_result.get("targets")}
    incident.severity = severity
    incident.red_status = plan.red_status
    incident.escalation_category = plan.escalation_category
    incident.required_level = plan.escalation_level
    incident.triage_result = {**incident.triage_result, "targets": targets,
                              "ladder": [step.to_json() for step in plan.ladder],
                              "severity_changes": [*incident.triage_result.get("severity_changes", []),
                                                   {"from": before["severity"], "to": severity,
                                                    "reason": reason.strip(), "at": now.isoformat(),
                                                    "by": actor.name, "previous_targets": before["targets"]}]}
    add_event(session, incident.id, kind="severity", actor=actor, occurred_at=now, now=now,
              summary=f"Severity {before['severity']} → {severity}: {reason.strip()}")
    record_change(session, incident, actor, "severity",
           {"severity": [before["severity"], severity], "required_level": [before["required_level"],
                                                                            incident.required_level]}, now)
    touch(session, incident, now)
    notify_followers(session, incident, "severity", f"severity {before['severity']} → {severity}", actor, now)
    return incident


def add_note(session: Session, *, incident_id: int, text: str, actor: Actor, now: dt.datetime) -> None:
    """Append a note to the timeline (notes never conflict: they only add)."""
    text = check_text(text, FREE_TEXT, "The note", IncidentError)
    if not text.strip():
        raise IncidentError("Write the note first.")
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentError(f"Incident {incident_id} does not exist.")
    check_may_change(incident, actor)
    add_event(session, incident_id, kind="note", actor=actor, occurred_at=now, now=now, summary=text.strip())


def pause_clocks(session: Session, *, incident_id: int, reason: str, actor: Actor, now: dt.datetime,
                 expected_version: int | None = None) -> None:
    """Stop the clocks the policy lets pause (e.g. waiting on the client)."""
    reason = check_text(reason, FREE_TEXT, "The reason", IncidentError)
    incident = lock_for(session, incident_id, expected_version, actor)
    policy = policy_of(incident)
    if not policy.pausable_clocks:
        raise IncidentError(f"Policy {policy.name} lets no clock pause.")
    if not reason.strip():
        raise IncidentError("Say why the clocks pause (e.g. 'waiting for the client's logs').")
    if any(p.ended_at is None for p in pauses_of(session, incident_id)):
        raise IncidentError("The clocks are already paused.")
    session.add(SlaPause(incident_id=incident_id, started_at=now, reason=reason.strip(), actor_id=actor.id))
    session.flush()
    add_event(session, incident_id, kind="pause", actor=actor, occurred_at=now, now=now,
              summary=f"Clocks paused ({', '.join(policy.pausable_clocks)}): {reason.strip()}")
    record_change(session, incident, actor, "pause", {"reason": [None, reason.strip()]}, now)
    touch(session, incident, now)


def resume_clocks(session: Session, *, incident_id: int, actor: Actor, now: dt.datetime,
                  expected_version: int | None = None) -> None:
    """Restart paused clocks."""
    incident = lock_for(session, incident_id, expected_version, actor)
    running = [p for p in pauses_of(session, incident_id) if p.ended_at is None]
    if not running:
        raise IncidentError("The clocks are not paused.")
    for pause in running:
        pause.ended_at = now
    add_event(session, incident_id, kind="pause", actor=actor, occurred_at=now, now=now, summary="Clocks resumed")
    record_change(session, incident, actor, "resume", {}, now)
    touch(session, incident, now)


def escalation_of(session: Session, incident: Incident, now: dt.datetime) -> EscalationStatus:
    """The escalation status of the incident at `now` (required level, due time, next escalation)."""
    return escalation_from(incident, facts_of(incident, pauses_of(session, incident.id)), policy_of(incident), now)


def escalation_from(incident: Incident, facts: IncidentFacts, policy: Policy, now: dt.datetime,
                    clocks: Sequence[SlaClock] | None = None) -> EscalationStatus:
    """The escalation status from facts already read (and the clocks already computed from them, if any)."""
    return escalation_status(facts=facts, policy=policy, answers=Answers.model_validate(incident.answers),
                             triage_level=incident.triage_result.get("escalation_level"), now=now, clocks=clocks)


def escalate(
    session: Session, *, incident_id: int, to_level: str, reason: str, actor: Actor, now: dt.datetime,
    expected_version: int | None = None, at: dt.datetime | None = None,
) -> str:
    """Record an escalation (who, when, to which level, why) and return its handoff summary.

    `at` records one made earlier (a call at 02:10 logged at 02:40); it must lie
    between detection and now.
    """
    reason = check_text(reason, FREE_TEXT, "The reason", IncidentError)
    incident = lock_for(session, incident_id, expected_version, actor)
    policy = policy_of(incident)
    try:
        level = policy.level(to_level)
    except KeyError as error:
        raise IncidentError(str(error).strip("'\"")) from None
    if incident.current_level and level_rank(to_level) <= level_rank(incident.current_level):
        raise IncidentError(f"The incident is already at {incident.current_level}; escalate to a higher level.")
    if not reason.strip():
        raise IncidentError("Say why you escalate: the next level reads it first.")
    at = at or now
    if at > now:
        raise IncidentError("The escalation time is in the future: enter when you escalated.")
    if at < incident.detected_at:
        raise IncidentError(f"An escalation cannot be before detection ({incident.detected_at:%Y-%m-%d %H:%M} UTC).")
    events = session.scalars(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                             .order_by(TimelineEvent.occurred_at)).all()
    actions = [f"{e.occurred_at:%d %b %H:%M} UTC {e.summary}" for e in events
               if e.kind in ("milestone", "status", "note")]
    answers = incident.answers
    impact = ", ".join(filter(None, [
        f"business {answers['business_impact']}" if answers.get("business_impact") else "",
        f"{answers['users_affected_pct']:g}% of users" if answers.get("users_affected_pct") is not None else "",
        f"workaround {answers['workaround']}" if answers.get("workaround") else "",
    ])) or "not assessed yet"
    summary = handoff_summary(
        level=to_level, policy=policy, incident_title=incident.title, account_name=incident.account.name,
        tier=incident.account.tier, severity=incident.severity, severity_label=policy.severity_label(incident.severity),
        detected_at=incident.detected_at, status=incident.status, actions_taken=actions[-12:],
        evidence=[incident.summary] if incident.summary else [], business_impact=impact,
        revenue_per_hour=answers.get("revenue_impact_per_hour"), elapsed=at - incident.detected_at,
        recommendations=[reason.strip()],
        paged=[(item.due_at, f"{item.level}: {item.name} by {item.channel}, {item.outcome}")
               for item in paged_notifications(session, incident_id, until=now)],
    )
    session.add(Escalation(incident_id=incident_id, from_level=incident.current_level, to_level=to_level,
                           escalated_at=at, actor_id=actor.id, reason=reason.strip(), handoff=summary,
                           contacts=[c.model_dump(mode="json", exclude_none=True) for c in level.contacts]))
    before = incident.current_level
    incident.current_level = to_level
    log_escalation(incident, to_level, at)
    if incident.required_level_reached_at is None and (
        incident.required_level is None or level_rank(to_level) >= level_rank(incident.required_level)
    ):
        incident.required_level_reached_at = at
    add_event(session, incident.id, kind="escalation", actor=actor, occurred_at=at, now=now,
              summary=f"Escalated {before or 'none'} → {to_level} ({level.name}): {reason.strip()}")
    record_change(session, incident, actor, "escalate", {"current_level": [before, to_level]}, now)
    touch(session, incident, now)
    notify_followers(session, incident, "level", f"level {before or 'none'} → {to_level} ({level.name})", actor, now)
    return summary


def record_level_response(
    session: Session, *, incident_id: int, level: str, actor: Actor, now: dt.datetime,
    at: dt.datetime | None = None, reason: str = "", expected_version: int | None = None,
) -> Incident:
    """Record that an escalation level responded (it took the case), which stops that level's response clock.

    Only a level the incident was escalated to can respond, once, at or after
    the escalation and not in the future; a time more than a minute ago needs a
    reason, like every milestone recorded late.
    """
    reason = check_text(reason, FREE_TEXT, "The reason", IncidentError)
    incident = lock_for(session, incident_id, expected_version, actor)
    policy = policy_of(incident)
    escalated = [moment for moved_to, moment in escalations_of(incident) if moved_to == level]
    if not escalated:
        known = ", ".join(sorted({moved_to for moved_to, _ in escalations_of(incident)})) or "none yet"
        raise IncidentError(f"The incident was never escalated to {level}, so {level} cannot respond "
                            f"(escalated to: {known}).")
    if level in responses_of(incident):
        raise IncidentError(f"{level}'s response is already recorded.")
    at = at or now
    if at > now:
        raise IncidentError("A response cannot be in the future.")
    if at < min(escalated):
        raise IncidentError(f"{level} cannot respond before the escalation to it "
                            f"({min(escalated):%Y-%m-%d %H:%M} UTC).")
    if at < now - dt.timedelta(minutes=1) and not reason.strip():
        raise IncidentError("Say why you record this response at an earlier time (e.g. 'the VP called back at 09:40').")
    log_level_response(incident, level, at)
    name = policy.level(level).name if level in {lvl.id for lvl in policy.escalation_levels} else level
    add_event(session, incident.id, kind="milestone", actor=actor, occurred_at=at, now=now,
              summary=f"{level} ({name}) responded" + (f" ({reason.strip()})" if reason.strip() else ""),
              details={"milestone": "level_responded", "level": level})
    record_change(session, incident, actor, f"level_responded:{level}", {f"{level}_responded_at": [None, at]}, now)
    touch(session, incident, now)
    return incident
