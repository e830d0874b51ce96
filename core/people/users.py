"""User accounts: sign-in with throttling, passwords, roles, enabling and disabling.

The app's Admin page, the Profile page and the `python -m core users`
command all call these functions, so the rules are the same everywhere.
Every function takes the Session of the caller's unit of work and `now`;
none commits. Sign-in throttling is per (username, client): the client is
the address the caller passes in, or the browser itself when it presents a
device token this module signed, so nobody can lock a colleague out of the
browser they use. This module must never import streamlit, and never return
or log a password except a freshly generated one-time password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import available_timezones

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.orm import Session

from core import audit
from core.limits import EMAIL, NAME, check_text
from core.people.access import Role, parse_role
from core.people.passwords import (
    burn_verification_time,
    check_password_rules,
    generate_one_time_password,
    hash_password,
    verify_password,
)
from db.models import LoginDelay, LoginThrottle, RevokedSession, User
from db.rows import get_for_update, get_or_create_for_update

# Per (username, client): this many failures within the window lock that pair.
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
LOCK_DURATION = dt.timedelta(minutes=15)
# Per username from anywhere: each failure makes the next try wait twice as long, up to the cap;
# a quiet spell as long as the failure window starts the doubling again.
FIRST_DELAY = dt.timedelta(seconds=1)
MAX_DELAY = dt.timedelta(seconds=30)
# Throttle rows older than this count for nothing and are deleted by the next sign-in attempt.
THROTTLE_MEMORY = dt.timedelta(hours=24)
# A device token proves a successful sign-in of that user from that browser within this time.
DEVICE_TRUST = dt.timedelta(days=30)
DEVICE_CLOCK_SKEW = dt.timedelta(minutes=5)
LOCAL_CLIENT = "local"
DEVICE_CLIENT_PREFIX = "device:"
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """A user change that cannot be made; the message says what to fix."""


class SignInOutcome(StrEnum):
    """How a sign-in attempt ended."""

    OK = "ok"
    INVALID = "invalid"
    WAIT = "wait"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SignInResult:
    """The outcome of one sign-in attempt, with what the person should be told."""

    outcome: SignInOutcome
    message: str
    locked_until: dt.datetime | None = None
    user_id: int | None = None
    # When this username may be tried again (after a failure, or when refused for waiting).
    retry_after: dt.datetime | None = None
    # On success with a device key: a fresh token for the browser to keep (30 days).
    device_token: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who is making a change (a signed-in user, or the command line)."""

    id: int | None
    name: str
    # The team role the change is made with (core.people.access). Without one, the incident
    # flows let the person change only what they own.
    role: Role | None = None


# The application itself (the command line, scheduled follow-ups): it works on every account.
SYSTEM = Actor(id=None, name="system", role=Role.ADMIN)


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared lower-case, trimmed."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalised username, or UserError saying what a valid one looks like."""
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        raise UserError(
            f"Username {username!r} is not allowed: use 3 to 64 characters, lower-case letters, "
            "digits, dots, dashes or underscores, starting with a letter or digit."
        )
    return name


def check_email(email: str) -> str:
    """The trimmed email (may be empty), or UserError when it is not an address."""
    email = check_text(email, EMAIL, "The email address", UserError)
    if email and not EMAIL_PATTERN.match(email):
        raise UserError(f"Email {email!r} is not an address like name@example.com.")
    return email


def check_time_zone(name: str) -> str:
    """The IANA time zone name, or UserError with an example of a valid one."""
    if name not in available_timezones() and name != "UTC":
        raise UserError(f"Time zone {name!r} is unknown: use an IANA name such as Europe/Paris.")
    return name


def get_by_username(session: Session, username: str) -> User | None:
    """The user with this username (any case), or None."""
    return session.scalar(select(User).where(User.username == normalise_username(username)))


def get_by_id(session: Session, user_id: int) -> User | None:
    """The user with this id, or None."""
    return session.get(User, user_id)


def list_users(session: Session, *, include_disabled: bool = True) -> list[User]:
    """All users, ordered by username."""
    stmt = select(User).order_by(User.username)
    if not include_disabled:
        stmt = stmt.where(User.is_active.is_(True))
    return list(session.scalars(stmt))


def has_users(session: Session) -> bool:
    """True once at least one account exists (active or not)."""
    return session.scalar(select(User.id).limit(1)) is not None


