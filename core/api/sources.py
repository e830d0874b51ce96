"""Alert sources: systems (a helpdesk's "ticket created / updated" webhook, a monitor) that send their own JSON.

Each source has a name, a signing secret (the sender signs the raw body with HMAC-SHA256 and puts the
signature in the source's header, as hex, `sha256=<hex>` or base64), the user its events act as, and
settings (`SourceSettings`): which fields of the sender's JSON give the dedup key, title, summary,
account (id or routing key), severity and triage answers; how the sender's values map to an action
(e.g. `solved` -> resolve) and to a severity hint; the hint-to-answers mapping; the policy its
triggers triage under; and a routing key for payloads that name no account. `event_from` turns one
payload into an `alerts.AlertEvent`; `core.api.alerts.take` does the rest, exactly as for
`POST /api/v1/alerts`. Only admins add, change (`change_source`: settings, user, header, enabled)
or give a new secret to (`rotate_secret`) a source. Never reads the clock, never logs a secret,
never imports streamlit.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.api.alerts import SEVERITY_HINTS, AlertError, AlertEvent, EventAction, SeverityHint
from core.api.schemas import ROW_NUMBER_MAX
from core.people.access import Role
from core.people.users import Actor, normalise_username
from core.triage.answers import Answers
from db.models import AlertSource, User

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
HEADER_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,64}$")
PATH_PATTERN = r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$"
JsonPath = Annotated[str, Field(pattern=PATH_PATTERN, max_length=200,
                                description="dot-separated keys into the sender's JSON; a number indexes a list")]


class SourceError(ValueError):
    """A source that cannot be added or changed, or an event it cannot take; the message says what to fix."""


class SignatureRefused(SourceError):
    """The event's signature is missing or does not match the source's secret."""


class SourceMapping(BaseModel):
    """Where in the sender's JSON each part of an alert is."""

    model_config = ConfigDict(extra="forbid")

    dedup_key: JsonPath = Field(description="e.g. ticket.id: the same for every event of one ticket")
    title: JsonPath = Field(description="e.g. ticket.subject")
    summary: JsonPath | None = None
    account_id: JsonPath | None = None
    routing_key: JsonPath | None = Field(None, description="e.g. ticket.organization.external_id")
    severity: JsonPath | None = Field(None, description="e.g. ticket.priority; mapped by severity_values")
    severity_values: dict[str, SeverityHint] = Field(default_factory=dict,
                                                     description='e.g. {"urgent": "critical", "high": "error"}')
    action: JsonPath | None = Field(None, description="e.g. ticket.status; mapped by action_values, else trigger")
    action_values: dict[str, EventAction] = Field(default_factory=dict,
                                                  description='e.g. {"solved": "resolve", "closed": "resolve"}')
    answers: JsonPath | None = Field(None, description="an object of triage answers in the payload")


class SourceSettings(BaseModel):
    """A source's settings, validated when saved."""

    model_config = ConfigDict(extra="forbid")

    mapping: SourceMapping
    hint_answers: dict[SeverityHint, Answers] = Field(
        default_factory=dict, description="the source's own answers per severity hint (default: the API's)")
    policy: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    routing_key: Annotated[str, Field(min_length=8, max_length=64)] | None = Field(
        None, description="the account of payloads that name none")


@dataclass(frozen=True)
class NewSource:
    """A source just added: its id and its signing secret (to give to the sender)."""

    id: int
    secret: str


@dataclass(frozen=True)
class Source:
    """A source as an event is checked against it."""

    id: int
    name: str
    secret: str
    signature_header: str
    settings: SourceSettings
    actor: Actor


def parse_settings(data: object) -> SourceSettings:
    """The settings, or SourceError naming each field at fault."""
    try:
        return SourceSettings.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in error.errors())
        raise SourceError(f"The source's settings are not valid: {problems}.") from None


def _check_admin(actor: Actor, doing: str) -> None:
    if actor.role is not Role.ADMIN:
        raise SourceError(f"{actor.name} may not {doing} alert sources: only admins do.")


def _active_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None or not user.is_active:
        raise SourceError(f"There is no active user {username!r}: a source's events act as an existing user.")
    return user


def _check_header(signature_header: str) -> None:
    if not HEADER_PATTERN.match(signature_header):
        raise SourceError("The signature header is a header name such as X-Signature.")


