"""Client communications: compose from the record, send or mark sent, and the communication log.

A message to the client is filled from the incident record (`compose_source`),
rendered from the newest template version an admin saved in the app, else
the shipped file (`prepare_message`), then either sent through the team's
SMTP server (`send_and_record`) or marked sent by the person who copied it
or made the call (`mark_sent`, `record_communication`). Every logged message keeps its
exact text and the template version it came from; the first client message
stamps the "client notified" milestone and each one restarts the
client-update clock. This module never imports streamlit, never reads the
clock (callers pass `now`), never stores or logs the SMTP password (the
caller passes it in from secrets), and never logs a message as sent that the
SMTP server did not accept or that nobody said they sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.account.access import may_change_incident, works_on_all_accounts
from core.communication import mail
from core.communication.catalog import template_spec
from core.communication.context import build_context
from core.communication.errors import CommunicationError, CommunicationForbidden, DraftIncomplete, SentButNotLogged
from core.communication.fields import MessageContext
from core.communication.promise import PromisedUpdate, promise_next_update
from core.communication.render import RenderedMessage, missing_fields, render
from core.communication.smtp import SmtpSettings, send
from core.communication.store import current_template
from core.incident import service
from core.incident.audience import client_values
from core.incident.flows import lock, refresh_next_deadline
from core.incident.timeline import add_event
from core.people.access import Role
from core.people.users import Actor
from core.sla.clocks import compute_clocks
from core.sla.facts import facts_of, pauses_of, policy_of
from core.sla.response_log import log_client_message
from core.sla.schedule import next_due_if_sent
from core.vocabulary import OPEN_STATUSES
from db.engine import session_scope
from db.models import (
    Account,
    Communication,
    Contact,
    Incident,
    IncidentAssignment,
    User,
)

CHANNELS: dict[str, str] = {"email": "Email", "phone": "Phone call", "status_page": "Status page",
                             "internal": "Internal note"}
# Only these reach the client: they stamp "client notified" and restart the update clock. A status page
# post counts like an email: the client reads it there (and its subscribers by email or webhook).
CLIENT_CHANNELS = frozenset({"email", "phone", "status_page"})
DELIVERIES: dict[str, str] = {"sent": "sent through the app", "marked_sent": "marked sent"}
OPEN = tuple(s.value for s in OPEN_STATUSES)


# --------------------------------------------------------------------------
# Composing: the record -> a prefilled context -> the rendered message.


@dataclass(frozen=True)
class ContactChoice:
    """A client contact the message may go to (client-safe values only: see core.incident.audience)."""

    name: str
    email: str
    phone: str
    is_primary: bool

    @property
    def address(self) -> str:
        """'Name <email>' ('' when the contact has no email)."""
        return f"{self.name} <{self.email}>" if self.email and self.name else self.email


@dataclass(frozen=True)
class ComposeSource:
    """An incident as the composer needs it: ids for permission, the prefilled context, contacts."""

    incident_id: int
    version: int
    title: str
    status: str
    severity: str
    account_name: str
    account_owner_id: int | None
    owner_id: int | None
    client_notified: bool
    next_update_due_at: dt.datetime | None
    promise: PromisedUpdate
    """The next update the message promises, worked out at the `now` the source was built for."""
    context: MessageContext
    contacts: tuple[ContactChoice, ...]
    suggested_template: str
    # A drill incident: the composer warns that the client must not be alarmed by an exercise.
    is_drill: bool = False

    @property
    def default_recipients(self) -> list[str]:
        """The primary contact's address first, then nobody else (the CSM adds people on purpose)."""
        primary = [c.address for c in self.contacts if c.is_primary and c.address]
        return primary or [c.address for c in self.contacts if c.address][:1]


def suggest_template(incident: Incident) -> str:
    """The catalog message that usually fits the incident's state now."""
    answers = incident.answers or {}
    if incident.resolved_at is not None:
        return "resolution_root_cause"
    if incident.client_notified_at is None:
        if answers.get("security_breach"):
            return "security_incident_notification"
        if answers.get("legal_compliance") and answers.get("business_impact") not in ("stopped", "major"):
            return "legal_compliance_acknowledgement"
        return "emergency_acknowledgement" if incident.severity == "P0" else "p1_response"
    return "status_update"


