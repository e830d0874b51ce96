"""API tokens: making one (shown once), checking one on every call, revoking, listing.

A token is `edk_` and 43 random URL-safe characters. Only its SHA-256 digest is stored, with its
first 12 characters to recognise it in lists; the plaintext is returned once by `create` and can
never be read back. A token acts as its user: it carries that user's role and ownership, so it
never does more than the person could in the app, and it stops working when the user is
disabled. Its scope narrows it further:

- `intake`: only `POST /api/v1/alerts` (for monitoring tools);
- `read`: only reads (GET);
- `write`: reads, alerts and the write endpoints.

Only admins make and revoke tokens. This module never logs or stores a token's plaintext, never
reads the clock (callers pass `now`) and never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.people.access import Role
from core.people.users import Actor, normalise_username
from db.models import ApiToken, User

TOKEN_START = "edk_"
PREFIX_LENGTH = 12
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}$")
MAX_EXPIRY_DAYS = 3650


class Scope(StrEnum):
    """What a token may call (see the module's description)."""

    INTAKE = "intake"
    READ = "read"
    WRITE = "write"


# What each scope allows: "alerts" (POST /api/v1/alerts), "read" (GET), "write" (the other POSTs).
SCOPE_ALLOWS: dict[Scope, frozenset[str]] = {
    Scope.INTAKE: frozenset({"alerts"}),
    Scope.READ: frozenset({"read"}),
    Scope.WRITE: frozenset({"alerts", "read", "write"}),
}


class TokenError(ValueError):
    """A token that cannot be made, changed or used; the message says what to fix."""


class TokenRefused(TokenError):
    """A call's token is not accepted; `reason` is one of unknown, expired, revoked, user_disabled."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class NewToken:
    """A token just made: its row id and the plaintext, which is never available again."""

    id: int
    token: str


@dataclass(frozen=True)
class TokenHolder:
    """Who a verified token acts as, and what it may do."""

    token_id: int
    token_name: str
    scope: Scope
    actor: Actor
    username: str

    def allows(self, kind: str) -> bool:
        """True when the scope allows calls of `kind` ("alerts", "read" or "write")."""
        return kind in SCOPE_ALLOWS[self.scope]


@dataclass(frozen=True)
class TokenRow:
    """A token as lists show it (never its secret)."""

    id: int
    name: str
    prefix: str
    scope: str
    username: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        """active, expired or revoked at `now`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def digest(token: str) -> str:
    """The hex SHA-256 of a token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_scope(value: str) -> Scope:
    """The Scope for `value`, or TokenError naming the scopes."""
    try:
        return Scope(value.strip().lower())
    except ValueError:
        raise TokenError(f"Unknown scope {value!r}: use intake (alerts only), read (reads only) or write "
                         "(reads, alerts and changes).") from None


def shell_actor() -> Actor:
    """The command line at the server's shell: whoever runs it administers the server."""
    return Actor(id=None, name="cli", role=Role.ADMIN)


def _check_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise TokenError(f"{actor.name} may not manage API tokens: only admins make and revoke them.")


def actor_name(token_name: str, username: str) -> str:
    """How a token's calls are named in the timeline and the audit log."""
    return f"api token '{token_name}' ({username})"


def create(session: Session, *, name: str, scope: str, username: str, actor: Actor, now: dt.datetime,
           expires_in_days: int | None = None) -> NewToken:
    """Make a token acting as `username`; the plaintext is in the result and nowhere else."""
    _check_admin(actor)
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise TokenError("Name the token with 1 to 80 letters, digits, spaces, dots, dashes or underscores, "
                         "starting with a letter or digit (e.g. 'grafana-prod').")
    chosen = parse_scope(scope)
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise TokenError(f"There is no user {username!r}: a token acts as an existing user "
                         "(see `python -m core users list`).")
    if not user.is_active:
        raise TokenError(f"User {user.username!r} is disabled: a token for them could not be used.")
    expires_at = None
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise TokenError(f"The expiry is a number of days from 1 to {MAX_EXPIRY_DAYS}; got {expires_in_days}.")
        expires_at = now + dt.timedelta(days=expires_in_days)
    token = TOKEN_START + secrets.token_urlsafe(32)
    row = ApiToken(name=name, prefix=token[:PREFIX_LENGTH], hash=digest(token), scope=chosen.value,
                   user_id=user.id, created_at=now, created_by_id=actor.id, expires_at=expires_at)
    session.add(row)
    session.flush()
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="api_token", entity_id=row.id,
                 action="create", changes={"name": [None, name], "scope": [None, chosen.value],
                                           "user": [None, user.username], "expires_at": [None, expires_at]}, at=now)
    return NewToken(row.id, token)


