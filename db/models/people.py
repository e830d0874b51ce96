"""People who sign in and the sign-in protection records: users, throttles, delays, revoked sessions.

Roles are plain strings here; their meaning lives in `core.people`. Must never
contain business rules or queries.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Float,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utc_now, versioned


class User(Base):
    """A person who signs in: a CSM, a lead or an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(100))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # False until the person (or an administrator) sets a zone: until then their browser's
    # zone is shown (core.people.time_display), without writing it here.
    time_zone_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    # "mine" or "utc" (core.people.time_display.ShowTimesIn).
    show_times_in: Mapped[str] = mapped_column(String(8), default="mine")
    # For pages by SMS (through the team's SMS gateway): an international number, "" for none.
    phone: Mapped[str] = mapped_column(String(40), default="")
    # Quiet hours as local "HH:MM" in the person's zone ("" for none): pages below the policy's
    # always-page severities wait until they end (core.oncall.reach).
    quiet_from: Mapped[str] = mapped_column(String(5), default="")
    quiet_to: Mapped[str] = mapped_column(String(5), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    password_changed_at: Mapped[dt.datetime | None]
    # Sign-in cookies issued before this moment are refused (password change,
    # reset, disable): the cookie itself cannot be recalled from a browser.
    sessions_valid_after: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)


class LoginThrottle(Base):
    """Failed sign-ins for one username from one client (an address, or a trusted browser)."""

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_last_failure_at", "last_failure_at"),)

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    # An IP address, "local", or "device:<digest>" for a browser holding a device cookie.
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime | None]
    locked_until: Mapped[dt.datetime | None]
    last_failure_at: Mapped[dt.datetime]


class LoginDelay(Base):
    """Consecutive failed sign-ins for one username from anywhere: when the next try may come."""

    __tablename__ = "login_delays"
    __table_args__ = (Index("ix_login_delays_last_failure_at", "last_failure_at"),)

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_after: Mapped[dt.datetime]
    last_failure_at: Mapped[dt.datetime]


class RevokedSession(Base):
    """A sign-in cookie ended by "Sign out" before it expired."""

    __tablename__ = "revoked_sessions"
    __table_args__ = (Index("ix_revoked_sessions_username_exp", "username", "token_expires"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    token_expires: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
