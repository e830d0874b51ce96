"""On-call: schedules per escalation level, their rotation layers, overrides and swaps; people
outside the app who can be paged; each person's notification rules; pages (one level's paging
of one incident, escalating through the schedule's layers); incident followers.

Who is "u:<user id>" (a person who signs in) or "c:<external contact id>" (someone paged from
outside the app), so one layer may mix both. Must never contain business rules or queries: who is
on call at a moment is `core.oncall`'s, how a page escalates `core.alerts.paging`'s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utc_now, versioned


class OnCallSchedule(Base):
    """Who answers for one escalation level (or one team), and how a page climbs when nobody answers.

    A page goes to layer 1's person on call (the primary), after `ack_timeout_minutes` without an
    acknowledgement to layer 2's (the secondary) and so on, then to `manager`; the whole chain runs
    `repeats` more times before the page is given up. An acknowledgement holds for
    `ack_expires_minutes`: when it runs out and the incident has not moved, the page starts again.
    """

    __tablename__ = "oncall_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # L1..L4: the escalation level whose pages this schedule answers; None for a team schedule.
    level: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    # The zone handoffs are written in unless a layer says otherwise.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # "u:<id>" or "c:<id>": paged after every layer; "" for none.
    manager: Mapped[str] = mapped_column(String(32), default="")
    ack_timeout_minutes: Mapped[int] = mapped_column(Integer, default=5)
    repeats: Mapped[int] = mapped_column(Integer, default=2)
    ack_expires_minutes: Mapped[int] = mapped_column(Integer, default=30)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)


class OnCallLayer(Base):
    """One rotation of a schedule: position 1 is the primary, 2 the secondary...

    `rotation`: daily | weekly (a handoff at the same local time every day or week, whatever the
    clocks do), hours (a shift of `shift_hours` real hours), follow_the_sun (each member takes over
    at `from` in their own zone and hands over to the next one's start). `start_local` is the first
    handoff as a wall-clock time ("2026-01-05T09:00") in `time_zone`. `members`: the order of the
    rotation, [{"who": "u:3"}, ...]; follow_the_sun members add "zone" and "from" ("08:00").
    """

    __tablename__ = "oncall_layers"
    __table_args__ = (Index("uq_oncall_layers_schedule_position", "schedule_id", "position", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(80))
    rotation: Mapped[str] = mapped_column(String(16))
    shift_hours: Mapped[int] = mapped_column(Integer, default=24)
    start_local: Mapped[str] = mapped_column(String(19))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    members: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)


class OnCallOverride(Base):
    """Someone covers one layer of a schedule from `starts_at` to `ends_at`; the newest override wins."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (Index("ix_oncall_overrides_schedule_ends", "schedule_id", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=1)
    who: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    # Who would have been on call (as shown when it was made), for the record.
    replaces: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    cancelled_at: Mapped[dt.datetime | None]


class OnCallSwap(Base):
    """A request to cover someone's shift, asked in the app; accepting it makes an override."""

    __tablename__ = "oncall_swaps"
    __table_args__ = (Index("ix_oncall_swaps_asked_state", "asked_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=1)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    asked_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    message: Mapped[str] = mapped_column(Text, default="")
    # asked | accepted | declined | cancelled
    state: Mapped[str] = mapped_column(String(16), default="asked")
    override_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_overrides.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    decided_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)


class ExternalContact(Base):
    """Someone paged who does not sign in (an executive, a partner): by email, SMS gateway or a webhook."""

    __tablename__ = "external_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    organisation: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    # A webhook endpoint (notification_endpoints, kind webhook) that reaches them; None for none.
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("notification_endpoints.id", ondelete="SET NULL"))
    notes: Mapped[str] = mapped_column(Text, default="")
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)


class NotificationRule(Base):
    """One step of how a person is reached when paged: a channel, `delay_minutes` after the page."""

    __tablename__ = "notification_rules"
    __table_args__ = (Index("ix_notification_rules_user", "user_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    # inbox | email | sms
    channel: Mapped[str] = mapped_column(String(16))
    delay_minutes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class Page(Base):
    """One escalation level's paging of one incident, climbing the level's schedule until acknowledged.

    `state`: open (climbing: `step` is where it is, `round` how many times the chain has gone
    round, `next_at` when it climbs again), acknowledged (until `ack_expires_at`), resolved (the
    incident was resolved or the page closed), exhausted (every step and repeat paged, nobody
    answered). One live page (open or acknowledged) per incident and level.
    """

    __tablename__ = "pages"
    __table_args__ = (
        Index("ix_pages_live_next", "next_at", sqlite_where=text("state IN ('open', 'acknowledged')"),
              postgresql_where=text("state IN ('open', 'acknowledged')")),
        Index("uq_pages_live_incident_level", "incident_id", "level", unique=True,
              sqlite_where=text("state IN ('open', 'acknowledged')"),
              postgresql_where=text("state IN ('open', 'acknowledged')")),
        Index("ix_pages_incident", "incident_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="SET NULL"))
    level: Mapped[str] = mapped_column(String(16))
    # The alert that opened it (core.incident.alerting.Alert.key).
    alert_key: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    step: Mapped[int] = mapped_column(Integer, default=0)
    round: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[dt.datetime | None]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str] = mapped_column(String(160), default="")
    acknowledged_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The incident's version when acknowledged: a later version is the incident moving.
    ack_version: Mapped[int | None] = mapped_column(Integer)
    ack_expires_at: Mapped[dt.datetime | None]
    closed_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = versioned(version)


class IncidentFollower(Base):
    """Someone who follows an incident: its level, severity and status changes reach them."""

    __tablename__ = "incident_followers"
    __table_args__ = (Index("ix_incident_followers_user", "user_id"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