def verify(session: Session, token: str, *, now: dt.datetime) -> TokenHolder:
    """The holder of `token`, or TokenRefused saying why (unknown, expired, revoked, user disabled).

    The stored digest is compared in constant time; reading the row by its public prefix first means
    no query ever depends on the secret part.
    """
    token = token.strip()
    presented = digest(token)
    rows = session.scalars(select(ApiToken).where(ApiToken.prefix == token[:PREFIX_LENGTH])).all() \
        if token.startswith(TOKEN_START) else []
    row = next((r for r in rows if hmac.compare_digest(r.hash, presented)), None)
    if row is None:
        raise TokenRefused("unknown", "This API token is not known: check that it was copied whole, "
                                      "or ask an admin for a new one.")
    if row.revoked_at is not None:
        raise TokenRefused("revoked", f"API token '{row.name}' was revoked on "
                                      f"{row.revoked_at:%Y-%m-%d %H:%M} UTC: ask an admin for a new one.")
    if row.expires_at is not None and row.expires_at <= now:
        raise TokenRefused("expired", f"API token '{row.name}' expired on {row.expires_at:%Y-%m-%d %H:%M} UTC: "
                                      "ask an admin for a new one.")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise TokenRefused("user_disabled", f"API token '{row.name}' acts as a user who is disabled: "
                                            "ask an admin for a token of an active user.")
    role = Role(user.role) if user.role in {r.value for r in Role} else None
    return TokenHolder(token_id=row.id, token_name=row.name, scope=Scope(row.scope), username=user.username,
                       actor=Actor(id=user.id, name=actor_name(row.name, user.username), role=role))


def mark_used(session: Session, holder: TokenHolder, *, action: str, outcome: int, now: dt.datetime) -> None:
    """Stamp the token's last use and audit the call (`action` e.g. 'POST /api/v1/alerts', `outcome` its status)."""
    row = session.get(ApiToken, holder.token_id)
    if row is not None:
        row.last_used_at = now
    audit.record(session, actor_id=holder.actor.id, actor_name=holder.actor.name, entity_type="api_token",
                 entity_id=holder.token_id, action="call", changes={"request": [None, action],
                                                                    "status": [None, outcome]}, at=now)


def revoke(session: Session, *, token_id: int, actor: Actor, now: dt.datetime) -> TokenRow:
    """Revoke a token for good (revoking one already revoked is an error saying when it was)."""
    _check_admin(actor)
    row = session.get(ApiToken, token_id)
    if row is None:
        raise TokenError(f"There is no API token {token_id}: `python -m core tokens list` shows them.")
    if row.revoked_at is not None:
        raise TokenError(f"API token {token_id} ('{row.name}') was already revoked on "
                         f"{row.revoked_at:%Y-%m-%d %H:%M} UTC.")
    row.revoked_at = now
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="api_token", entity_id=row.id,
                 action="revoke", changes={"revoked_at": [None, now]}, at=now)
    session.flush()
    return _rows(session, ApiToken.id == token_id)[0]


def list_tokens(session: Session) -> list[TokenRow]:
    """Every token, newest first, with its user's name (never its secret)."""
    return _rows(session, None)


def _rows(session: Session, where: object) -> list[TokenRow]:
    stmt = (select(ApiToken.id, ApiToken.name, ApiToken.prefix, ApiToken.scope, User.username, ApiToken.created_at,
                   ApiToken.expires_at, ApiToken.last_used_at, ApiToken.revoked_at)
            .join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc()))
    if where is not None:
        stmt = stmt.where(where)  # type: ignore[arg-type]
    return [TokenRow(*row) for row in session.execute(stmt)]
