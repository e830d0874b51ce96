"""The channels an alert goes out through: email, a signed JSON webhook, Slack, Microsoft Teams, an SMS gateway.

Each sender takes one claimed notification (`core.outbox.delivery.Outgoing`) and either returns
(delivered: the SMTP server accepted it, or the receiver answered 2xx) or raises `DeliveryError`,
permanent when trying again cannot help (a 4xx other than 408/429, a refused recipient, a missing
or disabled endpoint). Every message carries its dedupe key (`X-Escalation-Desk-Dedupe-Key`, and
`Idempotency-Key` over HTTP) so a receiver can drop the repeat that at-least-once delivery allows.
Generic webhook and SMS bodies are signed: `X-Escalation-Desk-Signature: v1=<hex HMAC-SHA256 of
"<timestamp>.<body>">` with the endpoint's secret; `verify_signature` is the receiver's check.
User text never becomes markup: Slack text is escaped (&, <, >), Teams text goes into plain text
runs. HTTP goes only to http(s) URLs, follows no redirect, waits at most `timeout` per connect and
per read, never reads a 2xx answer's body and reads at most `ERROR_READ_MAX` bytes of an error's.
This module must never log or return an endpoint's secret or the SMTP password, never open a
database session, and never decide what is due.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from core.communication import smtp
from core.communication.mail import (
    DEDUPE_HEADER,
    AddressError,
    HeaderInjectionError,
    MailError,
    build_email,
    check_header_text,
    set_list_unsubscribe,
)
from core.outbox.delivery import DeliveryError, Outgoing

TIMEOUT_S = 10.0
ERROR_READ_MAX = 4096
SMS_TEXT_MAX = 320
SIGNATURE_TOLERANCE_S = 300
TIMESTAMP_HEADER = "X-Escalation-Desk-Timestamp"
SIGNATURE_HEADER = "X-Escalation-Desk-Signature"
USER_AGENT = "EscalationDesk-Alerts/1"
_RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Endpoint:
    """A snapshot of a configured endpoint (NotificationEndpoint) for senders: no database object."""

    id: int
    name: str
    kind: str
    url: str
    secret: str = ""
    is_enabled: bool = True

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"Endpoint(id={self.id}, name={self.name!r}, kind={self.kind!r}, url={self.url!r})"


@dataclass(frozen=True)
class SubscriberTarget:
    """A snapshot of a status page subscriber for senders: its state, and a webhook's URL and secret."""

    id: int
    kind: str
    state: str
    url: str = ""
    secret: str = ""

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"SubscriberTarget(id={self.id}, kind={self.kind!r}, state={self.state!r})"