def count_admins(session: Session) -> int:
    """How many active admins there are."""
    stmt = select(func.count()).where(User.role == Role.ADMIN.value, User.is_active.is_(True))
    return session.scalar(stmt) or 0


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    email: str = "",
    time_zone: str = "UTC",
    password: str | None = None,
    actor: Actor,
    now: dt.datetime,
) -> tuple[User, str | None]:
    """Create a user; without `password` a one-time password is generated and returned."""
    name = check_username(username)
    if get_by_username(session, name) is not None:
        raise UserError(f"Username {name!r} is taken: choose another one.")
    display_name = check_text(display_name, NAME, "The name", UserError)
    if not display_name.strip():
        raise UserError("Enter the person's name as colleagues know it.")
    one_time = None
    if password is None:
        one_time = password = generate_one_time_password()
    check_password_rules(password)
    user = User(
        username=name,
        display_name=display_name.strip(),
        email=check_email(email),
        role=parse_role(role).value,
        password_hash=hash_password(password),
        must_change_password=one_time is not None,
        is_active=True,
        time_zone=check_time_zone(time_zone),
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.name,
        entity_type="user",
        entity_id=user.id,
        action="create",
        changes={"username": [None, name], "role": [None, user.role]},
        at=now,
    )
    return user, one_time


def login_delay(failures: int) -> dt.timedelta:
    """How long a username must wait after `failures` consecutive failures: 1 s, 2 s, 4 s, ... up to 30 s."""
    if failures <= 0:
        return dt.timedelta(0)
    return min(MAX_DELAY, FIRST_DELAY * 2 ** min(failures - 1, 16))


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(remote: str | None, forwarded: str | None = None) -> str:
    """The client to count failures against: the right-most entry of a trusted proxy header, else `remote`.

    Only the right-most entry is taken, because that is the one the proxy
    itself added; anything left of it was sent by the browser and can be
    forged. A missing or malformed entry falls back to the connection's
    address, and no address at all (a local connection) is "local".
    """
    if forwarded:
        address = _ip(forwarded.split(",")[-1])
        if address:
            return address
    return _ip(remote or "") or LOCAL_CLIENT


def _device_signature(payload: str, key: str) -> str:
    # A key of its own, derived from the cookie key, so a device token can
    # never be mistaken for (or turned into) a session cookie.
    secret = hashlib.sha256(b"escalation-desk device token\x00" + key.encode()).digest()
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def issue_device_token(username: str, *, key: str, now: dt.datetime) -> str:
    """A signed token saying `username` signed in successfully at `now` (for a browser cookie)."""
    payload = f"{normalise_username(username)}.{int(now.timestamp())}"
    return f"{payload}.{_device_signature(payload, key)}"


def device_client(token: str | None, *, username: str, key: str, now: dt.datetime) -> str | None:
    """The client id of a browser whose token is valid for `username` and under 30 days old, else None."""
    if not token or not key or len(token) > 200:
        return None
    payload, _, signature = token.rpartition(".")
    name, _, issued = payload.rpartition(".")
    if name != normalise_username(username) or not issued.isdigit() or len(issued) > 12:
        return None
    if not hmac.compare_digest(signature, _device_signature(payload, key)):
        return None
    issued_at = dt.datetime.fromtimestamp(int(issued), dt.UTC)
    if not now - DEVICE_TRUST < issued_at <= now + DEVICE_CLOCK_SKEW:
        return None
    return DEVICE_CLIENT_PREFIX + hashlib.sha256(token.encode()).hexdigest()[:24]


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    now: dt.datetime,
    client: str,
    device_token: str | None = None,
    device_key: str = "",
) -> SignInResult:
    """Check a sign-in attempt from `client`, throttled per (username, client) and per username.

    A browser presenting a valid `device_token` for this username is its own
    client: other clients' failures neither lock it nor make it wait. Its own
    failures lock it like any client, and count towards the username's delay.
    """
    name = normalise_username(username)
    if not name or not password:
        return SignInResult(SignInOutcome.INVALID, "Enter your username and password.")
    if not USERNAME_PATTERN.match(name):
        # No account can have this name (the rule is public): nothing to guess, nothing to store.
        return SignInResult(SignInOutcome.INVALID, "Username or password is incorrect.")
    device = device_client(device_token, username=name, key=device_key, now=now)
    who = (device or client)[:64]
    # Always the username's row first, then the pair's: every writer locks in this order.
    delay = get_or_create_for_update(session, LoginDelay, name, failures=0, retry_after=now, last_failure_at=now)
    throttle = get_or_create_for_update(session, LoginThrottle, (name, who), failures=0, last_failure_at=now)
    result = _attempt(session, name, password, delay, throttle, device is not None, device_key, now)
    # Rows that remember nothing are not kept, so a refused or successful try leaves no trace.
    if delay.failures == 0:
        session.delete(delay)
    if throttle.failures == 0 and not (throttle.locked_until and throttle.locked_until > now):
        session.delete(throttle)
    _forget_old_failures(session, now)
    return result


