"""Sign-in protection: throttling and lockout per (username, client), a growing delay per username, device tokens.

Sign-in throttling is per (username, client): the client is the address the
caller passes in, or the browser itself when it presents a device token this
module signed, so nobody can lock a colleague out of the browser they use.
Each failure for a username also makes the next try anywhere wait twice as
long, up to a cap. Every function takes the Session of the caller's unit of
work and `now`; none commits. This module must never import streamlit, and
never return or log a password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from core import audit
from core.people.passwords import burn_verification_time, verify_password
from core.people.users import USERNAME_PATTERN, get_by_username, normalise_username
from db.models import LoginDelay, LoginThrottle
from db.rows import get_or_create_for_update

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


def login_delay(failures: int) -> dt.timedelta:
    """How long a username must wait after `failures` consecutive failures: 1 s, 2 s, 4 s, ... up to 30 s."""
    if failures <= 0:
        return dt.timedelta(0)
    return min(MAX_DELAY, FIRST_DELAY * (1 << min(failures - 1, 16)))


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