# --------------------------------------------------------------------------
# Signatures


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`: `v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>`."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str | int, body: bytes, header: str, *, now: dt.datetime,
                     tolerance: int = SIGNATURE_TOLERANCE_S) -> bool:
    """True when `header` signs `body` at `timestamp` with `secret` and the timestamp is within `tolerance` s of now."""
    try:
        stamp = int(str(timestamp).strip())
    except ValueError:
        return False
    if abs(now.timestamp() - stamp) > tolerance or not secret:
        return False
    return hmac.compare_digest(signature(secret, stamp, body).encode(), (header or "").strip().encode())


# --------------------------------------------------------------------------
# Bodies (pure: a notification and its acknowledge link in, a JSON-ready dict out)


def _incident(item: Outgoing) -> dict[str, Any]:
    facts = item.payload
    return {"id": item.incident_id, "title": facts.get("title"), "account": facts.get("account"),
            "severity": facts.get("severity")}


def _text(item: Outgoing, ack_url: str | None) -> str:
    text = item.body or item.subject
    return f"{text}\n\nAcknowledge: {ack_url}" if ack_url else text


def webhook_body(item: Outgoing, *, ack_url: str | None) -> dict[str, Any]:
    """The generic JSON payload: ids, dedupe key, rule, incident, subject, text, acknowledge link and the facts."""
    return {
        "id": item.id, "dedupe_key": item.dedupe_key, "rule": item.rule, "level": item.level,
        "incident": _incident(item), "subject": item.subject, "text": item.body, "ack_url": ack_url,
        "recipient": item.recipient, "due_at": item.due_at.astimezone(dt.UTC).isoformat(),
        "attempt": item.attempts + 1, "facts": item.payload,
    }


def slack_escape(text: str) -> str:
    """Text Slack shows as typed: &, < and > escaped, so no mention (<!channel>, <@U1>) or link can be made."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(item: Outgoing, *, ack_url: str | None) -> dict[str, Any]:
    """A Slack incoming-webhook body: fallback `text` and blocks (subject, text, acknowledge link)."""
    subject, body = slack_escape(item.subject), slack_escape(item.body)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{subject}*"[:3000]}},
    ]
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}})
    if ack_url:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{ack_url}|Acknowledge>"}})
    blocks.append({"type": "context", "elements": [{"type": "plain_text", "text": f"dedupe key {item.dedupe_key}"}]})
    return {"text": subject, "blocks": blocks}


def teams_body(item: Outgoing, *, ack_url: str | None) -> dict[str, Any]:
    """A Teams incoming-webhook message with one Adaptive Card: subject and text as plain text, an acknowledge button.

    User text goes into RichTextBlock text runs, which Teams shows literally: in a TextBlock a
    title like `[here](https://x)` would become a link.
    """
    def plain(text: str, **style: Any) -> dict[str, Any]:
        return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}

    body = [plain(item.subject, weight="Bolder", size="Medium")]
    if item.body:
        body.append(plain(item.body))
    body.append({"type": "TextBlock", "text": "Escalation Desk alert", "isSubtle": True, "size": "Small",
                 "wrap": True})
    card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                            "version": "1.4", "body": body}
    if ack_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Acknowledge", "url": ack_url}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def sms_text(item: Outgoing, *, ack_url: str | None) -> str:
    """At most SMS_TEXT_MAX characters: the subject, shortened if need be, then the whole acknowledge link."""
    tail = f" {ack_url}" if ack_url else ""
    room = SMS_TEXT_MAX - len(tail)
    subject = " ".join(item.subject.split())
    if len(subject) > room:
        subject = subject[: max(room - 1, 0)] + "…"
    return (subject + tail)[:SMS_TEXT_MAX]


def sms_body(item: Outgoing, *, ack_url: str | None) -> dict[str, Any]:
    """The SMS gateway payload: `{"to": phone, "text": <=320 chars, "dedupe_key", "id"}` (signed like a webhook)."""
    return {"to": item.recipient, "text": sms_text(item, ack_url=ack_url), "dedupe_key": item.dedupe_key,
            "id": item.id}


# --------------------------------------------------------------------------
# HTTP


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx, which post_json reports


_OPENER = urllib.request.build_opener(_NoRedirect)


def check_url(url: str) -> str:
    """`url` when it is an http(s) address with a host; DeliveryError(permanent) otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError("The endpoint's address is not an http:// or https:// URL: correct it on the alerts "
                            "admin page.", permanent=True)
    return url


def _where(url: str) -> str:
    # The host only: a Slack or Teams webhook URL holds its secret in the path.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout: float = TIMEOUT_S) -> int:
    """POST `body` as JSON; the 2xx status when delivered, else DeliveryError (permanent for a 3xx or 4xx refusal)."""
    check_url(url)
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **headers})
    where = _where(url)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            # A 2xx status line means delivered: the body is not read, so a receiver that trickles it
            # cannot hold the pass.
            return int(response.status)
    except urllib.error.HTTPError as error:
        detail = _answer(error)
        status = error.code
        if 300 <= status < 400:
            raise DeliveryError(f"{where} answered {status} (a redirect to {error.headers.get('Location', '?')}); "
                                "redirects are not followed: put the final address in the endpoint.",
                                permanent=True) from None
        permanent = 400 <= status < 500 and status not in _RETRY_STATUSES
        raise DeliveryError(f"{where} answered HTTP {status}{detail}", permanent=permanent) from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            raise DeliveryError(f"{where} did not answer within {timeout:g} s") from None
        if isinstance(reason, ConnectionRefusedError):
            raise DeliveryError(f"{where} refused the connection (nothing is listening there)") from None
        raise DeliveryError(f"could not reach {where}: {reason}") from None
    except TimeoutError:
        raise DeliveryError(f"{where} did not answer within {timeout:g} s") from None
    except (OSError, ValueError) as error:  # a dropped connection, a malformed answer
        raise DeliveryError(f"the connection to {where} failed: {type(error).__name__}: {error}") from None