def _attempt(
    session: Session,
    name: str,
    password: str,
    delay: LoginDelay,
    throttle: LoginThrottle,
    trusted: bool,
    device_key: str,
    now: dt.datetime,
) -> SignInResult:
    if throttle.locked_until is not None and throttle.locked_until > now:
        return _locked(throttle.locked_until, now, trusted)
    if now - delay.last_failure_at >= FAILURE_WINDOW:
        delay.failures = 0
    if not trusted and delay.failures and delay.retry_after > now:
        return _wait(delay.retry_after, now)
    user = get_by_username(session, name)
    if user is None:
        burn_verification_time(password)
        matches = False
    else:
        matches = verify_password(password, user.password_hash)
    if matches and user is not None:
        delay.failures = 0
        throttle.failures, throttle.window_started_at, throttle.locked_until = 0, None, None
        if not user.is_active:
            return SignInResult(
                SignInOutcome.DISABLED,
                "This account is disabled. Ask an administrator to re-enable it.",
            )
        token = issue_device_token(name, key=device_key, now=now) if device_key else None
        return SignInResult(SignInOutcome.OK, "Signed in.", user_id=user.id, device_token=token)
    delay.failures += 1
    delay.last_failure_at = now
    delay.retry_after = now + login_delay(delay.failures)
    if throttle.window_started_at is None or now - throttle.window_started_at >= FAILURE_WINDOW:
        throttle.window_started_at, throttle.failures = now, 0
    throttle.failures += 1
    throttle.last_failure_at = now
    if throttle.failures >= MAX_FAILURES:
        throttle.locked_until = now + LOCK_DURATION
        throttle.failures, throttle.window_started_at = 0, None
        audit.record(
            session,
            actor_id=None,
            actor_name=name,
            entity_type="sign_in",
            entity_id=name,
            action="locked",
            changes={"locked_until": [None, throttle.locked_until], "client": [None, throttle.client]},
            at=now,
        )
        return _locked(throttle.locked_until, now, trusted)
    left = MAX_FAILURES - throttle.failures
    wait = _seconds(delay.retry_after, now)
    return SignInResult(
        SignInOutcome.INVALID,
        f"Username or password is incorrect. Wait {wait} s before the next try. "
        f"{left} more failed attempt{'s' if left != 1 else ''} from {_where(trusted)} within "
        f"{_minutes(FAILURE_WINDOW)} minutes {'lock' if left != 1 else 'locks'} this username here "
        f"for {_minutes(LOCK_DURATION)} minutes.",
        retry_after=delay.retry_after,
    )


def _forget_old_failures(session: Session, now: dt.datetime) -> None:
    # SKIP LOCKED: a row another attempt holds is left for a later pass, so this
    # clean-up never waits and never deadlocks with a concurrent sign-in.
    cutoff = now - THROTTLE_MEMORY
    stale_delays = select(LoginDelay.username).where(LoginDelay.last_failure_at < cutoff)
    session.execute(
        delete(LoginDelay)
        .where(LoginDelay.username.in_(stale_delays.with_for_update(skip_locked=True)))
        .execution_options(synchronize_session=False)
    )
    stale_pairs = select(LoginThrottle.username, LoginThrottle.client).where(LoginThrottle.last_failure_at < cutoff)
    session.execute(
        delete(LoginThrottle)
        .where(tuple_(LoginThrottle.username, LoginThrottle.client).in_(stale_pairs.with_for_update(skip_locked=True)))
        .execution_options(synchronize_session=False)
    )


