"""Client communications: compose from the record, send or mark sent, the log, edited templates, SMTP, cadence.

A message to the client is filled from the incident record (`compose_source`),
rendered from the newest template version an admin saved in the app, else
the shipped file (`prepare_message`), then either sent through the team's
SMTP server (`send_and_record`) or marked sent by the person who copied it
or made the call (`record_communication`). Every logged message keeps its
exact text and the template version it came from; the first client message
stamps the "client notified" milestone and each one restarts the
client-update clock. This module never imports streamlit, never reads the
clock (callers pass `now`), never stores or logs the SMTP password (the
caller passes it in from secrets), and never logs a message as sent that the
SMTP server did not accept or that nobody said they sent.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import meta
from pydantic import ValidationError
from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.account.access import works_on_all_accounts
from core.communication import mail
from core.communication.catalog import TemplateProblem, TemplateSources, check_template, shipped_sources, template_spec
from core.communication.context import build_context
from core.communication.fields import CONTEXT_FIELDS, MessageContext
from core.communication.render import RenderedMessage, missing_fields, render
from core.incident.flows import add_event, clocks_of, lock, refresh_next_deadline
from core.people.access import Role
from core.people.users import Actor
from core.vocabulary import OPEN_STATUSES
from db.engine import session_scope
from db.models import (
    Account,
    Communication,
    Contact,
    Incident,
    IncidentAssignment,
    MessageTemplateVersion,
    Setting,
    User,
)
from db.rows import get_for_update

SMTP_SETTING = "smtp"
CHANNELS: dict[str, str] = {"email": "Email", "phone": "Phone call", "internal": "Internal note"}
# Only these reach the client: they stamp "client notified" and restart the update clock.
CLIENT_CHANNELS = frozenset({"email", "phone"})
DELIVERIES: dict[str, str] = {"sent": "sent through the app", "marked_sent": "marked sent"}
OPEN = tuple(s.value for s in OPEN_STATUSES)
# Home lists the client updates falling due within this window (and every overdue one).
DUE_SOON = dt.timedelta(hours=1)


class CommunicationError(ValueError):
    """A message that cannot be logged, prepared or saved; the text says what to fix."""


class DraftIncomplete(CommunicationError):
    """Fields the template needs are still empty; `missing` names them."""

    def __init__(self, message: str, missing: list[str]):
        super().__init__(message)
        self.missing = missing


class TemplateRejected(CommunicationError):
    """An edited template failed its checks; `problems` has each one with its part and line."""

    def __init__(self, problems: list[TemplateProblem]):
        lines = [f"{p.part} part{f', line {p.line}' if p.line else ''}: {p.message}" for p in problems]
        super().__init__("The template was not saved:\n" + "\n".join(f"- {line}" for line in lines))
        self.problems = problems


class TemplateConflict(CommunicationError):
    """Someone saved the template while this person was editing it."""


class SettingsError(CommunicationError):
    """The SMTP settings are invalid or changed meanwhile."""


class SentButNotLogged(CommunicationError):
    """The server accepted the email but the log entry could not be written."""


# --------------------------------------------------------------------------
# Templates: the newest version saved in the app, else the shipped file.


@dataclass(frozen=True)
class TemplateText:
    """The text a template renders from now: `version` None means the shipped file."""

    key: str
    version: int | None
    sources: TemplateSources


@dataclass(frozen=True)
class TemplateVersionRow:
    """One saved version, as the history shows it."""

    version: int
    saved_at: dt.datetime
    saved_by: str
    subject: str
    text: str
    html: str


def _latest_row(session: Session, key: str) -> MessageTemplateVersion | None:
    stmt = (select(MessageTemplateVersion).where(MessageTemplateVersion.key == key)
            .order_by(MessageTemplateVersion.version.desc()).limit(1))
    return session.scalar(stmt)


def current_template(session: Session, key: str) -> TemplateText:
    """The newest saved version of template `key`, or the shipped file when none was saved."""
    template_spec(key)  # UnknownTemplate for a key outside the catalog
    row = _latest_row(session, key)
    if row is None:
        return TemplateText(key, None, shipped_sources(key))
    return TemplateText(key, row.version, TemplateSources(row.subject, row.body_text, row.body_html))


def template_history(session: Session, key: str) -> list[TemplateVersionRow]:
    """Every saved version of `key`, newest first (the shipped file is not in it)."""
    stmt = (select(MessageTemplateVersion, User.display_name)
            .outerjoin(User, User.id == MessageTemplateVersion.created_by_id)
            .where(MessageTemplateVersion.key == key).order_by(MessageTemplateVersion.version.desc()))
    return [TemplateVersionRow(row.version, row.created_at, name or "system", row.subject, row.body_text,
                               row.body_html) for row, name in session.execute(stmt)]


def save_template(
    session: Session, *, key: str, subject: str, text: str, html: str, expected_version: int | None,
    actor: Actor, now: dt.datetime,
) -> MessageTemplateVersion:
    """Check an edited template and store it as the next version; messages already sent keep their text.

    `expected_version` is the version the editor was showing (None: the
    shipped file). TemplateRejected lists every problem with its line;
    TemplateConflict when someone saved meanwhile.
    """
    spec = template_spec(key)
    subject = " ".join(subject.split()) if spec.channel != "phone" else ""
    html = html if spec.channel == "email" else ""
    problems = check_template(subject or None, text, html or None,
                                       audience=spec.audience, channel=spec.channel)
    if problems:
        raise TemplateRejected(problems)
    current = current_template(session, key)
    if current.version != expected_version:
        latest = _latest_row(session, key)
        who = session.get(User, latest.created_by_id).display_name if latest and latest.created_by_id else "someone"
        raise TemplateConflict(
            f"{who} saved '{spec.title}' as version {current.version} while you were editing "
            f"version {expected_version or 'shipped'}. Your draft is still in the editor and nothing was saved: "
            "compare it with the new version in the history, then save again.")
    if (current.sources.subject, current.sources.text, current.sources.html) == (subject, text, html):
        raise CommunicationError("Nothing changed: edit the template before saving a new version.")
    number = (current.version or 0) + 1
    row = MessageTemplateVersion(key=key, version=number, title=spec.title, channel=spec.channel, subject=subject,
                                 body_text=text, body_html=html, is_shipped=False, created_by_id=actor.id,
                                 created_at=now)
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise TemplateConflict(f"Someone saved '{spec.title}' version {number} at the same moment. Your draft is "
                               "still in the editor: reload the history and save again.") from None
    before = current.sources
    diff = "".join(
        "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     fromfile=f"{part} v{current.version or 'shipped'}", tofile=f"{part} v{number}"))
        for part, old, new in (("subject", before.subject + "\n", subject + "\n"), ("text", before.text, text),
                               ("html", before.html, html)))
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="message_template", entity_id=key,
                 action="save_version", changes={"version": [current.version, number], "diff": diff}, at=now)
    return row


def template_fields(sources: TemplateSources) -> list[str]:
    """The message fields a template uses, in MessageContext order (what the composer lets people edit)."""
    parser = jinja2.Environment(autoescape=False)
    used: set[str] = set()
    for source in (sources.subject, sources.text, sources.html):
        if source:
            try:
                used |= meta.find_undeclared_variables(parser.parse(source))
            except jinja2.TemplateSyntaxError:
                return list(CONTEXT_FIELDS)
    return [name for name in MessageContext.model_fields if name in used]


def field_kind(name: str) -> str:
    """How a field is edited: 'line', 'text' (several lines), 'lines' (a list), 'number' or 'flag'."""
    info = MessageContext.model_fields[name]
    if info.annotation is bool:
        return "flag"
    if info.annotation is int:
        return "number"
    if getattr(info.annotation, "__origin__", None) is list:
        return "lines"
    limit = next((m.max_length for m in info.metadata if getattr(m, "max_length", None)), 0)
    return "text" if limit > 2_000 else "line"


# --------------------------------------------------------------------------
# Composing: the record -> a prefilled context -> the rendered message.


@dataclass(frozen=True)
class ContactChoice:
    """A client contact the message may go to."""

    name: str
    email: str
    phone: str
    role: str
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
    context: MessageContext
    contacts: tuple[ContactChoice, ...]
    suggested_template: str

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
                   ) -> ComposeSource | None:
    """The incident with its message context prefilled from the record at `now`; None when it does not exist."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    account = incident.account
    contacts = list(session.scalars(select(Contact).where(Contact.account_id == account.id).order_by(Contact.id)))
    people = {a.role: a.user_id for a in session.scalars(
        select(IncidentAssignment).where(IncidentAssignment.incident_id == incident_id))}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_([*people.values(), signer_id or 0])))}
    comms = list(session.scalars(select(Communication).where(Communication.incident_id == incident_id)))
    context = build_context(
        incident=incident, account=account, contacts=contacts, csm=users.get(signer_id or 0),
        assignments={role: users[uid] for role, uid in people.items() if uid in users}, communications=comms,
        clocks=clocks_of(session, incident, now), now=now)
    return ComposeSource(
        incident_id=incident.id, version=incident.version, title=incident.title, status=incident.status,
        severity=incident.severity, account_name=account.name, account_owner_id=account.owner_id,
        owner_id=incident.owner_id, client_notified=incident.client_notified_at is not None,
        next_update_due_at=incident.next_client_update_due_at, context=context,
        contacts=tuple(ContactChoice(c.name, c.email, c.phone, c.role, c.is_primary) for c in contacts),
        suggested_template=suggest_template(incident),
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
                    reply_to: str | None = None, now: dt.datetime):
    """The prepared message as an email (both parts); MailError for a bad address or header."""
    return mail.build_email(sender=sender, recipients=list(to), cc=list(cc), subject=prepared.subject,
                            text=prepared.text, html=prepared.html, reply_to=reply_to or None, date=now)