def compose_source(session: Session, incident_id: int, *, signer_id: int | None, now: dt.datetime,
                   status_page_url: str = "") -> ComposeSource | None:
    """The incident with its message context prefilled from the record at `now` (and its status page link, when
    given); None when it does not exist."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    account = incident.account
    contacts = list(session.scalars(select(Contact).where(Contact.account_id == account.id).order_by(Contact.id)))
    people = {a.role: a.user_id for a in session.scalars(
        select(IncidentAssignment).where(IncidentAssignment.incident_id == incident_id))}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_([*people.values(), signer_id or 0])))}
    comms = list(session.scalars(select(Communication).where(Communication.incident_id == incident_id)))
    facts, policy = facts_of(incident, pauses_of(session, incident.id)), policy_of(incident)
    # When the plan wants the next update if this message goes out now: the promise is worked out from it.
    plan_due = next_due_if_sent(facts, policy, now)
    context = build_context(
        incident=incident, account=account, contacts=contacts, csm=users.get(signer_id or 0),
        assignments={role: users[uid] for role, uid in people.items() if uid in users}, communications=comms,
        clocks=compute_clocks(facts, policy, now), now=now, next_update_due=plan_due,
        status_page_url=status_page_url)
    client = client_values(incident, account, contacts)
    return ComposeSource(
        incident_id=incident.id, version=incident.version, title=incident.title, status=incident.status,
        severity=incident.severity, account_name=account.name, account_owner_id=account.owner_id,
        owner_id=incident.owner_id, client_notified=incident.client_notified_at is not None,
        next_update_due_at=incident.next_client_update_due_at, promise=promise_next_update(plan_due, now),
        context=context,
        contacts=tuple(ContactChoice(c["name"], c["email"], c["phone"], c["is_primary"]) for c in client.contacts),
        suggested_template=suggest_template(incident), is_drill=incident.is_drill,
    )


def apply_edits(context: MessageContext, edits: dict[str, Any]) -> MessageContext:
    """The context with what the person typed; CommunicationError naming the field when a value is refused."""
    try:
        return MessageContext.model_validate({**context.model_dump(), **edits})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(p) for p in first["loc"])
        raise CommunicationError(f"The field '{name}' is not accepted: {first['msg']}.") from None


@dataclass(frozen=True)
class PreparedMessage:
    """A rendered message with where it came from and what it still lacks."""

    template_key: str
    template_version: int | None
    channel: str
    audience: str
    subject: str
    text: str
    html: str
    missing: tuple[str, ...]


def prepare_message(session: Session, *, key: str, context: MessageContext) -> PreparedMessage:
    """Render template `key` (newest saved version, else shipped) with `context`; RenderError if it fails."""
    spec = template_spec(key)
    current = current_template(session, key)
    rendered: RenderedMessage = render(spec, context, subject_src=current.sources.subject,
                                                text_src=current.sources.text, html_src=current.sources.html)
    return PreparedMessage(key, current.version, spec.channel, spec.audience, rendered.subject, rendered.text,
                           rendered.html, tuple(missing_fields(spec, context)))


def _require_complete(prepared: PreparedMessage) -> None:
    if prepared.missing:
        names = ", ".join(prepared.missing)
        raise DraftIncomplete(f"Fill in {names} before this message goes out: the template needs "
                              f"{'it' if len(prepared.missing) == 1 else 'them'}. Your draft is kept.",
                              list(prepared.missing))


def build_email_for(prepared: PreparedMessage, *, sender: str, to: Sequence[str], cc: Sequence[str] = (),
                    reply_to: str | None = None, now: dt.datetime) -> EmailMessage:
    """The prepared message as an email (both parts); MailError for a bad address or header."""
    return mail.build_email(sender=sender, recipients=list(to), cc=list(cc), subject=prepared.subject,
                            text=prepared.text, html=prepared.html, reply_to=reply_to or None, date=now)


def eml_file(prepared: PreparedMessage, *, sender: str, to: Sequence[str], cc: Sequence[str] = (),
             reply_to: str | None = None, now: dt.datetime) -> bytes:
    """The prepared message as an RFC 5322 .eml file with its text and HTML parts."""
    return mail.to_eml_bytes(build_email_for(prepared, sender=sender, to=to, cc=cc, reply_to=reply_to, now=now))


# --------------------------------------------------------------------------
# The log: sending, marking sent, reading.


def may_write_to_client(actor: Actor, incident: Incident) -> bool:
    """True when `actor` (with its role) may send or log messages about `incident`: leads and admins on every
    account, anyone else on the accounts they own and on the incidents they own (the rule the compose page shows)."""
    return may_change_incident(actor.role, actor.id, incident.account.owner_id, incident.owner_id)


def _check_may_write(actor: Actor, incident: Incident) -> None:
    if not may_write_to_client(actor, incident):
        raise CommunicationForbidden(
            f"Only the account's CSM, the incident's owner, leads and admins may write to the client about "
            f"incident #{incident.id}; {actor.name} is none of them. Nothing was sent or logged.")


def _check_recipients(channel: str, recipients: Sequence[str]) -> list[str]:
    cleaned = [r.strip() for r in recipients if r and r.strip()]
    if not cleaned:
        raise CommunicationError("Say who received the message: add at least one recipient." if channel != "phone"
                                 else "Say whom you called: add at least one name or number.")
    for value in cleaned:
        mail.check_header_text(value, f"The recipient {value!r}")
        if channel == "email":
            mail.parse_address(value, what="the recipient")
    return cleaned


def record_communication(
    session: Session, *, incident_id: int, expected_version: int | None, template_key: str,
    template_version: int | None, channel: str, recipients: Sequence[str], subject: str, body_text: str,
    body_html: str = "", delivery: str = "marked_sent", actor: Actor, now: dt.datetime,
    sent_at: dt.datetime | None = None, public_status: str | None = None,
) -> Communication:
    """Log one message with its exact text; a client message marks 'client notified' once and restarts the clock."""
    if channel not in CHANNELS:
        raise CommunicationError(f"Unknown channel {channel!r}: use one of {', '.join(CHANNELS)}.")
    if delivery not in DELIVERIES:
        raise CommunicationError(f"Unknown delivery {delivery!r}: use one of {', '.join(DELIVERIES)}.")
    if not body_text.strip():
        raise CommunicationError("The message text is empty: nothing to log.")
    mail.check_header_text(subject, "The subject")
    if len(subject) > mail.MAX_SUBJECT_CHARS:
        raise CommunicationError(f"The subject is {len(subject)} characters long; keep it under "
                                 f"{mail.MAX_SUBJECT_CHARS}.")
    people = _check_recipients(channel, recipients)
    sent_at = sent_at or now
    if sent_at > now:
        raise CommunicationError("A message cannot be logged as sent in the future.")
    incident = lock(session, incident_id, expected_version)
    _check_may_write(actor, incident)
    if sent_at < incident.detected_at:
        raise CommunicationError("The message cannot be sent before the problem was detected.")
    row = Communication(incident_id=incident_id, template_key=template_key, template_version=template_version,
                        channel=channel, recipients=people, subject=subject.strip(), body_text=body_text,
                        body_html=body_html, sent_at=sent_at, sent_by_id=actor.id, delivery=delivery,
                        public_status=public_status)
    session.add(row)
    what = f"{CHANNELS[channel]} to {', '.join(people)}" + (f": {subject.strip()}" if subject.strip() else "")
    changes: dict[str, list[Any]] = {"channel": [None, channel], "delivery": [None, delivery]}
    if channel in CLIENT_CHANNELS:
        if incident.client_notified_at is None:
            incident.client_notified_at = sent_at
            changes["client_notified_at"] = [None, sent_at]
            add_event(session, incident_id, kind="milestone", actor=actor, occurred_at=sent_at, now=now,
                      summary="Client notified", details={"milestone": "client_notified"})
        log_client_message(incident, sent_at)
        before = incident.last_client_update_at
        if before is None or sent_at > before:
            incident.last_client_update_at = sent_at
            changes["last_client_update_at"] = [before, sent_at]
        incident.updated_at = now
    add_event(session, incident_id, kind="communication", actor=actor, occurred_at=sent_at, now=now,
              summary=f"{'Sent' if delivery == 'sent' else 'Logged'} {what}",
              details={"template": template_key, "template_version": template_version})
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident", entity_id=incident_id,
                 action=f"communication:{channel}", changes=changes, at=now)
    if channel in CLIENT_CHANNELS:
        refresh_next_deadline(session, incident, now)
    session.flush()
    return row


@dataclass(frozen=True)
class SendOutcome:
    """What happened when an email was sent: the log entry and who got it."""

    communication_id: int
    accepted: tuple[str, ...]
    first_notice: bool
    incident_version: int


def send_and_record(
    *, incident_id: int, expected_version: int, prepared: PreparedMessage, to: Sequence[str],
    cc: Sequence[str] = (), reply_to: str | None = None, settings: SmtpSettings, password: str | None,
    actor: Actor, now: dt.datetime, engine: Engine | None = None,
) -> SendOutcome:
    """Send the prepared email through SMTP, then log it; a refused or failed send logs nothing.

    Order: the draft is checked (required fields, addresses, headers), the
    actor's permission and the incident version before anything leaves; only after the server
    accepted the message is it logged, in its own unit of work.
    """
    _require_complete(prepared)
    if prepared.channel != "email":
        raise CommunicationError("Only email templates can be sent through the email server; copy this one and "
                                 "mark it sent instead.")
    message = build_email_for(prepared, sender=settings.from_address, to=to, cc=cc, reply_to=reply_to, now=now)
    with session_scope(engine) as session:
        incident = lock(session, incident_id, expected_version)
        _check_may_write(actor, incident)  # before anything leaves
        first = incident.client_notified_at is None
    receipt = send(message, settings, password)
    try:
        with session_scope(engine) as session:
            # The email is out: log it even if someone changed the incident meanwhile.
            row = record_communication(
                session, incident_id=incident_id, expected_version=None, template_key=prepared.template_key,
                template_version=prepared.template_version, channel="email",
                recipients=[*to, *cc],
                subject=prepared.subject, body_text=prepared.text, body_html=prepared.html, delivery="sent",
                actor=actor, now=now)
            comm_id, version = row.id, session.get_one(Incident, incident_id).version
    except Exception as exc:
        raise SentButNotLogged(
            f"The email WAS sent to {', '.join(receipt.accepted)}, but logging it failed ({exc}). "
            "Use 'Mark as sent' so the incident shows it, and do not send it again.") from exc
    return SendOutcome(comm_id, receipt.accepted, first, version)


@dataclass(frozen=True)
class LoggedMessage:
    """A message marked sent: its log entry, whether it was the first notice, the incident's new version."""

    communication_id: int
    first_notice: bool
    incident_version: int


