"""SMTP: the team's saved email-server settings, and delivering a built message through that server.

`send` delivers all-or-nothing by default: every recipient must be accepted
before the message itself is transmitted, so a refused address never leaves
the others with a copy the CSM does not know about; `allow_partial=True`
sends to the accepted ones and reports the refused ones in the receipt. The
message is read back before it leaves (core.communication.mail.checked_bytes)
and RCPT goes only to the addresses its own header block shows. Every
failure is a `MailError` whose message tells a CSM what happened and what to
check. This module never imports streamlit, never stores or logs the SMTP
password (it is passed in from secrets or the environment) and never reports
a message as sent unless the server accepted it.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from sqlalchemy.orm import Session

from core import audit
from core.communication.errors import SettingsError, check_may_configure
from core.communication.mail import MailError, checked_bytes, parse_address
from core.people.users import Actor
from db.models import Setting
from db.rows import get_for_update

SMTP_SETTING = "smtp"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class ServerUnreachable(MailError):
    """The SMTP server could not be reached or dropped the connection."""


class SendTimeout(MailError):
    """The SMTP server did not answer in time."""


class TlsError(MailError):
    """STARTTLS was required but not offered, or the secure connection failed."""


class AuthenticationRefused(MailError):
    """The SMTP server refused the username or password."""


class SenderRefused(MailError):
    """The SMTP server refused the sender address."""


class RecipientRefused(MailError):
    """The SMTP server refused one or more recipients; `refused` maps each to the server's reply."""

    def __init__(self, message: str, refused: dict[str, str]):
        super().__init__(message)
        self.refused = refused


class MessageRefused(MailError):
    """The SMTP server refused the message content."""