def eml_file(prepared: PreparedMessage, *, sender: str, to: Sequence[str], cc: Sequence[str] = (),
             reply_to: str | None = None, now: dt.datetime) -> bytes:
    """The prepared message as an RFC 5322 .eml file with its text and HTML parts."""
    return mail.to_eml_bytes(build_email_for(prepared, sender=sender, to=to, cc=cc, reply_to=reply_to, now=now))


# --------------------------------------------------------------------------
# The log: sending, marking sent, reading.


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
    sent_at: dt.datetime | None = None,
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
    if sent_at < incident.detected_at:
        raise CommunicationError("The message cannot be sent before the problem was detected.")
    row = Communication(incident_id=incident_id, template_key=template_key, template_version=template_version,
                        channel=channel, recipients=people, subject=subject.strip(), body_text=body_text,
                        body_html=body_html, sent_at=sent_at, sent_by_id=actor.id, delivery=delivery)
    session.add(row)
    what = f"{CHANNELS[channel]} to {', '.join(people)}" + (f": {subject.strip()}" if subject.strip() else "")
    changes: dict[str, list[Any]] = {"channel": [None, channel], "delivery": [None, delivery]}
    if channel in CLIENT_CHANNELS:
        if incident.client_notified_at is None:
            incident.client_notified_at = sent_at
            changes["client_notified_at"] = [None, sent_at]
            add_event(session, incident_id, kind="milestone", actor=actor, occurred_at=sent_at, now=now,
                      summary="Client notified", details={"milestone": "client_notified"})
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
    cc: Sequence[str] = (), reply_to: str | None = None, settings: mail.SmtpSettings, password: str | None,
    actor: Actor, now: dt.datetime, engine: Engine | None = None,
) -> SendOutcome:
    """Send the prepared email through SMTP, then log it; a refused or failed send logs nothing.

    Order: the draft is checked (required fields, addresses, headers) and the
    incident version compared before anything leaves; only after the server
    accepted the message is it logged, in its own unit of work.
    """
    _require_complete(prepared)
    if prepared.channel != "email":
        raise CommunicationError("Only email templates can be sent through the email server; copy this one and "
                                 "mark it sent instead.")
    message = build_email_for(prepared, sender=settings.from_address, to=to, cc=cc, reply_to=reply_to, now=now)
    with session_scope(engine) as session:
        incident = lock(session, incident_id, expected_version)
        first = incident.client_notified_at is None
    receipt = mail.send(message, settings, password)
    try:
        with session_scope(engine) as session:
            # The email is out: log it even if someone changed the incident meanwhile.
            row = record_communication(
                session, incident_id=incident_id, expected_version=None, template_key=prepared.template_key,
                template_version=prepared.template_version, channel="email",
                recipients=[*to, *cc],
                subject=prepared.subject, body_text=prepared.text, body_html=prepared.html, delivery="sent",
                actor=actor, now=now)
            comm_id, version = row.id, session.get(Incident, incident_id).version
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
    incident = session.get(Incident, incident_id)
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
# SMTP settings (the password is never here: it comes from secrets or the environment).


