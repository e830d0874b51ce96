"""Email: build a message (text + HTML alternative), save it as .eml, send it over SMTP.

`build_email` refuses anything that could go wrong later: a malformed
address, a newline in a header (header injection), no recipient, no
subject, no body. `send` delivers all-or-nothing by default: every recipient
must be accepted before the message itself is transmitted, so a refused
address never leaves the others with a copy the CSM does not know about;
`allow_partial=True` sends to the accepted ones and reports the refused ones
in the receipt. Every failure is a `MailError` whose message tells a CSM
what happened and what to check. This module never imports streamlit,
never stores or logs the SMTP password (it is passed in from secrets or
the environment) and never reports a message as sent unless the server
accepted it.
"""

from __future__ import annotations

import copy
import datetime as dt
import email.policy
import email.utils
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_ATTACHMENTS_BYTES = 10 * 1024 * 1024
MAX_SUBJECT_CHARS = 300
# A practical address check (RFC 5321 allows more, mail servers accept less).
_ADDR_SPEC = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_NAMED = re.compile(r'^(?P<name>[^<>]*)<(?P<addr>[^<>]+)>$')
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class MailError(Exception):
    """An email could not be built or sent; the message says what to check."""


class AddressError(MailError):
    """An email address is malformed."""


class HeaderInjectionError(MailError):
    """A header value contains a line break."""


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
class Attachment:
    """A file to attach: name, bytes and MIME type ('application/pdf')."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


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


def _no_newlines(value: str, what: str) -> None:
    if any(ch in value for ch in "\r\n\x00"):
        raise HeaderInjectionError(
            f"{what} contains a line break, which is not allowed in an email header; "
            "remove it and try again.")


def parse_address(value: str, *, what: str = "an address") -> Address:
    """'Ana Martin <ana@acme.example>' or 'ana@acme.example' as an Address; AddressError otherwise."""
    if not isinstance(value, str):
        raise AddressError(f"{what} must be text, got {type(value).__name__}")
    _no_newlines(value, f"{what} {value!r}")
    text = value.strip()
    if not text:
        raise AddressError(f"{what} is empty")
    named = _NAMED.match(text)
    name, addr = (named.group("name").strip().strip('"').strip(), named.group("addr").strip()) if named else ("", text)
    if not _ADDR_SPEC.match(addr):
        raise AddressError(f"{what} {value!r} is not a valid email address (expected name@example.com "
                           "or Name <name@example.com>, one address per entry)")
    local, domain = addr.rsplit("@", 1)
    return Address(display_name=name, username=local, domain=domain)


def _addresses(values: Sequence[str], what: str) -> list[Address]:
    if isinstance(values, str):
        values = [values]
    return [parse_address(value, what=what) for value in values]


def build_email(
    *,
    sender: str,
    recipients: Sequence[str],
    cc: Sequence[str] = (),
    subject: str,
    text: str,
    html: str = "",
    reply_to: str | None = None,
    attachments: Sequence[Attachment] = (),
    date: dt.datetime | None = None,
) -> EmailMessage:
    """A ready-to-send message: text part, HTML alternative when given, attachments; checked headers."""
    from_addr = parse_address(sender, what="the sender address")
    to_addrs = _addresses(recipients, "the recipient")
    cc_addrs = _addresses(cc, "the Cc address")
    if not to_addrs:
        raise MailError("Add at least one recipient before sending.")
    _no_newlines(subject, "The subject")
    if not subject.strip():
        raise MailError("The subject is empty; every client email needs one.")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise MailError(f"The subject is {len(subject)} characters long; keep it under {MAX_SUBJECT_CHARS}.")
    if not text.strip():
        raise MailError("The message text is empty.")
    total = sum(len(a.content) for a in attachments)
    if total > MAX_ATTACHMENTS_BYTES:
        raise MailError(f"The attachments add up to {total / 1e6:.1f} MB; the limit is "
                        f"{MAX_ATTACHMENTS_BYTES / 1e6:.0f} MB.")
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = from_addr
    message["To"] = to_addrs
    if cc_addrs:
        message["Cc"] = cc_addrs
    if reply_to:
        message["Reply-To"] = parse_address(reply_to, what="the reply-to address")
    message["Subject"] = subject.strip()
    message["Date"] = email.utils.format_datetime(date or dt.datetime.now(dt.UTC))
    message["Message-ID"] = email.utils.make_msgid(domain=from_addr.domain)
    # Quoted-printable keeps every line short and 7-bit: safe for any server, even without 8BITMIME.
    message.set_content(text, cte="quoted-printable")
    if html.strip():
        message.add_alternative(html, subtype="html", cte="quoted-printable")
    for attachment in attachments:
        _no_newlines(attachment.filename, f"The attachment name {attachment.filename!r}")
        maintype, _, subtype = attachment.mime_type.partition("/")
        if not maintype or not subtype:
            raise MailError(f"The attachment type {attachment.mime_type!r} is not a MIME type like application/pdf.")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                               filename=attachment.filename)
    return message


def to_eml_bytes(message: EmailMessage) -> bytes:
    """The message as an RFC 5322 .eml file (CRLF line endings)."""
    return message.as_bytes(policy=email.policy.SMTP)


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
    recipients = envelope_recipients(message)
    if not recipients:
        raise MailError("The message has no recipients.")
    if settings.username and not settings.starttls and settings.host not in _LOOPBACK:
        raise TlsError(f"Refusing to send the SMTP password to {_where(settings)} without encryption: "
                       "turn on STARTTLS in the email settings.")
    sender = parse_address(settings.from_address, what="the sender address").addr_spec
    clean = _without_bcc(message) if message.get("Bcc") is not None else message
    payload = clean.as_bytes(policy=email.policy.SMTP)
    try:
        smtp = _connect(settings)
        try:
            _secure_and_login(smtp, settings, password)
            return _transmit(smtp, sender, recipients, payload, allow_partial)
        finally:
            smtp.close()
    except MailError:
        raise
    except (TimeoutError, socket.timeout):
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
    except (TimeoutError, socket.timeout, smtplib.SMTPServerDisconnected) as exc:
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
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass  # the message is already accepted; a failed goodbye changes nothing
    return SendReceipt(accepted=accepted, refused=refused, server_reply=f"{code} {_reply_text(reply)}")