def mark_sent(
    session: Session, *, incident_id: int, expected_version: int | None, prepared: PreparedMessage, channel: str,
    recipients: Sequence[str], actor: Actor, now: dt.datetime,
) -> LoggedMessage:
    """Log a message the person sent themselves (copied into their mail client, or read out on a call)."""
    _require_complete(prepared)
    before = session.get(Incident, incident_id)
    was_unnotified = before is not None and before.client_notified_at is None
    row = record_communication(
        session, incident_id=incident_id, expected_version=expected_version, template_key=prepared.template_key,
        template_version=prepared.template_version, channel=channel, recipients=recipients,
        subject=prepared.subject, body_text=prepared.text, body_html=prepared.html if channel == "email" else "",
        delivery="marked_sent", actor=actor, now=now)
    incident = session.get_one(Incident, incident_id)
    return LoggedMessage(row.id, was_unnotified and channel in CLIENT_CHANNELS, incident.version)


@dataclass(frozen=True)
class LogEntry:
    """One logged message as the incident page shows it."""

    id: int
    sent_at: dt.datetime
    sent_by: str
    channel: str
    delivery: str
    recipients: tuple[str, ...]
    subject: str
    body_text: str
    body_html: str
    template_key: str
    template_version: int | None


def communication_log(session: Session, incident_id: int) -> list[LogEntry]:
    """Every message logged on the incident, newest first, with its exact text."""
    stmt = (select(Communication, User.display_name).outerjoin(User, User.id == Communication.sent_by_id)
            .where(Communication.incident_id == incident_id)
            .order_by(Communication.sent_at.desc(), Communication.id.desc()))
    return [LogEntry(c.id, c.sent_at, name or "system", c.channel, c.delivery, tuple(c.recipients), c.subject,
                     c.body_text, c.body_html, c.template_key, c.template_version)
            for c, name in session.execute(stmt)]


