"""The team's alert endpoints: add, change, disable, list and test webhooks, Slack, Teams and SMS gateways.

Only admins manage endpoints (`check_may_manage`, from core.people.access). Every input is checked
before anything is saved, and a refusal is an `EndpointError` whose message says what to fix. An
endpoint's secret (and a Slack or Teams URL, which is a secret too) is never shown back whole:
listings carry `EndpointView`, with the URL's path masked and only the secret's last four
characters; the audit trail records that a secret changed, never its value. `send_test` sends one
test message straight away, with no transaction open, and reports what the receiver answered. This
module must never log a secret, and never import streamlit.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import audit
from core.alerts import channels
from core.alerts.channels import Endpoint
from core.outbox.delivery import DeliveryError, Outgoing
from core.people.access import ADMINS, Role
from core.people.users import Actor
from db.engine import session_scope
from db.models import NotificationEndpoint
from db.rows import get_for_update

KINDS = ("webhook", "slack", "teams", "sms")
KIND_LABELS = {"webhook": "Generic webhook (signed JSON)", "slack": "Slack incoming webhook",
               "teams": "Microsoft Teams incoming webhook", "sms": "SMS gateway (signed JSON)"}
LEVELS = ("L1", "L2", "L3", "L4")
NAME_MAX = 80
URL_MAX = 2000
SECRET_MIN, SECRET_MAX = 16, 200
SIGNED_KINDS = ("webhook", "sms")


class EndpointError(ValueError):
    """An endpoint change that was refused; the message says what to fix. Nothing was saved."""


class EndpointForbidden(EndpointError, PermissionError):
    """Only admins manage the team's alert endpoints."""


def check_may_manage(actor: Actor) -> None:
    """EndpointForbidden unless `actor` is an admin (alert endpoints and deliveries are team settings)."""
    if actor.role is None or Role(actor.role) not in ADMINS:
        raise EndpointForbidden(f"Only admins may manage alert endpoints and deliveries; {actor.name} is not one. "
                                "Nothing was changed.")


@dataclass(frozen=True)
class EndpointView:
    """An endpoint as shown on screens: the URL's path masked, the secret reduced to whether it is set."""

    id: int
    name: str
    kind: str
    url: str
    secret: str
    levels: tuple[str, ...]
    is_enabled: bool
    version: int


def mask_url(url: str) -> str:
    """`https://hooks.slack.com/…/abcd`: scheme and host, the rest hidden but its last four characters."""
    parts = urlsplit(url)
    rest = url.split(parts.netloc, 1)[1] if parts.netloc else url
    host = parts.netloc.rpartition("@")[2]
    if len(rest) <= 1:
        return f"{parts.scheme}://{host}{rest}"
    return f"{parts.scheme}://{host}/…{rest[-4:]}" if len(rest) > 8 else f"{parts.scheme}://{host}/…"


def mask_secret(secret: str) -> str:
    """'not set', or 'set (…wxyz)' showing only the last four characters."""
    return f"set (…{secret[-4:]})" if secret else "not set"


def _view(row: NotificationEndpoint) -> EndpointView:
    return EndpointView(id=row.id, name=row.name, kind=row.kind, url=mask_url(row.url), secret=mask_secret(row.secret),
                        levels=tuple(row.levels or ()), is_enabled=row.is_enabled, version=row.version)


# --------------------------------------------------------------------------
# Validation


def _name(value: str) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise EndpointError("Give the endpoint a name, e.g. 'Ops Slack' or 'SMS gateway'.")
    if len(name) > NAME_MAX:
        raise EndpointError(f"The name is {len(name)} characters long; keep it to {NAME_MAX}.")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise EndpointError("The name holds an invisible control character: retype it.")
    return name


def _kind(value: str) -> str:
    if value not in KINDS:
        raise EndpointError(f"Unknown endpoint kind {value!r}: choose one of {', '.join(KINDS)}.")
    return value