def _answer(error: urllib.error.HTTPError) -> str:
    # One read of what has arrived (read1), at most ERROR_READ_MAX bytes: enough to quote, never a wait
    # for a body the receiver sends slowly.
    try:
        reader = getattr(error.fp, "read1", None) or error.read
        text = bytes(reader(ERROR_READ_MAX)).decode("utf-8", "replace")
    except (OSError, ValueError):
        text = ""
    text = " ".join(text.split())[:200]
    return f": {text}" if text else ""


def _signed_headers(item: Outgoing, body: bytes, secret: str, now: dt.datetime) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body),
            DEDUPE_HEADER: item.dedupe_key, "Idempotency-Key": item.dedupe_key}


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def send_http(item: Outgoing, endpoint: Endpoint | None, *, ack_url: str | None, now: dt.datetime,
              timeout: float = TIMEOUT_S) -> None:
    """Deliver `item` through its webhook, Slack, Teams or SMS endpoint; DeliveryError when it did not arrive."""
    if endpoint is None:
        raise DeliveryError("The endpoint this alert was queued for no longer exists.", permanent=True)
    if not endpoint.is_enabled:
        raise DeliveryError(f"The endpoint {endpoint.name!r} is disabled.", permanent=True)
    if endpoint.kind != item.channel:
        raise DeliveryError(f"The endpoint {endpoint.name!r} is now a {endpoint.kind} endpoint, not {item.channel}.",
                            permanent=True)
    if endpoint.kind in ("webhook", "sms"):
        if not endpoint.secret:
            raise DeliveryError(f"The endpoint {endpoint.name!r} has no signing secret; set one on the alerts admin "
                                "page.", permanent=True)
        builder = webhook_body if endpoint.kind == "webhook" else sms_body
        body = _encode(builder(item, ack_url=ack_url))
        headers = _signed_headers(item, body, endpoint.secret, now)
    else:
        builder = slack_body if endpoint.kind == "slack" else teams_body
        body = _encode(builder(item, ack_url=ack_url))
        headers = {DEDUPE_HEADER: item.dedupe_key, "Idempotency-Key": item.dedupe_key}
    post_json(endpoint.url, body, headers, timeout=timeout)


def send_subscriber_webhook(item: Outgoing, target: SubscriberTarget, *, now: dt.datetime,
                            timeout: float = TIMEOUT_S) -> None:
    """POST a status page update to a subscriber's URL: the payload's client-safe `body`, signed with its secret."""
    if target.kind != "webhook" or not target.secret:
        raise DeliveryError("The status page subscriber is not a webhook with a signing secret.", permanent=True)
    body = _encode(dict(item.payload.get("body") or {}))
    post_json(target.url, body, _signed_headers(item, body, target.secret, now), timeout=timeout)


# --------------------------------------------------------------------------
# Email

# Failures that a later attempt cannot fix: the address or the message itself is refused.
_PERMANENT_MAIL = (smtp.RecipientRefused, smtp.MessageRefused, AddressError, HeaderInjectionError)


def alert_email(item: Outgoing, *, sender: str, ack_url: str | None, now: dt.datetime) -> EmailMessage:
    """The alert as an email to `item.recipient` with its dedupe key header; MailError if it cannot be built."""
    check_header_text(item.dedupe_key, "The dedupe key")
    if not item.dedupe_key.isascii() or "=?" in item.dedupe_key:
        raise HeaderInjectionError("The dedupe key must be plain ASCII without '=?'.")
    message = build_email(sender=sender, recipients=[item.recipient], subject=item.subject,
                          text=_text(item, ack_url), date=now)
    message[DEDUPE_HEADER] = item.dedupe_key
    unsubscribe_url = str(item.payload.get("unsubscribe_url") or "")
    if unsubscribe_url:
        set_list_unsubscribe(message, unsubscribe_url)
    return message


def send_email(item: Outgoing, *, settings: smtp.SmtpSettings | None, password: str | None,
               ack_url: str | None, now: dt.datetime) -> None:
    """Deliver `item` by email through the configured SMTP server; DeliveryError unless the server accepted it."""
    if settings is None:
        raise DeliveryError("No email server is configured: save the SMTP settings on the templates admin page, "
                            "then retry this notification.", permanent=True)
    try:
        smtp.send(alert_email(item, sender=settings.from_address, ack_url=ack_url, now=now), settings, password)
    except _PERMANENT_MAIL as error:
        raise DeliveryError(str(error), permanent=True) from None
    except MailError as error:
        raise DeliveryError(str(error)) from None