def _seconds(until: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def _minutes(span: dt.timedelta) -> int:
    return int(span.total_seconds() // 60)


def _where(trusted: bool) -> str:
    return "this browser" if trusted else "this address"


def _wait(until: dt.datetime, now: dt.datetime) -> SignInResult:
    seconds = _seconds(until, now)
    return SignInResult(
        SignInOutcome.WAIT,
        f"Too many failed sign-ins for this username just now: wait {seconds} s before trying again.",
        retry_after=until,
    )


def _locked(until: dt.datetime, now: dt.datetime, trusted: bool) -> SignInResult:
    minutes = max(1, int((until - now).total_seconds() + 59) // 60)
    elsewhere = "" if trusted else (
        f" A browser where you signed in during the last {DEVICE_TRUST.days} days is not affected.")
    return SignInResult(
        SignInOutcome.LOCKED,
        f"Too many failed sign-ins from {_where(trusted)}: this username is locked here until "
        f"{until:%H:%M} UTC (about {minutes} minute{'s' if minutes != 1 else ''}). Try again then, "
        f"or ask an administrator to reset your password.{elsewhere}",
        locked_until=until,
    )


def _locked_user(session: Session, username: str) -> User:
    user = get_by_username(session, username)
    if user is None:
        raise UserError(f"No user is called {normalise_username(username)!r}.")
    locked = get_for_update(session, User, user.id)
    assert locked is not None
    return locked


def change_own_password(
    session: Session, *, user_id: int, current: str, new: str, now: dt.datetime
) -> None:
    """A user replaces their password, proving they know the current one."""
    user = get_for_update(session, User, user_id)
    if user is None or not user.is_active:
        raise UserError("Your account is no longer active.")
    if not verify_password(current, user.password_hash):
        raise UserError("The current password is not right. Type it again.")
    if new == current:
        raise UserError("The new password must differ from the current one.")
    check_password_rules(new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = now
    user.sessions_valid_after = now
    audit.record(
        session,
        actor_id=user.id,
        actor_name=user.username,
        entity_type="user",
        entity_id=user.id,
        action="change_password",
        at=now,
    )


def reset_password(session: Session, *, username: str, actor: Actor, now: dt.datetime) -> str:
    """Give a user a new one-time password (returned once), ending their sessions and any lock."""
    user = _locked_user(session, username)
    one_time = generate_one_time_password()
    user.password_hash = hash_password(one_time)
    user.must_change_password = True
    user.password_changed_at = now
    user.sessions_valid_after = now
    # The username's row first, then the pairs: the order `authenticate` locks them in.
    delay = get_for_update(session, LoginDelay, user.username)
    if delay is not None:
        session.delete(delay)
    session.execute(delete(LoginThrottle).where(LoginThrottle.username == user.username))
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.name,
        entity_type="user",
        entity_id=user.id,
        action="reset_password",
        at=now,
    )
    return one_time


def set_active(session: Session, *, username: str, active: bool, actor: Actor, now: dt.datetime) -> User:
    """Disable (signing the user out everywhere) or re-enable a user."""
    user = _locked_user(session, username)
    if user.is_active == active:
        return user
    if not active and user.role == Role.ADMIN.value and count_admins(session) <= 1:
        raise UserError("This is the last active administrator: make someone else admin first.")
    if not active and actor.id == user.id:
        raise UserError("You cannot disable your own account.")
    user.is_active = active
    if not active:
        user.sessions_valid_after = now
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.name,
        entity_type="user",
        entity_id=user.id,
        action="enable" if active else "disable",
        changes={"is_active": [not active, active]},
        at=now,
    )
    return user


def set_role(session: Session, *, username: str, role: str, actor: Actor, now: dt.datetime) -> User:
    """Change a user's role; the last active admin cannot be demoted."""
    user = _locked_user(session, username)
    new_role = parse_role(role).value
    if new_role == user.role:
        return user
    if user.role == Role.ADMIN.value and user.is_active and count_admins(session) <= 1:
        raise UserError("This is the last active administrator: make someone else admin first.")
    before = user.role
    user.role = new_role
    audit.record(
        session,
        actor_id=actor.id,
        actor_name=actor.name,
        entity_type="user",
        entity_id=user.id,
        action="set_role",
        changes={"role": [before, new_role]},
        at=now,
    )
    return user


def update_profile(
    session: Session, *, user_id: int, display_name: str, email: str, time_zone: str, now: dt.datetime
) -> User:
    """A user edits their own name, email and time zone."""
    user = get_for_update(session, User, user_id)
    if user is None:
        raise UserError("Your account no longer exists.")
    display_name = check_text(display_name, NAME, "The name", UserError)
    if not display_name.strip():
        raise UserError("Enter your name as colleagues know it.")
    before = {"display_name": user.display_name, "email": user.email, "time_zone": user.time_zone}
    user.display_name = display_name.strip()
    user.email = check_email(email)
    user.time_zone = check_time_zone(time_zone)
    after = {"display_name": user.display_name, "email": user.email, "time_zone": user.time_zone}
    changes = audit.field_changes(before, after)
    if changes:
        audit.record(
            session,
            actor_id=user.id,
            actor_name=user.username,
            entity_type="user",
            entity_id=user.id,
            action="update_profile",
            changes=changes,
            at=now,
        )
    return user


def revoke_session(session: Session, *, username: str, token_expires: float, now: dt.datetime) -> None:
    """End one sign-in cookie (Sign out) so a copy of it no longer works."""
    session.add(
        RevokedSession(username=normalise_username(username), token_expires=token_expires, revoked_at=now)
    )


def session_problem(
    session: Session, *, username: str, token_expires: float | None, issued_at: dt.datetime | None
) -> str | None:
    """Why a signed-in session must end now (disabled, password changed, signed out), or None."""
    user = get_by_username(session, username)
    if user is None:
        return "Your account no longer exists."
    if not user.is_active:
        return "Your account has been disabled. Ask an administrator if this is a mistake."
    if issued_at is not None and user.sessions_valid_after is not None:
        if issued_at < user.sessions_valid_after:
            return "Your password was changed or reset since you signed in: sign in again."
    if token_expires is not None:
        revoked = session.scalar(
            select(RevokedSession.id).where(
                RevokedSession.username == user.username,
                RevokedSession.token_expires == token_expires,
            )
        )
        if revoked is not None:
            return "This session was signed out: sign in again."
    return None
