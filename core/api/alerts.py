"""Alert intake (`POST /api/v1/alerts`): a monitoring alert opens, joins, acknowledges or resolves an incident.

PagerDuty's Events semantics, per account: `trigger` opens an incident, unless an open incident of
the account already carries the alert's `dedup_key`, which the alert then joins (a timeline entry;
a more severe alert raises the incident's severity, a less severe one never lowers it).
`acknowledge` and `resolve` record that milestone on the open incident with the key; after a
resolve, the same key opens a new incident.

No duplicates, even for simultaneous requests on several processes: an incident opened from an
alert gets the idempotency key of `open_incident` (the one the triage form uses) derived from the
account, the dedup key and how many of that key's incidents are resolved or closed (its generation).
Two identical triggers racing compute the same key, and the unique index lets one incident through;
the other finds it. After a resolve, the next trigger counts one more, so a new key.

Severity hints map to triage answers (`SEVERITY_HINTS`, or the source's own mapping); answers sent
with the alert win over the hint's. A trigger triages under the source's policy, else the team's
default. An alert with neither opens a *needs triage* incident: the answers are empty, and when the
policy's default for them is below P1 the incident is raised to P1 (`NEEDS_TRIAGE_SEVERITY`) with
that reason, so its acknowledge clock is the policy's P1 one until someone triages it.

With `outage_id`, a trigger attaches the incident it opens or joins to that open platform outage in the
same unit of work (`core.outage.linking`; a missing or resolved outage refuses the whole alert). Without
it, when the answers say other customers are affected, the outcome offers the open outages instead.

The token's user is the actor: they must be allowed to work on the account (a CSM on the accounts
they own; leads and admins on all), the same rule as the Triage page's account list. Never reads
the clock (callers pass `now`), never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.account.access import may_work_on
from core.account.routing import account_by_routing_key
from core.incident import flows
from core.incident.lifecycle import IllegalMove, Milestone
from core.incident.timeline import add_event
from core.outage import linking
from core.people.users import Actor
from core.policy import store as policy_store
from core.policy.loading import PolicyError
from core.policy.rules import severity_rank
from core.sla.facts import policy_of
from core.triage.rules import Answers, triage
from core.vocabulary import OPEN_STATUSES
from db.models import Account, Incident
from db.rows import get_for_update

SeverityHint = Literal["critical", "error", "warning", "info"]
EventAction = Literal["trigger", "acknowledge", "resolve"]

# The default mapping of a monitoring severity to triage answers (a source's own mapping, when sources
# exist, replaces it): how badly the customer's business is hit.
SEVERITY_HINTS: dict[str, dict[str, Any]] = {
    "critical": {"business_impact": "stopped"},
    "error": {"business_impact": "major"},
    "warning": {"business_impact": "minor"},
    "info": {"business_impact": "none"},
}
NEEDS_TRIAGE_SEVERITY = "P1"
DEDUP_KEY_MAX = 255


class AlertError(ValueError):
    """An alert that cannot be taken; `field` names the request field at fault, `status` the HTTP meaning."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class AlertEvent:
    """One alert as the API received it (already shape-checked by the request model)."""

    event_action: str
    dedup_key: str
    account_id: int | None = None
    routing_key: str | None = None
    title: str = ""
    summary: str = ""
    source: str = ""
    severity: str | None = None
    answers: Answers | None = None
    # A source's own settings (core.api.sources): its policy, and its severity-to-answers mapping.
    policy_name: str | None = None
    hints: Mapping[str, Mapping[str, Any]] | None = None
    # A trigger's platform outage to attach the incident to (core.outage.linking).
    outage_id: int | None = None


@dataclass(frozen=True)
class AlertOutcome:
    """The incident the alert acted on and what happened: created, deduplicated, acknowledged or resolved."""

    incident_id: int
    status: str
    severity: str
    needs_triage: bool = False
    outage_id: int | None = None
    # Offered when the answers say other customers are affected and the incident is part of no outage yet;
    # None when nothing is offered (an empty tuple: offered, but no outage is open).
    open_outages: tuple[linking.OutageChoice, ...] | None = None


def generation_key(account_id: int, dedup_key: str, generation: int) -> str:
    """The idempotency key of the `generation`-th incident opened by this dedup key on this account."""
    text = f"{account_id}\n{dedup_key}\n{generation}".encode()
    return "alert:" + hashlib.sha256(text).hexdigest()[:58]


