"""User accounts: creating them, passwords, roles, profiles, enabling and disabling, and session checks.

The app's Admin page, the Profile page and the `python -m core users`
command all call these functions, so the rules are the same everywhere.
Every function takes the Session of the caller's unit of work and `now`;
none commits. Sign-in itself, with its throttling and lockout, is
core.people.lockout. This module must never import streamlit, and never
return or log a password except a freshly generated one-time password.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core import audit
from core.limits import EMAIL, NAME, check_text
from core.people.access import Role, parse_role
from core.people.passwords import (
    check_password_rules,
    generate_one_time_password,
    hash_password,
    verify_password,
)
from core.people.time_display import ShowTimesIn
from core.zones import UTC_NAME, UnknownTimeZone, check_zone_name
from db.models import LoginDelay, LoginThrottle, RevokedSession, User
from db.rows import get_for_update

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """A user change that cannot be made; the message says what to fix."""

@dataclass(frozen=True)
class Actor:
    """Who is making a change (a signed-in user, or the command line)."""

    id: int | None
    name: str
    # The team role the change is made with (core.people.access): the only source every write
    # (incidents, reports, client messages) decides with. Without one, the person may change
    # only what they own.
    role: Role | None = None


# The application itself (the command line, scheduled follow-ups): it works on every account.
SYSTEM = Actor(id=None, name="system", role=Role.ADMIN)


def _audit(session: Session, user: User, actor: Actor, action: str, now: dt.datetime,
           changes: dict[str, Any] | None = None) -> None:
    """Audit one change of `user`'s account by `actor`."""
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="user", entity_id=user.id,
                 action=action, changes=changes, at=now)


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
    """The IANA time zone name, or UserError with the house message (core.zones) and an example of a valid one."""
    try:
        return check_zone_name(name)
    except UnknownTimeZone as exc:
        message = str(exc)
        raise UserError(f"{message[:1].upper()}{message[1:]}.") from None


def get_by_username(session: Session, username: str) -> User | None:
    """The user with this username (any case), or None."""
    return session.scalar(select(User).where(User.username == normalise_username(username)))


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
    time_zone: str | None = None,
    password: str | None = None,
    actor: Actor,
    now: dt.datetime,
) -> tuple[User, str | None]:
    """Create a user; without `password` a one-time password is generated and returned.

    Without `time_zone` the person's browser zone is shown until they set one on their profile.
    """
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
        time_zone=check_time_zone(time_zone) if time_zone is not None else UTC_NAME,
        time_zone_chosen=time_zone is not None,
        show_times_in=ShowTimesIn.MINE.value,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    _audit(session, user, actor, "create", now, changes={"username": [None, name], "role": [None, user.role]})
    return user, one_time


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
    _audit(session, user, Actor(user.id, user.username), "change_password", now)


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
    _audit(session, user, actor, "reset_password", now)
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
    _audit(session, user, actor, "enable" if active else "disable", now, changes={"is_active": [not active, active]})
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
    _audit(session, user, actor, "set_role", now, changes={"role": [before, new_role]})
    return user


def check_show_times_in(value: str) -> ShowTimesIn:
    """The choice of times in one's own zone or UTC, or UserError naming the two."""
    try:
        return ShowTimesIn(value)
    except ValueError:
        raise UserError(f"Show times in {value!r}? Choose {ShowTimesIn.MINE.value!r} (my time zone) "
                        f"or {ShowTimesIn.UTC.value!r}.") from None


def update_profile(
    session: Session, *, user_id: int, display_name: str, email: str, time_zone: str | None,
    show_times_in: str = ShowTimesIn.MINE.value, now: dt.datetime,
) -> User:
    """A user edits their own name, email, time zone (None: follow the browser) and whether times show in UTC."""
    user = get_for_update(session, User, user_id)
    if user is None:
        raise UserError("Your account no longer exists.")
    display_name = check_text(display_name, NAME, "The name", UserError)
    if not display_name.strip():
        raise UserError("Enter your name as colleagues know it.")
    shows = check_show_times_in(show_times_in)
    fields = ("display_name", "email", "time_zone", "time_zone_chosen", "show_times_in")
    before = {name: getattr(user, name) for name in fields}
    user.display_name = display_name.strip()
    user.email = check_email(email)
    if time_zone is not None:
        user.time_zone = check_time_zone(time_zone)
    # Following the browser keeps the zone stored before: it is shown whenever the browser gives none.
    user.time_zone_chosen = time_zone is not None
    user.show_times_in = shows.value
    changes = audit.field_changes(before, {name: getattr(user, name) for name in fields})
    if changes:
        _audit(session, user, Actor(user.id, user.username), "update_profile", now, changes=changes)
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
    if issued_at is not None and user.sessions_valid_after is not None and issued_at < user.sessions_valid_after:
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