class SmtpSettings(BaseModel):
    """Where and how to send email; the password is never part of the settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253,
                                           pattern=r"^[A-Za-z0-9.:\-\[\]]+$")]
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    username: Annotated[str, StringConstraints(max_length=254)] = ""
    from_address: str
    timeout: float = Field(20.0, gt=0, le=120)

    @field_validator("from_address")
    @classmethod
    def _valid_from(cls, value: str) -> str:
        try:
            parse_address(value, what="the sender address")
        except MailError as exc:
            raise ValueError(str(exc)) from None
        return value


@dataclass(frozen=True)
class SendReceipt:
    """What the server accepted: `accepted` got the message; `refused` maps address -> server reply."""

    accepted: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)
    server_reply: str = ""

    @property
    def complete(self) -> bool:
        """True when every recipient was accepted."""
        return not self.refused


def envelope_recipients(message: EmailMessage) -> list[str]:
    """Every To, Cc and Bcc address of the message, without duplicates, in order."""
    seen: dict[str, None] = {}
    for header in ("To", "Cc", "Bcc"):
        for value in message.get_all(header, []):
            for addr in getattr(value, "addresses", ()):
                seen.setdefault(addr.addr_spec, None)
    return list(seen)


def _reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _where(settings: SmtpSettings) -> str:
    return f"{settings.host}:{settings.port}"


def send(
    message: EmailMessage, settings: SmtpSettings, password: str | None = None, *, allow_partial: bool = False,
) -> SendReceipt:
    """Deliver the message through the configured SMTP server; MailError unless the server accepted it."""
    clean = _without_bcc(message) if message.get("Bcc") is not None else message
    payload, shown = checked_bytes(clean)
    # RCPT goes to the addresses read back from the very bytes being sent, plus the Bcc the caller set:
    # nobody gets the message whom the recipients cannot see, other than on purpose.
    bcc = [a.addr_spec for value in message.get_all("Bcc", []) for a in getattr(value, "addresses", ())]
    recipients = list(dict.fromkeys([*shown.get("To", []), *shown.get("Cc", []), *bcc]))
    if not recipients:
        raise MailError("The message has no recipients.")
    if settings.username and not settings.starttls and settings.host not in _LOOPBACK:
        raise TlsError(f"Refusing to send the SMTP password to {_where(settings)} without encryption: "
                       "turn on STARTTLS in the email settings.")
    sender = parse_address(settings.from_address, what="the sender address").addr_spec
    try:
        smtp = _connect(settings)
        try:
            _secure_and_login(smtp, settings, password)
            return _transmit(smtp, sender, recipients, payload, allow_partial)
        finally:
            smtp.close()
    except MailError:
        raise
    except TimeoutError:
        raise SendTimeout(
            f"The email server {_where(settings)} stopped answering (no reply within {settings.timeout:g} s). "
            "Nothing was sent. Try again in a minute; if it keeps happening, ask IT to check the server.") from None
    except smtplib.SMTPServerDisconnected as exc:
        if _timed_out(exc):
            raise SendTimeout(
                f"The email server {_where(settings)} stopped answering (no reply within {settings.timeout:g} s). "
                "Nothing was sent. Try again in a minute; if it keeps happening, ask IT to check the server.") from None
        raise ServerUnreachable(
            f"The email server {_where(settings)} closed the connection ({exc}). Nothing was sent. "
            "Check the port and the STARTTLS setting.") from None
    except ssl.SSLError as exc:
        raise TlsError(f"The secure connection to {_where(settings)} failed ({exc.reason or exc}). "
                       "Nothing was sent. Check the host name and port.") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"Sending through {_where(settings)} failed: {exc}. Nothing was sent.") from None


def _timed_out(exc: BaseException) -> bool:
    # smtplib turns a read timeout into SMTPServerDisconnected("Connection unexpectedly closed: timed out").
    return "timed out" in str(exc)


def _without_bcc(message: EmailMessage) -> EmailMessage:
    clean = copy.deepcopy(message)
    del clean["Bcc"]
    return clean


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    try:
        return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
        if isinstance(exc, smtplib.SMTPServerDisconnected) and not _timed_out(exc):
            raise ServerUnreachable(
                f"The email server at {_where(settings)} closed the connection before greeting ({exc}). "
                "Nothing was sent. Check the port: it may belong to another service.") from None
        raise SendTimeout(
            f"The email server {_where(settings)} did not answer within {settings.timeout:g} s. Nothing was sent. "
            "Check the host name and port in the email settings, and that this machine may reach it.") from None
    except socket.gaierror:
        raise ServerUnreachable(
            f"Could not reach the email server: the host name {settings.host!r} is unknown. Nothing was sent. "
            "Check the host name in the email settings.") from None
    except (OSError, smtplib.SMTPConnectError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ServerUnreachable(
            f"Could not reach the email server at {_where(settings)} ({reason}). Nothing was sent. "
            "Check the host and port in the email settings, and that the server is running and "
            "reachable from this machine.") from None


def _secure_and_login(smtp: smtplib.SMTP, settings: SmtpSettings, password: str | None) -> None:
    smtp.ehlo()
    if settings.starttls:
        if not smtp.has_extn("starttls"):
            raise TlsError(f"The email server {_where(settings)} does not offer STARTTLS. Nothing was sent. "
                           "Use the server's submission port (usually 587) or ask IT which setting to use.")
        smtp.starttls(context=ssl.create_default_context())
        smtp.ehlo()
    if settings.username:
        try:
            smtp.login(settings.username, password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthenticationRefused(
                f"The email server {_where(settings)} refused the login for {settings.username!r} "
                f"({exc.smtp_code} {_reply_text(exc.smtp_error)}). Nothing was sent. Check the username and "
                "the password in the app's secrets.") from None
        except smtplib.SMTPNotSupportedError:
            raise AuthenticationRefused(
                f"The email server {_where(settings)} does not accept a login on this connection. Nothing was "
                "sent. Turn on STARTTLS, or clear the username if the server needs none.") from None


def _transmit(smtp: smtplib.SMTP, sender: str, recipients: list[str], payload: bytes,
              allow_partial: bool) -> SendReceipt:
    code, reply = smtp.mail(sender)
    if code != 250:
        smtp.rset()
        raise SenderRefused(f"The email server refused the sender {sender} ({code} {_reply_text(reply)}). "
                            "Nothing was sent. Check the sender address in the email settings.")
    refused: dict[str, str] = {}
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = f"{code} {_reply_text(reply)}"
    accepted = tuple(r for r in recipients if r not in refused)
    if refused and (not allow_partial or not accepted):
        smtp.rset()
        names = "; ".join(f"{addr} ({reply})" for addr, reply in refused.items())
        raise RecipientRefused(
            f"The email server refused {'this recipient' if len(refused) == 1 else 'these recipients'}: {names}. "
            "Nothing was sent to anyone. Correct or remove the address and send again.", refused)
    try:
        code, reply = smtp.data(payload)
    except smtplib.SMTPDataError as exc:
        raise MessageRefused(f"The email server refused the message ({exc.smtp_code} "
                             f"{_reply_text(exc.smtp_error)}). Nothing was sent.") from None
    if code != 250:
        raise MessageRefused(f"The email server refused the message ({code} {_reply_text(reply)}). Nothing was sent.")
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()  # the message is already accepted; a failed goodbye changes nothing
    return SendReceipt(accepted=accepted, refused=refused, server_reply=f"{code} {_reply_text(reply)}")


# --------------------------------------------------------------------------
# The saved settings (the password is never here: it comes from secrets or the environment).


def smtp_settings(session: Session) -> tuple[SmtpSettings | None, int]:
    """The saved SMTP settings (None when not configured) and their revision number (0: never saved)."""
    row = session.get(Setting, SMTP_SETTING)
    if row is None or not isinstance(row.value, dict):
        return None, 0
    values = {k: v for k, v in row.value.items() if k in SmtpSettings.model_fields}
    try:
        return SmtpSettings.model_validate(values), int(row.value.get("revision", 1))
    except ValidationError:
        return None, int(row.value.get("revision", 1))


_SETTING_LABELS = {"host": "Host", "port": "Port", "starttls": "STARTTLS", "username": "Username",
                   "from_address": "From address"}


def save_smtp_settings(
    session: Session, *, host: str, port: int, starttls: bool, username: str, from_address: str,
    expected_revision: int, actor: Actor, now: dt.datetime,
) -> SmtpSettings:
    """Validate and store the SMTP settings; refused when someone saved them since `expected_revision`."""
    check_may_configure(actor, "the email server settings")
    try:
        settings = SmtpSettings(host=host, port=port, starttls=starttls, username=username.strip(),
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