# --------------------------------------------------------------------------
# Cadence: when each client update is due, and which ones are due soon.


def composable_incidents(session: Session, *, user_id: int, role: Role, limit: int = 200) -> list[tuple[int, str]]:
    """Incidents the user may write to the client about, open ones first (soonest update due), as (id, label)."""
    # Two bounded reads instead of one sort of every incident: the open ones (few, from the status index,
    # or the user's own through service.open_ids_of), then the newest closed ones down the detection-time index.
    columns = select(Incident.id, Incident.title, Incident.severity, Incident.status, Account.name).join(
        Account, Account.id == Incident.account_id)
    everyone = works_on_all_accounts(role)
    open_ones = (columns.where(Incident.status.in_(OPEN) if everyone else Incident.id.in_(service.open_ids_of(user_id)))
                 .order_by(Incident.next_client_update_due_at.is_(None), Incident.next_client_update_due_at,
                           Incident.detected_at.desc(), Incident.id.desc())
                 .limit(limit))
    rows = list(session.execute(open_ones))
    if len(rows) < limit:
        closed = columns.where(Incident.status.not_in(OPEN))
        if not everyone:
            closed = closed.where(or_(Incident.owner_id == user_id, Incident.account_id.in_(
                select(Account.id).where(Account.owner_id == user_id))))
        rows += session.execute(closed.order_by(Incident.detected_at.desc(), Incident.id.desc())
                                .limit(limit - len(rows)))
    return [(i, f"#{i} · {severity} · {account} · {title} ({status})")
            for i, title, severity, status, account in rows]