def alert_answers(event: AlertEvent) -> Answers:
    """The triage answers of an alert: its severity hint's, overlaid by the answers it sent."""
    hinted = dict((event.hints or SEVERITY_HINTS).get(event.severity or "", {}))
    given = event.answers.model_dump(exclude_unset=True) if event.answers is not None else {}
    return Answers.model_validate({**hinted, **given})


def _needs_triage(event: AlertEvent) -> bool:
    return event.severity is None and (event.answers is None or not event.answers.model_fields_set)


def account_of(session: Session, event: AlertEvent, actor: Actor) -> Account:
    """The alert's account (by id or routing key), once the actor may work on it."""
    if (event.account_id is None) == (event.routing_key is None):
        raise AlertError("Name the account with exactly one of account_id (its number) or routing_key "
                         "(the key an admin set for it).", field="account_id")
    if event.account_id is not None:
        account = session.get(Account, event.account_id)
        field = "account_id"
    else:
        account = account_by_routing_key(session, event.routing_key or "")
        field = "routing_key"
    if account is None or account.archived_at is not None:
        raise AlertError(f"No active account has this {field.replace('_', ' ')}: check the value, or ask an admin "
                         "for the account's routing key.", field=field, status=404)
    if not may_work_on(actor.role, actor.id or 0, account.owner_id):
        raise AlertError(f"{actor.name} may not open incidents on account '{account.name}': a CSM works on the "
                         "accounts they own; use a token of the account's CSM, a lead or an admin.", status=403)
    return account