def _url(value: str) -> str:
    url = (value or "").strip()
    if not url:
        raise EndpointError("Give the endpoint's address (the URL the receiver, Slack or Teams gave you).")
    if len(url) > URL_MAX:
        raise EndpointError(f"The address is {len(url)} characters long; the limit is {URL_MAX}.")
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise EndpointError("The address holds a space or a control character: paste it again without them.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError("The address must start with https:// (or http:// on a closed network) and name a host.")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise EndpointError("The address has an invalid port number.") from None
    return url


def _secret(value: str, kind: str) -> str:
    secret = (value or "").strip()
    if kind in SIGNED_KINDS and not secret:
        raise EndpointError(f"A {kind} endpoint signs every message: give it a secret of at least {SECRET_MIN} "
                            "characters and set the same one in the receiver.")
    if secret and not SECRET_MIN <= len(secret) <= SECRET_MAX:
        raise EndpointError(f"The secret must be {SECRET_MIN} to {SECRET_MAX} characters long (a random string "
                            "from a password manager will do).")
    if secret and (not secret.isascii() or not secret.isprintable()):
        raise EndpointError("The secret must be plain printable ASCII characters.")
    return secret


def _levels(values: Any) -> list[str]:
    levels = [str(v).strip().upper() for v in (values or ()) if str(v).strip()]
    unknown = [level for level in levels if level not in LEVELS]
    if unknown:
        raise EndpointError(f"Unknown escalation level {', '.join(unknown)}: choose from {', '.join(LEVELS)}, "
                            "or none for every alert.")
    return [level for level in LEVELS if level in levels]


def _unique_name(session: Session, name: str, endpoint_id: int | None = None) -> None:
    clash = session.scalar(select(NotificationEndpoint.id).where(func.lower(NotificationEndpoint.name) == name.lower()))
    if clash is not None and clash != endpoint_id:
        raise EndpointError(f"There is already an endpoint named {name!r}: choose another name.")


def _audit_values(row: NotificationEndpoint) -> dict[str, Any]:
    return {"name": row.name, "kind": row.kind, "url": mask_url(row.url), "secret": mask_secret(row.secret),
            "levels": list(row.levels or ()), "is_enabled": row.is_enabled}


# --------------------------------------------------------------------------
# Changes


def list_endpoints(session: Session) -> list[EndpointView]:
    """Every endpoint, enabled first, by name; secrets masked."""
    rows = session.scalars(select(NotificationEndpoint)
                           .order_by(NotificationEndpoint.is_enabled.desc(), NotificationEndpoint.name))
    return [_view(row) for row in rows]


def add_endpoint(session: Session, *, name: str, kind: str, url: str, secret: str = "",
                 levels: Any = (), actor: Actor, now: dt.datetime) -> EndpointView:
    """Add an enabled endpoint after checking every field; EndpointError says what to fix."""
    check_may_manage(actor)
    kind = _kind(kind)
    row = NotificationEndpoint(name=_name(name), kind=kind, url=_url(url), secret=_secret(secret, kind),
                               levels=_levels(levels), is_enabled=True, created_at=now)
    _unique_name(session, row.name)
    session.add(row)
    session.flush()
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="notification_endpoint",
                 entity_id=row.id, action="add", changes=audit.field_changes({}, _audit_values(row)), at=now)
    return _view(row)


def change_endpoint(session: Session, endpoint_id: int, *, expected_version: int, actor: Actor, now: dt.datetime,
                    name: str | None = None, url: str | None = None, secret: str | None = None,
                    levels: Any = None, is_enabled: bool | None = None) -> EndpointView:
    """Change the given fields (None keeps one; an empty secret keeps the stored one); refused on a stale version."""
    check_may_manage(actor)
    row = get_for_update(session, NotificationEndpoint, endpoint_id)
    if row is None:
        raise EndpointError(f"There is no endpoint {endpoint_id}; reload the page.")
    if row.version != expected_version:
        raise EndpointError(f"Someone changed the endpoint {row.name!r} while you were editing it; nothing of yours "
                            "was saved. Reload the page to see their change, then edit again.")
    before = _audit_values(row)
    if name is not None:
        row.name = _name(name)
        _unique_name(session, row.name, row.id)
    if url is not None:
        row.url = _url(url)
    if secret:
        row.secret = _secret(secret, row.kind)
    elif row.kind in SIGNED_KINDS and not row.secret:
        _secret("", row.kind)
    if levels is not None:
        row.levels = _levels(levels)
    if is_enabled is not None:
        row.is_enabled = is_enabled
    after = _audit_values(row)
    if secret and before["secret"] == after["secret"]:  # a new secret with the same last four characters
        after["secret"] = after["secret"] + " (replaced)"
    changes = audit.field_changes(before, after)
    if changes:
        session.flush()
        audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="notification_endpoint",
                     entity_id=row.id, action="change", changes=changes, at=now)
    return _view(row)


def disable_endpoint(session: Session, endpoint_id: int, *, expected_version: int, actor: Actor,
                     now: dt.datetime) -> EndpointView:
    """Stop sending through an endpoint (queued messages to it become dead letters saying it is disabled)."""
    return change_endpoint(session, endpoint_id, expected_version=expected_version, actor=actor, now=now,
                           is_enabled=False)


def send_test(engine: Engine, endpoint_id: int, *, actor: Actor, now: dt.datetime, to: str = "",
              timeout: float = channels.TIMEOUT_S) -> str:
    """Send one test message through the endpoint now (SMS: to phone `to`); what happened, else EndpointError."""
    with session_scope(engine) as session:
        check_may_manage(actor)
        row = session.get(NotificationEndpoint, endpoint_id)
        if row is None:
            raise EndpointError(f"There is no endpoint {endpoint_id}; reload the page.")
        endpoint = Endpoint(id=row.id, name=row.name, kind=row.kind, url=row.url, secret=row.secret, is_enabled=True)
        audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="notification_endpoint",
                     entity_id=row.id, action="test", changes={}, at=now)
    if endpoint.kind == "sms" and not to.strip():
        raise EndpointError("Give the phone number the test SMS should go to.")
    stamp = now.astimezone(dt.UTC)
    item = Outgoing(id=0, channel=endpoint.kind, rule="test", recipient=to.strip() or endpoint.name,
                    dedupe_key=f"test:{endpoint.id}:{int(stamp.timestamp())}",
                    subject=f"Test message from Escalation Desk to {endpoint.name}",
                    body=f"{actor.name} sent this test at {stamp:%Y-%m-%d %H:%M} UTC. No action is needed.",
                    due_at=stamp, created_at=stamp, endpoint_id=endpoint.id)
    try:
        channels.send_http(item, endpoint, ack_url=None, now=now, timeout=timeout)
    except DeliveryError as error:
        raise EndpointError(f"The test message did not arrive: {error}") from None
    return f"The test message reached {endpoint.name} ({mask_url(endpoint.url)})."