def smtp_settings(session: Session) -> tuple[mail.SmtpSettings | None, int]:
    """The saved SMTP settings (None when not configured) and their revision number (0: never saved)."""
    row = session.get(Setting, SMTP_SETTING)
    if row is None or not isinstance(row.value, dict):
        return None, 0
    values = {k: v for k, v in row.value.items() if k in mail.SmtpSettings.model_fields}
    try:
        return mail.SmtpSettings.model_validate(values), int(row.value.get("revision", 1))
    except ValidationError:
        return None, int(row.value.get("revision", 1))


_SETTING_LABELS = {"host": "Host", "port": "Port", "starttls": "STARTTLS", "username": "Username",
                   "from_address": "From address"}


def save_smtp_settings(
    session: Session, *, host: str, port: int, starttls: bool, username: str, from_address: str,
    expected_revision: int, actor: Actor, now: dt.datetime,
) -> mail.SmtpSettings:
    """Validate and store the SMTP settings; refused when someone saved them since `expected_revision`."""
    try:
        settings = mail.SmtpSettings(host=host, port=port, starttls=starttls, username=username.strip(),
                                     from_address=from_address.strip())
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            problems.append(f"{_SETTING_LABELS.get(field, field)}: {error['msg'].removeprefix('Value error, ')}")
        raise SettingsError("The email settings were not saved. " + "; ".join(problems) + ".") from None
    row = get_for_update(session, Setting, SMTP_SETTING)
    revision = int(row.value.get("revision", 1)) if row is not None and isinstance(row.value, dict) else 0
    if revision != expected_revision:
        raise SettingsError("Someone saved the email settings while you were editing them; nothing of yours was "
                            "saved. Reload the page to see theirs, then change them again.")
    before = dict(row.value) if row is not None else {}
    value = {**settings.model_dump(exclude={"timeout"}), "revision": revision + 1}
    if row is None:
        session.add(Setting(key=SMTP_SETTING, value=value, updated_at=now, updated_by_id=actor.id))
    else:
        row.value, row.updated_at, row.updated_by_id = value, now, actor.id
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="setting", entity_id=SMTP_SETTING,
                 action="save", changes=audit.field_changes(before, value), at=now)
    return settings