def open_with_key(session: Session, account_id: int, dedup_key: str) -> Incident | None:
    """The account's open incident carrying this dedup key (the newest, should there be several)."""
    stmt = (select(Incident).where(Incident.account_id == account_id, Incident.alert_dedup_key == dedup_key,
                                   Incident.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(Incident.id.desc()).limit(1))
    return session.scalar(stmt)


def take(session: Session, event: AlertEvent, *, actor: Actor, now: dt.datetime) -> AlertOutcome:
    """Act on one alert inside the caller's unit of work (see the module's description)."""
    dedup_key = event.dedup_key.strip()
    if not dedup_key or len(dedup_key) > DEDUP_KEY_MAX:
        raise AlertError(f"dedup_key is 1 to {DEDUP_KEY_MAX} characters: the alert's own identifier, the same for "
                         "every event of one problem (e.g. 'db-primary-disk-full').", field="dedup_key")
    account = account_of(session, event, actor)
    if event.event_action == "trigger":
        return _in_outage(session, _trigger(session, event, account, dedup_key, actor, now), event, actor, now)
    if event.outage_id is not None:
        raise AlertError("outage_id goes with a trigger only: acknowledge and resolve act on the incident as it is.",
                         field="outage_id")
    incident = open_with_key(session, account.id, dedup_key)
    if incident is None:
        raise AlertError(f"No open incident of account '{account.name}' has dedup_key {dedup_key!r}: send a "
                         "trigger first (a resolved incident takes no more acknowledge or resolve).",
                         field="dedup_key", status=404)
    milestone = Milestone.ACKNOWLEDGED if event.event_action == "acknowledge" else Milestone.RESOLVED
    done = "acknowledged" if milestone is Milestone.ACKNOWLEDGED else "resolved"
    _note_alert(session, incident, event, actor, now)
    if milestone is Milestone.ACKNOWLEDGED and incident.acknowledged_at is not None:
        return AlertOutcome(incident.id, done, incident.severity, outage_id=incident.outage_id)
    try:
        flows.record_milestone(session, incident_id=incident.id, milestone=milestone, actor=actor, now=now,
                               reason=f"alert from {event.source or 'monitoring'}")
    except IllegalMove as error:
        raise AlertError(str(error), field="event_action", status=409) from None
    return AlertOutcome(incident.id, done, incident.severity, outage_id=incident.outage_id)


def _trigger(session: Session, event: AlertEvent, account: Account, dedup_key: str, actor: Actor,
             now: dt.datetime) -> AlertOutcome:
    answers = alert_answers(event)
    existing = open_with_key(session, account.id, dedup_key)
    if existing is not None:
        return _join(session, existing, event, answers, actor, now)
    if not event.title.strip():
        raise AlertError("A trigger needs a title: one line saying what is wrong (e.g. 'Checkout API returns "
                         "500s').", field="title")
    # The generation counts the key's incidents that are no longer open, not all of them: under READ COMMITTED
    # a twin's incident committed between the lookup above and this count would otherwise make a new key.
    generation = session.scalar(select(func.count()).select_from(Incident).where(
        Incident.account_id == account.id, Incident.alert_dedup_key == dedup_key,
        Incident.status.not_in([s.value for s in OPEN_STATUSES]))) or 0
    policy_name = event.policy_name or policy_store.default_name(session)
    try:
        opened = flows.open_incident(
            session, account_id=account.id, title=event.title, summary=event.summary, answers=answers,
            policy_name=policy_name, actor=actor, now=now,
            idempotency_key=generation_key(account.id, dedup_key, generation))
    except PolicyError as error:
        raise AlertError(f"Policy {policy_name!r} cannot be used: {error}", status=409) from None
    incident = session.get(Incident, opened.id)
    assert incident is not None  # just opened or found by its key
    if not opened.created:
        # A twin request opened it a moment ago: this alert joins it.
        return _join(session, incident, event, answers, actor, now)
    incident.alert_dedup_key = dedup_key
    add_event(session, incident.id, kind="alert", actor=actor, occurred_at=now, now=now,
              summary=f"Opened from an alert of {event.source or 'monitoring'} (dedup key {dedup_key})",
              details=_details(event, dedup_key))
    needs_triage = _needs_triage(event)
    policy = policy_of(incident)
    if needs_triage and NEEDS_TRIAGE_SEVERITY in {s.id for s in policy.severities} \
            and severity_rank(incident.severity) < severity_rank(NEEDS_TRIAGE_SEVERITY):
        flows.change_severity(session, incident_id=incident.id, severity=NEEDS_TRIAGE_SEVERITY, actor=actor, now=now,
                              reason="needs triage: opened from an alert without answers or severity hint, held at "
                                     f"{NEEDS_TRIAGE_SEVERITY} until someone triages it")
    return AlertOutcome(incident.id, "created", incident.severity, needs_triage=needs_triage)


def _in_outage(session: Session, outcome: AlertOutcome, event: AlertEvent, actor: Actor,
               now: dt.datetime) -> AlertOutcome:
    """Attach the triggered incident to the alert's outage, or offer the open ones when the answers call for it."""
    incident = session.get(Incident, outcome.incident_id)
    assert incident is not None  # the trigger just opened or joined it
    if event.outage_id is not None and incident.outage_id != event.outage_id:
        try:
            linking.attach(session, incident_id=incident.id, outage_id=event.outage_id, actor=actor, now=now)
        except linking.OutageError as error:
            raise AlertError(str(error), field="outage_id") from None
    offer = None
    if incident.outage_id is None and linking.offer_for(alert_answers(event)):
        offer = tuple(linking.open_outages(session))
    return replace(outcome, outage_id=incident.outage_id, open_outages=offer)


def _join(session: Session, incident: Incident, event: AlertEvent, answers: Answers, actor: Actor,
          now: dt.datetime) -> AlertOutcome:
    """Add the alert to the incident's timeline; raise the severity when the alert says worse, never lower it."""
    locked = get_for_update(session, Incident, incident.id)
    assert locked is not None
    flows.check_may_change(locked, actor)
    _note_alert(session, locked, event, actor, now)
    if event.severity is not None or event.answers is not None:
        said = triage(answers, policy_of(locked), locked.detected_at).severity
        if severity_rank(said) > severity_rank(locked.severity):
            flows.change_severity(session, incident_id=locked.id, severity=said, actor=actor, now=now,
                                  reason=f"a repeated alert from {event.source or 'monitoring'} says "
                                         f"{event.severity or 'worse'}: {event.title.strip() or 'no title'}")
    return AlertOutcome(locked.id, "deduplicated", locked.severity)


def _note_alert(session: Session, incident: Incident, event: AlertEvent, actor: Actor, now: dt.datetime) -> None:
    verb = {"trigger": "Alert repeated", "acknowledge": "Alert acknowledged", "resolve": "Alert resolved"}
    title = event.title.strip()
    add_event(session, incident.id, kind="alert", actor=actor, occurred_at=now, now=now,
              summary=f"{verb[event.event_action]} by {event.source or 'monitoring'}" + (f": {title}" if title else ""),
              details=_details(event, incident.alert_dedup_key or event.dedup_key))


def _details(event: AlertEvent, dedup_key: str) -> dict[str, Any]:
    return {"event_action": event.event_action, "dedup_key": dedup_key, "source": event.source,
            "severity": event.severity, "title": event.title.strip()[:200], "summary": event.summary.strip()[:2000]}