def add_source(session: Session, *, name: str, username: str, settings: object, actor: Actor, now: dt.datetime,
               signature_header: str = "X-Signature") -> NewSource:
    """Add a source (admins only); the result carries its new signing secret."""
    _check_admin(actor, "add")
    name = name.strip().lower()
    if not NAME_PATTERN.match(name):
        raise SourceError("Name the source with 2 to 64 lower-case letters, digits, dashes or underscores "
                          "(e.g. zendesk); it is part of its webhook address.")
    if session.scalar(select(AlertSource.id).where(AlertSource.name == name)) is not None:
        raise SourceError(f"There is already a source named {name!r}: choose another name.")
    _check_header(signature_header)
    user = _active_user(session, username)
    checked = parse_settings(settings)
    secret = secrets.token_urlsafe(32)
    row = AlertSource(name=name, secret=secret, signature_header=signature_header,
                      settings=checked.model_dump(mode="json", exclude_none=True), user_id=user.id, is_enabled=True,
                      created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="alert_source", entity_id=row.id,
                 action="create", changes={"name": [None, name], "user": [None, user.username]}, at=now)
    return NewSource(row.id, secret)


def _row(session: Session, name: str) -> AlertSource:
    row = session.scalar(select(AlertSource).where(AlertSource.name == name.strip().lower()))
    if row is None:
        raise SourceError(f"There is no alert source {name.strip()!r}: `python -m core sources list` shows them.")
    return row


def change_source(session: Session, *, name: str, actor: Actor, now: dt.datetime, settings: object | None = None,
                  username: str | None = None, signature_header: str | None = None,
                  enabled: bool | None = None) -> SourceRow:
    """Change what is given of a source's settings, user, signature header and enabled state (admins only).

    A disabled source's webhook answers 404 until it is enabled again; its secret stays the same.
    Every change is audited with its old and new value (never the secret)."""
    _check_admin(actor, "change")
    row = _row(session, name)
    changes: dict[str, list[object]] = {}
    if settings is not None:
        checked = parse_settings(settings).model_dump(mode="json", exclude_none=True)
        if checked != row.settings:
            changes["settings"] = [row.settings, checked]
            row.settings = checked
    if username is not None:
        user = _active_user(session, username)
        if user.id != row.user_id:
            old = session.get(User, row.user_id)
            changes["user"] = [old.username if old else None, user.username]
            row.user_id = user.id
    if signature_header is not None:
        _check_header(signature_header)
        if signature_header != row.signature_header:
            changes["signature_header"] = [row.signature_header, signature_header]
            row.signature_header = signature_header
    if enabled is not None and enabled != row.is_enabled:
        changes["is_enabled"] = [row.is_enabled, enabled]
        row.is_enabled = enabled
    if changes:
        row.updated_at = now
        session.flush()
        audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="alert_source",
                     entity_id=row.id, action="update", changes=changes, at=now)
    return next(r for r in list_sources(session) if r.id == row.id)


def rotate_secret(session: Session, *, name: str, actor: Actor, now: dt.datetime) -> NewSource:
    """Give a source a new signing secret (admins only): the old one stops working at once.

    The result carries the new secret, to give to the sender; the audit says when, never the secret."""
    _check_admin(actor, "change")
    row = _row(session, name)
    row.secret = secrets.token_urlsafe(32)
    row.updated_at = now
    session.flush()
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="alert_source", entity_id=row.id,
                 action="rotate_secret", changes={"secret": ["(previous)", "(new)"]}, at=now)
    return NewSource(row.id, row.secret)


def source_named(session: Session, name: str) -> Source | None:
    """The enabled source with this name, with the actor its events act as; None when there is none."""
    row = session.scalar(select(AlertSource).where(AlertSource.name == name.strip().lower(),
                                                   AlertSource.is_enabled.is_(True)))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    role = Role(user.role) if user.role in {r.value for r in Role} else None
    return Source(row.id, row.name, row.secret, row.signature_header, SourceSettings.model_validate(row.settings),
                  Actor(id=user.id, name=f"alert source '{row.name}' ({user.username})", role=role))