# --------------------------------------------------------------------------
# Cadence: when each client update is due, and which ones are due soon.


@dataclass(frozen=True)
class UpdateDue:
    """An open incident whose client update falls due soon (or already has)."""

    incident_id: int
    title: str
    account: str
    severity: str
    owner: str
    due_at: dt.datetime
    first_notice: bool

    def overdue(self, now: dt.datetime) -> bool:
        """True once the update should already have gone out."""
        return self.due_at < now


def updates_due(session: Session, *, user_id: int | None, now: dt.datetime, within: dt.timedelta,
                limit: int = 100) -> list[UpdateDue]:
    """Open incidents whose next client update is due before `now + within` (overdue ones first).

    With `user_id`, only incidents the user owns or whose account they own.
    """
    stmt = (select(Incident.id, Incident.title, Account.name, Incident.severity, User.display_name,
                   Incident.next_client_update_due_at, Incident.client_notified_at)
            .join(Account, Account.id == Incident.account_id).outerjoin(User, User.id == Incident.owner_id)
            .where(Incident.status.in_(OPEN), Incident.next_client_update_due_at <= now + within)
            .order_by(Incident.next_client_update_due_at, Incident.id).limit(limit))
    if user_id is not None:
        stmt = stmt.where(or_(Incident.owner_id == user_id, Account.owner_id == user_id))
    return [UpdateDue(i, title, account, severity, owner or "unassigned", due, notified is None)
            for i, title, account, severity, owner, due, notified in session.execute(stmt)]


def client_update_due(session: Session, incident_ids: Sequence[int]) -> dict[int, dt.datetime | None]:
    """The stored next-client-update time of each incident (for flagging list rows)."""
    if not incident_ids:
        return {}
    stmt = select(Incident.id, Incident.next_client_update_due_at).where(Incident.id.in_(list(incident_ids)))
    return dict(session.execute(stmt).all())


def backfill_client_update_due(session: Session, *, now: dt.datetime) -> int:
    """Fill the client-update due time of open incidents stored before the column existed; returns how many got one."""
    from core.incident.flows import client_update_due as due_of

    filled = 0
    stmt = select(Incident).where(Incident.status.in_(OPEN), Incident.next_client_update_due_at.is_(None))
    for incident in session.scalars(stmt).all():
        due = due_of(clocks_of(session, incident, now))
        if due is not None:
            incident.next_client_update_due_at = due
            filled += 1
    return filled


def composable_incidents(session: Session, *, user_id: int, role: Role, limit: int = 200) -> list[tuple[int, str]]:
    """Incidents the user may write to the client about, open ones first (soonest update due), as (id, label)."""
    stmt = (select(Incident.id, Incident.title, Incident.severity, Incident.status, Account.name)
            .join(Account, Account.id == Incident.account_id)
            .order_by(Incident.status.in_(OPEN).desc(), Incident.next_client_update_due_at.is_(None),
                      Incident.next_client_update_due_at, Incident.detected_at.desc())
            .limit(limit))
    if not works_on_all_accounts(role):
        stmt = stmt.where(or_(Account.owner_id == user_id, Incident.owner_id == user_id))
    return [(i, f"#{i} · {severity} · {account} · {title} ({status})")
            for i, title, severity, status, account in session.execute(stmt)]