def check_signature(source: Source, body: bytes, presented: str | None) -> None:
    """SignatureRefused unless `presented` is the HMAC-SHA256 of `body` under the source's secret."""
    if not presented:
        raise SignatureRefused(f"Sign the body: HMAC-SHA256 with the source's secret, in the {source.signature_header} "
                               "header (hex, sha256=<hex> or base64).")
    mac = hmac.new(source.secret.encode(), body, hashlib.sha256).digest()
    value = presented.strip().removeprefix("sha256=")
    candidates = (mac.hex(), base64.b64encode(mac).decode())
    if not any(hmac.compare_digest(value.encode(), c.encode()) for c in candidates):
        raise SignatureRefused(f"The {source.signature_header} signature does not match this body: sign the exact "
                               "bytes sent with the source's current secret.")


def _at(payload: Any, path: str | None) -> Any:
    if path is None:
        return None
    value = payload
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _text(payload: Any, path: str | None) -> str | None:
    value = _at(payload, path)
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).strip() if not isinstance(value, bool) else str(value).lower()


def event_from(source: Source, payload: Any) -> AlertEvent:
    """The alert one payload of the source stands for; AlertError naming the field (its JSON path) at fault."""
    mapping = source.settings.mapping
    dedup_key = _text(payload, mapping.dedup_key)
    if not dedup_key:
        raise AlertError(f"The payload has no value at {mapping.dedup_key} (this source's dedup key).",
                         field=mapping.dedup_key)
    action_value = _text(payload, mapping.action)
    action = mapping.action_values.get(action_value or "", "trigger")
    severity_value = _text(payload, mapping.severity)
    severity = mapping.severity_values.get(severity_value or "", None)
    if severity is None and severity_value in ("critical", "error", "warning", "info"):
        severity = severity_value  # type: ignore[assignment]
    answers = _at(payload, mapping.answers)
    parsed: Answers | None = None
    if answers is not None:
        try:
            parsed = Answers.model_validate(answers)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in [*first["loc"], *(first.get("ctx") or {}).get("at", [])])
            raise AlertError(f"The answers at {mapping.answers} are not valid: {where}: {first['msg']}.",
                             field=f"{mapping.answers}.{where}" if where else mapping.answers) from None
    account_id = _text(payload, mapping.account_id)
    routing_key = _text(payload, mapping.routing_key)
    if not account_id and not routing_key:
        routing_key = source.settings.routing_key
    if account_id and not (account_id.isdigit() and 1 <= int(account_id) <= ROW_NUMBER_MAX):
        raise AlertError(f"The account number at {mapping.account_id} is not a whole number from 1 to "
                         f"{ROW_NUMBER_MAX}.", field=mapping.account_id)
    hints: dict[str, Mapping[str, Any]] = {**SEVERITY_HINTS, **{
        str(hint): given.model_dump(exclude_unset=True) for hint, given in source.settings.hint_answers.items()}}
    title = " ".join((_text(payload, mapping.title) or "").split())[:200]
    return AlertEvent(event_action=action, dedup_key=f"{source.name}:{dedup_key}"[:255],
                      account_id=int(account_id) if account_id else None,
                      routing_key=None if account_id else routing_key,
                      title=title, summary=_text(payload, mapping.summary) or "",
                      source=source.name, severity=severity, answers=parsed, policy_name=source.settings.policy,
                      hints=hints)


def record_event(session: Session, source: Source, *, outcome: int, incident_id: int | None, now: dt.datetime) -> None:
    """Audit one event the source sent, with its answer's status."""
    audit.record(session, actor_id=source.actor.id, actor_name=source.actor.name, entity_type="alert_source",
                 entity_id=source.id, action="event", changes={"status": [None, outcome],
                                                               "incident": [None, incident_id]}, at=now)


@dataclass(frozen=True)
class SourceRow:
    """A source as lists show it (never its secret)."""

    id: int
    name: str
    username: str
    signature_header: str
    is_enabled: bool
    policy: str | None
    settings: dict[str, Any] = field(default_factory=dict)


def list_sources(session: Session) -> list[SourceRow]:
    """Every source, by name, with its settings (to edit them)."""
    stmt = (select(AlertSource, User.username).join(User, User.id == AlertSource.user_id)
            .order_by(AlertSource.name))
    return [SourceRow(row.id, row.name, username, row.signature_header, row.is_enabled,
                      row.settings.get("policy"), dict(row.settings)) for row, username in session.execute(stmt)]
